"""At 1280 × 720, as on a laptop or a projector: what a move changes is on screen when it is
made, and no number is cut."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import running_app
from playwright.sync_api import Browser, Locator, Page, expect
from siamese_support import fake_run

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1280, "height": 720}
#: The first visit loads the model and the detector; the embeddings are already on disk.
FIRST_RUN_MS = 120_000
RERUN_MS = 30_000
#: Elements of an st.metric that are wider than their box (a value or label cut short).
#: The text of every element inside a metric that is wider than its box (read in one pass,
#: so a rerun that redraws the metrics meanwhile cannot leave a locator pointing at nothing).
CUT = """() => [...document.querySelectorAll('[data-testid="stMetric"]')].flatMap(
    box => [...box.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth)
        .map(() => box.innerText))"""


@pytest.fixture(scope="module")
def app_url(
    facedemo_home: Path, shared_study, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app, started once the shared set is embedded, so the pages only read the store."""
    assert shared_study.embedded_now + shared_study.embedded_before > 0
    log_path = tmp_path_factory.mktemp("streamlit-layout") / "streamlit.log"
    with running_app(facedemo_home, log_path) as url:
        yield url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    yield page
    page.context.close()


def expect_in_view(*elements: Locator) -> None:
    """Every element lies wholly within the window's height, all at once (a pixel of slack
    for sub-pixel scrolling)."""
    for element in elements:
        box = element.bounding_box()
        assert box is not None
        assert box["y"] >= -1 and box["y"] + box["height"] <= VIEWPORT["height"] + 1, box


def expect_no_metric_cut(page: Page) -> None:
    assert page.get_by_test_id("stMetric").count() > 0
    assert page.evaluate(CUT) == [], "metrics cut"


def test_explorer_slider_rates_and_histogram_share_one_view(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/explorer")
    slider = page.locator(".st-key-explorer_threshold")
    far = page.get_by_test_id("stMetric").filter(has_text="FAR")
    expect(far.get_by_test_id("stMetricValue")).to_have_text("0.12%", timeout=FIRST_RUN_MS)
    # While a fragment reruns Streamlit keeps the old element beside the new one, marked
    # stale: the one on screen is the fresh one.
    histogram = page.locator('.st-key-histogram[data-stale="false"]')
    expect(histogram.locator(".main-svg").first).to_be_attached(timeout=RERUN_MS)

    slider.evaluate("element => element.scrollIntoView({block: 'start'})")
    expect_in_view(slider, far, histogram)
    expect_no_metric_cut(page)

    slider.get_by_role("slider").press("End")  # the widest values: 100.00%
    expect(far.get_by_test_id("stMetricValue")).to_have_text("100.00%", timeout=RERUN_MS)
    expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=RERUN_MS)
    expect_no_metric_cut(page)
    expect_in_view(slider, far, histogram)


def test_verify_shows_both_photos_and_the_verdict_at_once(page: Page, app_url: str) -> None:
    page.goto(app_url)
    verdict = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Same person")
    expect(verdict).to_be_visible(timeout=FIRST_RUN_MS)
    photos = page.get_by_test_id("stImage")
    page.wait_for_function("Array.from(document.images).every(image => image.complete)")
    expect_in_view(photos.nth(0), photos.nth(1), verdict)
    expect_no_metric_cut(page)


def test_identify_names_stay_whole(page: Page, app_url: str) -> None:
    page.goto(app_url)
    page.get_by_text("Who is this? (identify)").click()
    answer = page.get_by_test_id("stMetric").filter(has_text="Answer")
    expect(answer.get_by_test_id("stMetricValue")).to_have_text(
        "Angelina Jolie", timeout=FIRST_RUN_MS
    )
    expect_no_metric_cut(page)


def test_a_lecture_link_opens_verify_presented_with_the_verdict_in_view(
    page: Page, app_url: str
) -> None:
    """A teacher's link names the photos, their own threshold and presenter mode: the page
    opens in that state, settings folded away, the verdict and its numbers in one view."""
    # A choice is written as it is shown: "Angelina Jolie · img4.jpg".
    link = "gallery_B=Angelina+Jolie+%C2%B7+img4.jpg&custom_threshold=true&threshold_value=0.02"
    page.goto(f"{app_url}/?{link}&present=true")
    # img1 (photo A's default) and img4 are one person at 0.0285: the link's 0.02 turns the
    # verdict round.
    verdict = page.get_by_test_id("stAlertContentWarning").filter(has_text="Different people")
    expect(verdict).to_be_visible(timeout=FIRST_RUN_MS)
    threshold = page.get_by_test_id("stMetric").filter(has_text="Threshold")
    expect(threshold.get_by_test_id("stMetricValue")).to_have_text("0.0200")
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    expect(page.locator(".st-key-settings_source_A")).to_be_hidden()  # set, not shown
    page.wait_for_function("Array.from(document.images).every(image => image.complete)")
    expect_in_view(verdict, *page.get_by_test_id("stMetric").all())
    assert "present=true" in page.url and "img4.jpg" in page.url


#: Photo B as the link writes it: the option as shown, "Elon Musk · img18.jpg".
ELON_IN_B = re.compile(r"gallery_B=Elon\+Musk\+%C2%B7\+img18\.jpg")


def test_choices_follow_into_the_link_and_survive_another_page(page: Page, app_url: str) -> None:
    page.goto(app_url)
    expect(page.get_by_test_id("stAlertContentSuccess")).to_be_visible(timeout=FIRST_RUN_MS)
    page.locator(".st-key-gallery_B").get_by_role("combobox").click()
    page.get_by_role("option", name="Elon Musk · img18.jpg").click()
    expect(page).to_have_url(
        re.compile(r"gallery_B=Elon\+Musk\+%C2%B7\+img18\.jpg"), timeout=RERUN_MS
    )
    page.get_by_test_id("stSidebarNav").get_by_text("Threshold explorer").click()
    expect(page.locator(".st-key-explorer_threshold")).to_be_visible(timeout=FIRST_RUN_MS)
    page.get_by_test_id("stSidebarNav").get_by_text("Verify").click()
    photo_b = page.locator(".st-key-gallery_B").get_by_role("combobox")
    expect(photo_b).to_have_value("Elon Musk · img18.jpg", timeout=RERUN_MS)
    expect(page).to_have_url(
        re.compile(r"gallery_B=Elon\+Musk\+%C2%B7\+img18\.jpg"), timeout=RERUN_MS
    )


def test_links_open_the_explorer_and_the_monitor_where_they_point(
    page: Page, app_url: str, facedemo_home: Path
) -> None:
    page.goto(f"{app_url}/explorer?explorer_threshold=0.05")
    typed = page.locator(".st-key-explorer_threshold_typed input")
    expect(typed).to_have_value("0.0500", timeout=FIRST_RUN_MS)

    runs_dir = Path(os.environ.get("FACEDEMO_RUNS") or facedemo_home / "runs")
    for name, started in (("older", time.time() - 100), ("newer", time.time())):
        fake_run(runs_dir, f"link-{name}", state="finished", started=started)
    page.goto(f"{app_url}/monitor?run=link-older")
    expect(page.get_by_text("Run link-older: finished")).to_be_visible(timeout=FIRST_RUN_MS)
