"""The Monitor page, driven with AppTest: a finished run, a running one, starting and stopping."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from siamese_support import tiny_run
from streamlit.testing.v1 import AppTest

from facedemo.siamese import TrainConfig
from facedemo.siamese.runs import RunLayout, is_alive, read_status, write_json_atomic

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "monitor.py")


def open_page(runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("FACEDEMO_RUNS", str(runs_dir))
    page = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not page.exception, page.exception
    return page


def metric_values(page: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in page.metric}


def fake_running_run(runs_dir: Path) -> Path:
    """A run that this test process pretends to train: 1½ of 5 epochs logged."""
    layout = RunLayout(runs_dir / "live")
    layout.run_dir.mkdir(parents=True)
    settings = TrainConfig("photos", "live", steps_per_epoch=4, epochs=5, batch_size=8)
    write_json_atomic(
        layout.config,
        {"settings": settings.to_dict(), "device": {"kind": "CPU", "name": "x86_64"}},
    )
    write_json_atomic(
        layout.status, {"state": "running", "pid": os.getpid(), "started": time.time(), "epoch": 1}
    )
    lines, now = [], time.time() - 10
    for epoch, steps in ((1, 4), (2, 2)):
        for step in range(1, steps + 1):
            now += 1
            lines.append(
                {
                    "kind": "batch",
                    "epoch": epoch,
                    "step": step,
                    "time": now,
                    "loss": 0.7,
                    "accuracy": 0.5,
                    "auc": 0.5,
                    "pairs_per_s": 8.0,
                }
            )
        if steps == 4:
            now += 1
            lines.append(
                {
                    "kind": "epoch",
                    "epoch": epoch,
                    "step": 4,
                    "time": now,
                    "loss": 0.69,
                    "accuracy": 0.55,
                    "auc": 0.6,
                    "val_loss": 0.7,
                    "val_accuracy": 0.5,
                    "val_auc": 0.55,
                    "pairs_per_s": 8.0,
                }
            )
    layout.metrics.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return layout.run_dir


def test_a_finished_run_shows_curves_scores_and_mistakes(monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, _ = tiny_run()
    page = open_page(run_dir.parent, monkeypatch)
    assert page.subheader[0].value == "Run tiny: finished"
    values = metric_values(page)
    assert values["Epoch"] == "2 / 2" and values["Device"] == "CPU"
    assert values["Test AUC"] != "-" and values["Test accuracy"].endswith("%")
    assert len(page.get("plotly_chart")) == 5  # loss, accuracy, AUC, ROC, confusion matrix
    table = page.dataframe[0].value
    assert list(table["epoch"]) == [1, 2] and table["best"].sum() == 1
    assert not {"monitor_stop", "monitor_resume"} & _keys(page)


def _keys(page: AppTest) -> set[str]:
    return {button.key for button in page.button}


def test_the_training_pair_preview_has_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, _ = tiny_run()
    page = open_page(run_dir.parent, monkeypatch)
    preview, mistakes = page.get("image")
    captions = [image.caption for image in preview.proto.imgs]
    assert len(captions) == 16
    assert set(captions) == {"same person", "different people"}
    assert all("model says" in image.caption for image in mistakes.proto.imgs)


def test_a_running_run_shows_its_progress_and_can_be_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = fake_running_run(tmp_path)
    page = open_page(tmp_path, monkeypatch)
    assert page.subheader[0].value == "Run live: running"
    values = metric_values(page)
    assert values["Epoch"] == "2 / 5" and values["Pairs per second"] == "8"
    assert values["Time left (at most)"].startswith("about")
    assert len(page.get("plotly_chart")) == 3  # curves only: no test results yet
    assert page.get("progress")[0].proto.value == round(100 * 6 / 20)
    page.button(key="monitor_stop").click().run()
    assert RunLayout(run_dir).stop.exists()


def test_a_failed_run_shows_its_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = fake_running_run(tmp_path)
    write_json_atomic(
        RunLayout(run_dir).status,
        {"state": "failed", "error": "photos is not a folder.", "epoch": 1},
    )
    page = open_page(tmp_path, monkeypatch)
    assert [error.value for error in page.error] == ["photos is not a folder."]
    assert "monitor_resume" in _keys(page)


def test_no_runs_yet_offers_the_start_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = open_page(tmp_path, monkeypatch)
    assert "No training runs yet" in page.info[0].value
    page.radio(key="monitor_source").set_value("A folder of my own")
    page.text_input(key="monitor_folder").set_value(str(tmp_path / "nowhere"))
    page.button[0].click().run()
    assert [error.value for error in page.error] == [f"{tmp_path / 'nowhere'} is not a folder."]


def test_the_form_starts_a_cpu_demo_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = open_page(tmp_path, monkeypatch)
    page.text_input(key="monitor_new_name").set_value("from-page")
    page.button[0].click().run()
    assert not page.exception and not page.error
    status = read_status(tmp_path / "from-page")
    try:
        assert status.state == "queued" and is_alive(status.pid)
        assert page.selectbox(key="monitor_run").value == "from-page"
        assert page.subheader[0].value == "Run from-page: queued"
    finally:
        os.killpg(status.pid, signal.SIGKILL)  # the demo run itself is tested elsewhere
