"""The Training monitor in headless Chromium: a real run started from the page, watched live.

Only a browser shows the live path: the page re-draws itself every few seconds (a
fragment with ``run_every``) while the trainer, a process of its own, writes its files.
The run is the CPU preset (30 epochs); it is stopped long before its end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import running_app
from playwright.sync_api import Browser, Locator, Page, expect

from facedemo.siamese import PRESETS
from facedemo.siamese.runs import RunLayout, is_alive, read_checkpoint

pytestmark = pytest.mark.browser

RUN_NAME = "browser-cpu-demo"
PRESET = "CPU demo, 64 px"
EPOCHS = PRESETS[PRESET]["epochs"]
STEPS = PRESETS[PRESET]["steps_per_epoch"]
#: The first page visit and the first start (the page imports nothing heavy, but 2 cores).
PAGE_MS = 60_000
#: From "Start training" (or "Resume training") to "running": the trainer imports TensorFlow,
#: opens the photos and builds the network.
STARTUP_MS = 90_000
#: From "running" to the end of the first epoch (20 batches and 256 validation pairs).
EPOCH_MS = 90_000
#: From "Stop training" to "stopped": the batch under way, then the status is written.
STOP_MS = 30_000
VIEWPORT = {"width": 1400, "height": 1800}
LEAD_SCREENSHOT = Path("/tmp/facedemo-monitor.png")
PAGES = [re.compile(f"{title}$") for title in ("Verify", "Threshold explorer", "Training monitor")]
STOPPING = "Stopping at the next batch…"

#: Records, in the page itself, every "Run …: state" heading and whether the stopping
#: notice was ever drawn, so a state shown for a moment between two polls is not missed.
WATCH_SCRIPT = """() => {
    window.facedemoStates = [];
    window.facedemoStopping = false;
    const look = () => {
        for (const heading of document.querySelectorAll('h3')) {
            const match = heading.innerText.match(/^Run (\\S+): (\\w+)/);
            const states = window.facedemoStates;
            if (match && states[states.length - 1] !== match[2]) states.push(match[2]);
        }
        if (document.body.innerText.includes('Stopping at the next batch')) {
            window.facedemoStopping = true;
        }
    };
    new MutationObserver(look).observe(
        document.body, {childList: true, subtree: true, characterData: true}
    );
    look();
}"""


def trainer_pids(run_dir: Path) -> set[int]:
    """The trainer processes the run's files name: the latest launch and the status's."""
    pids = set()
    for path in (RunLayout(run_dir).launch, RunLayout(run_dir).status):
        try:
            pid = json.loads(path.read_text()).get("pid")
        except (OSError, ValueError):
            continue
        if pid:
            pids.add(int(pid))
    return pids


def end_trainers(runs_dir: Path) -> list[int]:
    """Kill the process group of every trainer still alive in ``runs_dir``; return their pids.

    The trainer runs in a session of its own, so stopping the app server leaves it running.
    """
    alive = [
        pid for run_dir in runs_dir.iterdir() for pid in trainer_pids(run_dir) if is_alive(pid)
    ]
    for pid in alive:
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while any(is_alive(pid) for pid in alive) and time.monotonic() < deadline:
        time.sleep(0.25)
    for pid in alive:
        if is_alive(pid):
            os.killpg(pid, signal.SIGKILL)
    return alive


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh FACEDEMO_RUNS for this module, seen by the app server and its trainers.

    ``running_app`` passes the test process's environment on, so it is set there.
    Every trainer still alive at the end is killed; the tests themselves leave none.
    """
    folder = tmp_path_factory.mktemp("monitor-runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACEDEMO_RUNS", str(folder))
        try:
            yield folder
        finally:
            left = end_trainers(folder)
    assert not left, f"trainer processes {left} were still running at the end"


