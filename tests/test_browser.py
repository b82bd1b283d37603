"""The Verify page in headless Chromium: upload, a bad file, the webcam, against the real app."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_FLAGS, running_app, write_y4m
from playwright.sync_api import Browser, Page, Playwright, expect

pytestmark = pytest.mark.browser

#: The first verdict loads the model and the detector, which takes a while on 2 cores.
VERDICT_MS = 90_000
#: Tall enough that the verdict, the annotated photos and the aligned crops are all in view.
VIEWPORT = {"width": 1400, "height": 2600}
LEAD_SCREENSHOT = Path("/tmp/facedemo-verify.png")


@pytest.fixture(scope="module")
def app_url(facedemo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with running_app(facedemo_home, log_path) as url:
        yield url


def open_verify(browser: Browser, url: str, **context_options) -> Page:
    """A fresh session on the Verify page, once its gallery default has been verified."""
    context = browser.new_context(viewport=VIEWPORT, **context_options)
    page = context.new_page()
    page.on("console", lambda message: print(f"console {message.type}: {message.text}"))
    page.goto(url)
    expect(page.get_by_role("heading", name="Verify: same person or not?")).to_be_visible()
    expect(verdict(page, "Same person")).to_be_visible(timeout=VERDICT_MS)
    return page


@pytest.fixture
def page(browser: Browser, app_url: str) -> Iterator[Page]:
    page = open_verify(browser, app_url)
    yield page
    page.context.close()


def verdict(page: Page, text: str):
    """The green (same) or orange (different) verdict box saying ``text``."""
    kind = "stAlertContentSuccess" if text == "Same person" else "stAlertContentWarning"
    return page.get_by_test_id(kind).filter(has_text=text)


def choose_source(page: Page, slot: str, source: str) -> None:
    """Switch a slot's source; its photo is gone, so the page asks for one and shows no verdict."""
    page.locator(f".st-key-source_{slot}").get_by_text(source, exact=True).click()
    expect(page.get_by_text("Add a photo on both sides to compare them.")).to_be_visible()
    expect(page.get_by_test_id("stAlertContentSuccess")).to_have_count(0)


def upload(page: Page, slot: str, photo: Path) -> None:
    page.locator(f".st-key-upload_{slot} input[type=file]").set_input_files(photo)
    expect(page.locator(f".st-key-upload_{slot}")).to_contain_text(photo.name)


def distance(page: Page) -> float:
    metric = page.get_by_test_id("stMetric").filter(has_text="Distance")
    return float(metric.get_by_test_id("stMetricValue").inner_text())


def expect_a_clean_finished_page(page: Page) -> None:
    """The run is over, every step is drawn and no error or traceback is on the page."""
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=VERDICT_MS)
    for caption in ("Photo A", "Photo B", "Aligned face A", "Aligned face B"):
        expect(page.get_by_test_id("stImageCaption").filter(has_text=caption)).to_be_visible()
    expect(page.get_by_text("Engine: Dlib")).to_be_visible()
    expect(page.get_by_text("Traceback")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    page.wait_for_function(
        "Array.from(document.images).every(image => image.complete && image.naturalWidth > 0)"
    )


def test_uploaded_photos_get_both_verdicts(page: Page, shared_images: Path, tmp_path: Path) -> None:
    choose_source(page, "A", "Upload")
    choose_source(page, "B", "Upload")
    upload(page, "A", shared_images / "img1.jpg")
    expect(page.get_by_text("Add a photo on both sides to compare them.")).to_be_visible()
    upload(page, "B", shared_images / "img2.jpg")
    expect(verdict(page, "Same person")).to_be_visible(timeout=VERDICT_MS)
    expect_a_clean_finished_page(page)

    upload(page, "B", shared_images / "img3.jpg")
    expect(verdict(page, "Different people")).to_be_visible(timeout=VERDICT_MS)
    expect_a_clean_finished_page(page)
    expect(page.get_by_test_id("stAlertContentSuccess")).to_have_count(0)

    page.screenshot(path=tmp_path / "verify-different-people.png")
    shutil.copyfile(tmp_path / "verify-different-people.png", LEAD_SCREENSHOT)


def test_a_text_file_is_refused_and_the_page_recovers(
    page: Page, shared_images: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo at all\n")
    choose_source(page, "A", "Upload")
    upload(page, "A", notes)
    error = page.get_by_test_id("stAlertContentError")
    expect(error).to_contain_text("'notes.txt' is a text file, not an image", timeout=VERDICT_MS)
    expect(page.get_by_text("Traceback")).to_have_count(0)

    upload(page, "A", shared_images / "img1.jpg")
    expect(verdict(page, "Same person")).to_be_visible(timeout=VERDICT_MS)
    expect_a_clean_finished_page(page)


def test_a_webcam_snapshot_is_verified_against_the_gallery(
    playwright: Playwright, app_url: str, shared_images: Path, tmp_path: Path
) -> None:
    video = write_y4m(shared_images / "img1.jpg", tmp_path / "img1.y4m")
    camera_browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_FLAGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        page = open_verify(camera_browser, app_url, permissions=["camera"])
        gallery_distance = distance(page)  # gallery img1 (A) against img2 (B)
        choose_source(page, "A", "Webcam")
        page.wait_for_function(
            "() => { const video = document.querySelector('.st-key-camera_A video');"
            " return video && video.readyState >= 2 && video.videoWidth === 640; }"
        )
        page.locator(".st-key-camera_A").get_by_role("button", name="Take Photo").click()
        expect(verdict(page, "Same person")).to_be_visible(timeout=VERDICT_MS)
        expect_a_clean_finished_page(page)
        # The snapshot is img1 re-encoded by the camera, not the gallery file: a new distance.
        assert distance(page) != gallery_distance
        page.screenshot(path=tmp_path / "verify-webcam.png")
    finally:
        camera_browser.close()
