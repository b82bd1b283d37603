"""The Threshold explorer in headless Chromium: slider by keyboard, suggestions, the look."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from browser_support import running_app
from playwright.sync_api import Browser, Locator, Page, expect

pytestmark = pytest.mark.browser

#: The first visit loads the model and the detector; the embeddings are already on disk.
FIRST_RUN_MS = 120_000
#: A fragment re-run after a slider move or a button click.
RERUN_MS = 30_000
VIEWPORT = {"width": 1400, "height": 1800}
LEAD_SCREENSHOT = Path("/tmp/facedemo-explorer.png")
#: The sidebar links app.py declares, each after its icon.
PAGES = [re.compile(f"{title}$") for title in ("Verify", "Threshold explorer", "Training monitor")]
HEADING = re.compile(r"Misclassified pairs at (\d+\.\d{4}): (\d+)")


@pytest.fixture(scope="module")
def app_url(
    facedemo_home: Path, shared_study, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app, started once the shared set is embedded, so the page only reads the store."""
    assert shared_study.embedded_now + shared_study.embedded_before > 0
    log_path = tmp_path_factory.mktemp("streamlit-explorer") / "streamlit.log"
    with running_app(facedemo_home, log_path) as url:
        yield url


def new_page(browser: Browser) -> Page:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.on("console", lambda message: print(f"console {message.type}: {message.text}"))
    return page


def navigation(page: Page) -> Locator:
    return page.get_by_test_id("stSidebarNav").get_by_role("link")


@pytest.fixture
def page(browser: Browser, app_url: str) -> Iterator[Page]:
    """A fresh session, from the home page to the explorer by the sidebar, its study drawn."""
    page = new_page(browser)
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Verify: same person or not?")).to_be_visible()
    expect(navigation(page)).to_have_text(PAGES)
    navigation(page).filter(has_text="Threshold explorer").click()
    # The page writes its choices into the URL (?explorer_threshold=…): a link to its state.
    expect(page).to_have_url(re.compile(rf"^{re.escape(app_url)}/explorer(\?.*)?$"))
    expect(page.get_by_role("heading", name="Threshold explorer")).to_be_visible()
    expect(metric(page, "FRR")).to_have_text(re.compile(r"^\d+\.\d\d%$"), timeout=FIRST_RUN_MS)
    expect(heading(page)).to_have_text(HEADING, timeout=RERUN_MS)
    checked = page.locator(".st-key-explorer_source label").filter(has=page.locator(":checked"))
    expect(checked).to_have_text("Demo set")
    expect_clean(page)
    yield page
    page.context.close()


def metric(page: Page, label: str) -> Locator:
    """The value of the st.metric labelled exactly ``label``."""
    box = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    return box.get_by_test_id("stMetricValue")


def percent(page: Page, label: str) -> float:
    return float(metric(page, label).inner_text().rstrip("%"))


def heading(page: Page) -> Locator:
    return page.get_by_role("heading").filter(has_text="Misclassified pairs at")


def misclassified(page: Page) -> tuple[str, int]:
    """The threshold and the count the "Misclassified pairs at …" heading shows."""
    match = HEADING.search(heading(page).inner_text())
    assert match, heading(page).inner_text()
    return match.group(1), int(match.group(2))


def slider(page: Page) -> Locator:
    """The slider thumb (a hidden ``<input type=range>``, role slider, that takes the keys)."""
    return page.locator(".st-key-explorer_threshold").get_by_role("slider")


def shown_threshold(page: Page) -> str:
    """The value written on the slider thumb, as the page formats it (%.4f)."""
    text = page.locator(".st-key-explorer_threshold").get_by_test_id("stSliderThumbValue")
    return text.inner_text().strip()


def expect_clean(page: Page) -> None:
    expect(page.get_by_text("Traceback")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)


def settle(page: Page) -> str:
    """Wait until the page has re-run for the value the thumb shows; return that value."""
    shown = shown_threshold(page)
    expect(heading(page)).to_contain_text(f"Misclassified pairs at {shown}:", timeout=RERUN_MS)
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=RERUN_MS)
    expect_clean(page)
    return shown


def press(page: Page, key: str) -> str:
    """Press ``key`` on the focused slider thumb; the thumb must move; wait for the re-run."""
    before, value_before = shown_threshold(page), slider(page).input_value()
    slider(page).press(key)
    expect(slider(page)).not_to_have_value(value_before)
    assert shown_threshold(page) != before, f"{key} did not move the slider off {before}"
    return settle(page)


def test_a_deep_link_on_a_fresh_server_gets_the_whole_app(browser: Browser, app_url: str) -> None:
    """The first session of the server opens /explorer directly, as a bookmark would.

    Keep this test first in the file: it only means something on a server nobody has visited.
    Streamlit treats an app with a ``pages/`` folder as a v1 multipage app until some run
    calls ``st.navigation``; until then a deep link runs the page script without app.py.
    """
    page = new_page(browser)
    try:
        page.goto(f"{app_url}/explorer")
        expect(page.get_by_role("heading", name="Threshold explorer")).to_be_visible()
        expect(page.get_by_text("facedemo · face verification")).to_be_visible()
        expect(navigation(page)).to_have_text(PAGES)
        expect(page).to_have_title(re.compile("facedemo"))
    finally:
        page.context.close()