@pytest.fixture(scope="module")
def app_url(facedemo_home: Path, runs_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    log_path = tmp_path_factory.mktemp("streamlit-monitor") / "streamlit.log"
    with running_app(facedemo_home, log_path) as url:
        yield url


def metric(page: Page, label: str) -> Locator:
    """The value of the st.metric labelled exactly ``label``."""
    box = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    return box.get_by_test_id("stMetricValue")


def state_heading(page: Page) -> Locator:
    return page.get_by_role("heading", name=re.compile(f"^Run {RUN_NAME}: "))


def seen_states(page: Page) -> list[str]:
    return page.evaluate("window.facedemoStates")


def batch_text(page: Page) -> Locator:
    return page.get_by_test_id("stProgress").filter(has_text=re.compile(r"batch \d+ of \d+"))


def epoch_shown(page: Page) -> int:
    value = metric(page, "Epoch").inner_text()
    match = re.fullmatch(rf"(\d+) / {EPOCHS}", value.strip())
    assert match, f"unexpected Epoch value {value!r}"
    return int(match.group(1))


def expect_clean(page: Page) -> None:
    expect(page.get_by_text("Traceback")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)


def not_reloaded(page: Page) -> bool:
    """Whether the document is still the one the test marked (no reload, no navigation)."""
    return page.evaluate("window.facedemoMarker === 'no reload'")


@pytest.fixture(scope="module")
def run_page(browser: Browser, app_url: str, runs_dir: Path) -> Iterator[tuple[Page, Path]]:
    """A session that opened the monitor by the sidebar and started the CPU preset on the
    demo photos from the form; yields the page once the run is queued, and its folder."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.on("console", lambda message: print(f"console {message.type}: {message.text}"))
    try:
        page.goto(app_url)
        expect(page.get_by_role("heading", name="Verify: same person or not?")).to_be_visible()
        links = page.get_by_test_id("stSidebarNav").get_by_role("link")
        expect(links).to_have_text(PAGES)
        links.filter(has_text="Training monitor").click()
        expect(page).to_have_url(re.compile(rf"^{re.escape(app_url)}/monitor(\?.*)?$"))
        expect(page.get_by_role("heading", name="Training monitor")).to_be_visible()
        expect(page.get_by_text(f"No training runs yet in {runs_dir}.")).to_be_visible(
            timeout=PAGE_MS
        )

        page.locator(".st-key-monitor_source").get_by_text("The demo photos", exact=True).click()
        page.locator(".st-key-monitor_preset").get_by_text(PRESET, exact=True).click()
        page.locator(".st-key-monitor_new_name input").fill(RUN_NAME)
        for key, choice in (("monitor_source", "The demo photos"), ("monitor_preset", PRESET)):
            checked = page.locator(f".st-key-{key} label").filter(has=page.locator(":checked"))
            expect(checked).to_have_text(choice)
        page.evaluate(WATCH_SCRIPT)
        page.get_by_role("button", name="Start training").click()

        expect(page.get_by_text(f"Started run {RUN_NAME}.")).to_be_visible(timeout=PAGE_MS)
        expect(state_heading(page)).to_be_visible(timeout=PAGE_MS)
        assert (runs_dir / RUN_NAME / "launch.json").is_file()
        expect(page.get_by_role("combobox", name="Run")).to_have_value(RUN_NAME)
        expect_clean(page)
        # From here on nothing is clicked and nothing reloaded until the run is stopped.
        page.evaluate("window.facedemoMarker = 'no reload'")
        yield page, runs_dir / RUN_NAME
    finally:
        page.context.close()


def test_a_run_started_from_the_page_shows_its_progress_by_itself(
    run_page: tuple[Page, Path],
) -> None:
    page, run_dir = run_page
    # Queued while TensorFlow loads, then running: the fragment re-draws on its own.
    expect(state_heading(page)).to_have_text(f"Run {RUN_NAME}: running", timeout=STARTUP_MS)
    assert seen_states(page)[:2] == ["queued", "running"], seen_states(page)
    expect(page.get_by_text("Training: the network looks at pairs of faces")).to_be_visible()
    expect(metric(page, "Device")).to_have_text("CPU")
    assert json.loads(RunLayout(run_dir).config.read_text())["settings"]["epochs"] == EPOCHS
    expect(page.get_by_role("button", name="Stop training")).to_be_visible()

    # The batch counter moves while the test only watches.
    expect(batch_text(page)).to_be_visible(timeout=EPOCH_MS)
    first = batch_text(page).inner_text()
    expect(batch_text(page)).not_to_have_text(first, timeout=EPOCH_MS)
    assert re.search(rf"batch \d+ of {STEPS}", batch_text(page).inner_text())

    # The first epoch ends: epoch 2 under way, a row in the epoch table, the best epoch marked.
    expect(metric(page, "Epoch")).to_have_text(
        re.compile(rf"^([2-9]|\d\d) / {EPOCHS}$"), timeout=EPOCH_MS
    )
    assert epoch_shown(page) >= 2
    expect(metric(page, "Pairs per second")).to_have_text(re.compile(r"^\d+$"))
    expect(metric(page, "Time left (at most)")).to_have_text(re.compile(r"^about \d+ (s|min)$"))
    table = page.get_by_test_id("stDataFrame")
    expect(table).to_be_visible()
    expect(page.get_by_text("best epoch").first).to_be_visible()

    # Three learning curves, drawn, each with the faint batch line and the epoch dots, and
    # the map of the validation faces' space (space.npz is written from epoch 0 on).
    charts = page.get_by_test_id("stPlotlyChart").filter(visible=True)
    expect(charts).to_have_count(4)
    page.wait_for_function(
        "Array.from(document.querySelectorAll('[data-testid=stPlotlyChart]'))"
        ".every(chart => chart.querySelectorAll('.scatterlayer .trace').length >= 3)"
    )
    for title in ("Loss (lower is better)", "Accuracy", "AUC"):
        expect(charts.filter(has_text=title)).to_have_count(1)
    expect(page.get_by_test_id("stImage").first).to_be_visible(timeout=EPOCH_MS)
    assert not_reloaded(page), "the page was reloaded: the progress did not come by itself"
    assert seen_states(page)[-1] == "running", seen_states(page)
    expect_clean(page)

    # The running page, for a human to look at; a tall window shows it whole.
    page.mouse.move(0, 0)
    height = page.get_by_test_id("stMainBlockContainer").evaluate("block => block.scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, VIEWPORT["height"])})
    page.wait_for_function("Array.from(document.images).every(image => image.complete)")
    page.screenshot(path=LEAD_SCREENSHOT)
    assert LEAD_SCREENSHOT.stat().st_size > 10_000
    page.set_viewport_size(VIEWPORT)


def test_stop_then_resume_then_stop_again(run_page: tuple[Page, Path]) -> None:
    page, run_dir = run_page
    expect(state_heading(page)).to_have_text(f"Run {RUN_NAME}: running", timeout=STARTUP_MS)
    first_pid = launched_pid(run_dir)

    # A batch takes a tenth of a second here, so the run is usually stopped before the page
    # draws again: the "stopping" notice may never show (see the test after this one).
    stop_and_see_it_stopped(page)
    assert ends(first_pid), "the trainer did not end after stopping"
    expect(page.get_by_text(re.compile(r"^Stopped on request: .*resume"))).to_be_visible()
    expect(page.get_by_role("button", name="Stop training")).to_have_count(0)
    expect(metric(page, "Epoch")).to_have_text(re.compile(rf"^\d+ / {EPOCHS}$"))
    expect(batch_text(page)).to_have_count(0)

    second_pid = resume_and_see_it_queued(page, run_dir)
    assert second_pid != first_pid
    expect(state_heading(page)).to_have_text(f"Run {RUN_NAME}: running", timeout=STARTUP_MS)
    assert seen_states(page)[:3] == ["stopped", "queued", "running"], seen_states(page)
    expect(page.get_by_role("button", name="Resume training")).to_have_count(0)
    expect(batch_text(page)).to_be_visible(timeout=EPOCH_MS)
    expect_clean(page)

    stop_and_see_it_stopped(page)
    assert ends(second_pid), "the resumed trainer did not end after stopping"


def test_a_stop_asked_while_starting_up_is_shown_until_it_takes_effect(
    run_page: tuple[Page, Path],
) -> None:
    """Stop clicked while the resumed trainer still loads TensorFlow: the notice stays up
    for those seconds, then the run reads "stopped" without training a batch."""
    page, run_dir = run_page
    if page.get_by_role("button", name="Stop training").count():
        stop_and_see_it_stopped(page)  # this test was run on its own
    expect(state_heading(page)).to_have_text(f"Run {RUN_NAME}: stopped", timeout=STOP_MS)
    # A resume continues from the last finished epoch, dropping the log lines after it.
    committed = read_checkpoint(run_dir).log_bytes

    pid = resume_and_see_it_queued(page, run_dir)
    page.get_by_role("button", name="Stop training").click()
    expect(page.get_by_text(STOPPING)).to_be_visible(timeout=PAGE_MS)
    expect(page.get_by_role("button", name="Stop training")).to_have_count(0)
    expect(state_heading(page)).to_have_text(f"Run {RUN_NAME}: stopped", timeout=STARTUP_MS)
    states = seen_states(page)
    assert states[:2] == ["stopped", "queued"] and states[-1] == "stopped", states
    expect(page.get_by_text(STOPPING)).to_have_count(0)
    expect(page.get_by_role("button", name="Resume training")).to_be_visible()
    assert ends(pid), "the trainer did not end after a stop asked while it started"
    trained = RunLayout(run_dir).metrics.stat().st_size - committed
    assert trained == 0, "it trained although asked to stop first"
    expect_clean(page)


def launched_pid(run_dir: Path) -> int:
    return json.loads(RunLayout(run_dir).launch.read_text())["pid"]


def ends(pid: int) -> bool:
    """Whether process ``pid`` ends within ``STOP_MS``."""
    deadline = time.monotonic() + STOP_MS / 1000
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.25)
    return not is_alive(pid)


def stop_and_see_it_stopped(page: Page) -> None:
    """Click "Stop training": the run reads "stopped", its notice gone, Resume offered."""
    page.evaluate("window.facedemoStopping = false")
    page.get_by_role("button", name="Stop training").click()
    expect(state_heading(page)).to_have_text(f"Run {RUN_NAME}: stopped", timeout=STOP_MS)
    print(f"stopping notice shown: {page.evaluate('window.facedemoStopping')}")
    expect(page.get_by_text(STOPPING)).to_have_count(0)
    expect(page.get_by_role("button", name="Resume training")).to_be_visible()
    expect_clean(page)


def resume_and_see_it_queued(page: Page, run_dir: Path) -> int:
    """Click "Resume training": a new trainer is launched and the run reads "queued"."""
    # The observer records each change of state from here on, the stopped state first.
    page.evaluate("window.facedemoStates = ['stopped']")
    page.get_by_role("button", name="Resume training").click()
    expect(state_heading(page)).to_have_text(f"Run {RUN_NAME}: queued", timeout=PAGE_MS)
    expect(page.get_by_text("Starting up: loading Keras and the photos.")).to_be_visible()
    expect(page.get_by_role("button", name="Resume training")).to_have_count(0)
    pid = launched_pid(run_dir)
    assert is_alive(pid)
    return pid
