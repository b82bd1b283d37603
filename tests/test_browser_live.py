"""The Verify page's live camera in headless Chromium, fed a clip of the demo photos.

Chromium's fake camera plays a clip made at test time (person A, then person B, looped)
and the page must box the face and say "Same person" against photo A, then "Different
person", over WebRTC (no ICE server: host candidates on this machine) and over the
page's own connection (Stream without WebRTC).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import CHROMIUM, CHROMIUM_FLAGS, running_app
from playwright.sync_api import Browser, Page, Playwright, expect

from facedemo import clips

pytestmark = pytest.mark.browser

#: The first verdict loads the model and the detector; the clip then changes person every
#: CLIP_SECONDS, which the page must follow.
VERDICT_MS = 120_000
CLIP_SECONDS = 6.0
VIEWPORT = {"width": 1400, "height": 1800}


@pytest.fixture(scope="module")
def app_url(facedemo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with running_app(facedemo_home, log_path) as url:
        yield url


@pytest.fixture(scope="module")
def camera_browser(
    playwright: Playwright, shared_images: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """Chromium whose camera shows another photo of A (photo A is img1), then B, looped."""
    expect.set_options(timeout=30_000)  # as conftest's browser: a fresh server is slow at first
    frames = clips.clip_frames(
        [shared_images / "img2.jpg", shared_images / "img3.jpg"], CLIP_SECONDS
    )
    video = clips.write_y4m(frames, tmp_path_factory.mktemp("clip") / "a-then-b.y4m")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_FLAGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    yield browser
    browser.close()


@pytest.fixture
def page(camera_browser: Browser, app_url: str) -> Iterator[Page]:
    """The Verify page with photo A from the gallery (Angelina Jolie, img1) and B live."""
    context = camera_browser.new_context(viewport=VIEWPORT, permissions=["camera"])
    page = context.new_page()
    page.on("console", lambda message: print(f"console {message.type}: {message.text}"))
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Verify: same person or not?")).to_be_visible()
    photo_a = page.locator(".st-key-gallery_A").get_by_role("combobox", name="Photo A")
    expect(photo_a).to_have_value("Angelina Jolie · img1.jpg")
    page.locator(".st-key-source_B").get_by_text("Live camera", exact=True).click()
    expect(page.get_by_text("The camera needs your permission and a secure page.")).to_be_visible()
    yield page
    context.close()


def status(page: Page):
    return page.locator(".st-key-live_status")


def expect_verdicts_to_follow_the_clip(page: Page) -> None:
    """A's verdict, then B's when the clip changes person, then A's again as it loops."""
    expect(status(page)).to_contain_text("Face 1: Same person", timeout=VERDICT_MS)
    expect(status(page)).to_contain_text("Face 1: Different person", timeout=VERDICT_MS)
    expect(status(page)).to_contain_text("Face 1: Same person", timeout=VERDICT_MS)
    expect(status(page)).to_contain_text("verdicts/s")
    expect(page.get_by_text("Traceback")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_live_video_over_webrtc_boxes_the_face_with_its_verdict(page: Page, tmp_path: Path) -> None:
    expect(status(page)).to_contain_text("Press Start the camera")
    stream = page.frame_locator("iframe[title*='webrtc']").first
    stream.get_by_role("button", name="Start the camera").click()
    expect_verdicts_to_follow_the_clip(page)
    # The server sends the video back boxed: the <video> plays what it receives.
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('iframe')).some(frame => {"
        " const video = frame.contentDocument && frame.contentDocument.querySelector('video');"
        " return video && video.readyState >= 2 && video.videoWidth === 640; })"
    )
    page.screenshot(path=tmp_path / "live-webrtc.png")
    stream.get_by_role("button", name="Stop").click()
    expect(status(page)).to_contain_text("Press Start the camera")


def test_live_video_without_webrtc_boxes_the_face_with_its_verdict(
    page: Page, tmp_path: Path
) -> None:
    page.get_by_text("Stream without WebRTC").click()
    expect_verdicts_to_follow_the_clip(page)
    overlay_drawn = (
        "() => { const canvas = document.querySelector('canvas.overlay') ||"
        " Array.from(document.querySelectorAll('*')).map(e => e.shadowRoot)"
        ".filter(Boolean).map(r => r.querySelector('canvas.overlay')).find(Boolean);"
        " return canvas && canvas.width === 640; }"
    )
    page.wait_for_function(overlay_drawn)
    page.screenshot(path=tmp_path / "live-frames.png")


def test_identify_mode_names_the_person_on_the_live_video(page: Page) -> None:
    """A student switches to identify: the demo set names the face on the video."""
    page.get_by_text("Who is this? (identify)", exact=True).click()
    expect(page.get_by_role("heading", name="Identify: who is this?")).to_be_visible()
    page.locator(".st-key-identify_source").get_by_text("Live camera", exact=True).click()
    page.get_by_text("Stream without WebRTC").click()
    expect(status(page)).to_contain_text("Face 1: Angelina Jolie", timeout=VERDICT_MS)
    expect(status(page)).to_contain_text("Face 1: Jennifer Aniston", timeout=VERDICT_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0)