def test_the_keyboard_moves_the_threshold_and_the_numbers_follow(page: Page) -> None:
    start = settle(page)
    start_recall = percent(page, "Recall")
    assert 0 < start_recall < 100

    lowest = press(page, "Home")
    assert float(lowest) < float(start)
    assert misclassified(page)[0] == lowest
    assert percent(page, "Recall") < start_recall
    expect(metric(page, "FAR")).to_have_text("0.00%")
    expect(metric(page, "Precision")).to_have_text("100.00%")
    low_recall = percent(page, "Recall")

    one_up = press(page, "ArrowRight")
    assert float(lowest) < float(one_up) < float(start)
    assert percent(page, "Recall") >= low_recall

    highest = press(page, "End")
    assert float(highest) > float(start)
    expect(metric(page, "Recall")).to_have_text("100.00%")
    expect(metric(page, "FAR")).to_have_text("100.00%")
    expect(metric(page, "FRR")).to_have_text("0.00%")
    # Every different-person pair is accepted, so each one is misclassified.
    strangers = re.search(r"([\d,]+) different-person pairs ·", page.inner_text("body"))
    assert strangers, "the caption with the pair counts is missing"
    assert misclassified(page) == (highest, int(strangers.group(1).replace(",", "")))

    one_down = press(page, "ArrowLeft")
    assert float(start) < float(one_down) < float(highest)
    assert misclassified(page)[0] == one_down


def test_a_suggestion_sets_the_threshold(page: Page) -> None:
    press(page, "End")
    end_heading = heading(page).inner_text()
    end_f1 = percent(page, "F1")

    button = page.locator(".st-key-suggest_max_f1").get_by_role("button")
    label = button.inner_text()
    match = re.fullmatch(r"\s*best F1 · (\d+\.\d{4})\s*", label)
    assert match, f"unexpected suggestion label {label!r}"
    suggested = match.group(1)
    button.click()

    expect(page.locator(".st-key-explorer_threshold")).to_contain_text(suggested, timeout=RERUN_MS)
    assert settle(page) == suggested
    assert heading(page).inner_text() != end_heading
    threshold, wrong = misclassified(page)
    assert threshold == suggested
    assert wrong < int(HEADING.search(end_heading).group(2))
    assert percent(page, "F1") > end_f1

    # The page after a suggestion, with its plots drawn, for a human to look at.
    # Streamlit scrolls inside its main block, so a full-page shot needs a tall window.
    page.mouse.move(0, 0)
    height = page.get_by_test_id("stMainBlockContainer").evaluate("block => block.scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, VIEWPORT["height"])})
    # Histogram, confusion matrix and the ROC tab; DET, PR and the data set's plot are folded.
    expect(page.get_by_test_id("stPlotlyChart").filter(visible=True)).to_have_count(3)
    page.wait_for_function(
        "Array.from(document.querySelectorAll('[data-testid=stPlotlyChart]'))"
        ".every(chart => chart.querySelector('.main-svg'))"
        " && Array.from(document.images).every(image => image.complete)"
    )
    page.screenshot(path=LEAD_SCREENSHOT)
    assert LEAD_SCREENSHOT.stat().st_size > 10_000


def test_held_out_rates_and_intervals_are_on_the_page(page: Page) -> None:
    settle(page)
    intervals = page.locator("li").filter(has_text="resampling people")
    expect(intervals.first).to_be_visible()
    expect(intervals.filter(has_text=re.compile(r"^FRR "))).to_contain_text("same-person pairs")
    with page.expect_download() as download:
        page.get_by_role("button", name="Thresholds table (CSV)").click()
    table = pd.read_csv(download.value.path())
    assert {"heldout_far", "heldout_frr", "threshold_spread"} <= set(table.columns)
    assert table.heldout_frr.notna().sum() == len(table) - 1  # every suggestion; not "current"


def test_why_errors_happen_panels_draw_their_figures(page: Page) -> None:
    """Both panels of issue 19 in the real browser: the EDC of the first quality measure and
    the cross-group FMR heat map of its quality bands, each with its newcomer's caption."""
    page.get_by_text("Why errors happen (1)").click()
    edc = page.locator('[class*="st-key-edc_"] .main-svg').first
    expect(edc).to_be_visible(timeout=RERUN_MS)
    expect(page.get_by_text("a good measure drops FNMR steeply").first).to_be_visible()
    page.get_by_text("Why errors happen (2)").click()
    heat_map = page.locator('[class*="st-key-cross_"] .main-svg').first
    expect(heat_map).to_be_visible(timeout=RERUN_MS)
    expect(page.get_by_text("A max/min FMR ratio of 3 means").first).to_be_visible()
    expect_clean(page)


def test_a_point_picked_on_the_map_shows_its_photo(page: Page) -> None:
    """Where faces live: every demo photo a point; a click on one shows its photo (a Plotly
    hover label cannot hold a picture)."""
    page.get_by_text("Where faces live: this data set's photos").click()
    points = page.locator(".st-key-explorer_map .scatterlayer .point")
    expect(points.first).to_be_visible(timeout=RERUN_MS)
    expect(page.get_by_text("Trustworthiness").first).to_be_visible()
    # Plotly's drag layer lies over the points and takes the click, as it does a person's.
    box = points.first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    picked = page.get_by_test_id("stImageCaption").filter(has_text=re.compile(r"\.jpg$"))
    expect(picked.first).to_be_visible(timeout=RERUN_MS)
    expect_clean(page)
