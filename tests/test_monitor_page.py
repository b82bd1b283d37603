"""The Monitor page, driven with AppTest: a finished run, a running one, starting and stopping."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from siamese_support import ended_pid, fake_run, tiny_run, training_log, write_log
from streamlit.testing.v1 import AppTest

from facedemo import config
from facedemo.files import write_json_atomic
from facedemo.siamese import TrainConfig
from facedemo.siamese.runs import RunLayout, is_alive, read_eval, read_status

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
    settings = TrainConfig("photos", "live", steps_per_epoch=4, epochs=5, batch_size=8)
    run_dir = fake_run(runs_dir, "live", settings, epoch=1, started=time.time() - 20)
    log = training_log(4, 1, 2, start=time.time() - 10, batch_seconds=1, validation_seconds=1)
    write_log(run_dir, [{**line, "pairs_per_s": 8.0} for line in log])
    return run_dir


def test_a_finished_run_shows_curves_scores_and_mistakes(monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, _ = tiny_run()
    page = open_page(run_dir.parent, monkeypatch)
    assert page.subheader[0].value == "Run tiny: finished"
    values = metric_values(page)
    assert values["Epoch"] == "2 / 2" and values["Device"] == "CPU"
    assert values["Test AUC"] != "-" and values["Test accuracy"].endswith("%")
    assert len(page.get("plotly_chart")) == 6  # loss, accuracy, AUC, space, ROC, confusion
    table = page.dataframe[0].value
    assert list(table["epoch"]) == [1, 2] and table["best"].sum() == 1
    assert not {"monitor_stop", "monitor_resume"} & _keys(page)


def test_a_finished_run_counts_its_test_pairs_once_and_names_its_people(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The caption's count, the confusion matrix and eval.json agree; the split's people
    are named, part by part."""
    run_dir, _ = tiny_run()
    page = open_page(run_dir.parent, monkeypatch)
    (said,) = [c.value for c in page.caption if c.value.startswith("Scored on")]
    assert said.startswith("Scored on 64 of the 78 distinct pairs of its test people's photos")
    assert "a run tests at most 64 pairs" in said
    confusion = json.loads(page.get("plotly_chart")[5].proto.spec)
    (heatmap,) = [trace for trace in confusion["data"] if trace["type"] == "heatmap"]
    cells = [
        int(cell.split("</b>")[0].removeprefix("<b>")) for row in heatmap["text"] for cell in row
    ]
    assert sum(cells) == 64 == read_eval(run_dir)["pairs"]
    (parts,) = [e for e in page.expander if e.label == "Who is in which part"]
    lines = [m.value for m in parts.markdown]
    assert [line.split("**")[1].split(" (")[0] for line in lines] == [
        "Training",
        "Validation",
        "Test",
    ]
    assert lines[2].endswith(": 3 people, 13 photos: Jack Dorsey, Jennifer Aniston, Sundar Pichai")


def _keys(page: AppTest) -> set[str]:
    return {button.key for button in page.button}


def test_the_training_pair_preview_has_labels(
    monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    run_dir, _ = tiny_run()
    page = open_page(run_dir.parent, monkeypatch)
    preview, mistakes = page.get("image")
    captions = [image.caption for image in preview.proto.imgs]
    assert len(captions) == 16
    assert {caption.split(":")[0] for caption in captions} == {"same person", "different people"}
    mistaken = [image.caption for image in mistakes.proto.imgs]
    assert all("model says" in caption for caption in mistaken)
    people = set(pd.read_csv(shared_data / "identities.csv").identity.str.replace("_", " "))
    named = [caption.split(": ")[1].split(" · model")[0].split(" · ") for caption in mistaken]
    assert all(set(names) <= people for names in named)  # the test pairs' people, by name


def test_a_running_run_shows_its_progress_and_can_be_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = fake_running_run(tmp_path)
    page = open_page(tmp_path, monkeypatch)
    assert page.subheader[0].value == "Run live: running"
    values = metric_values(page)
    assert values["Epoch"] == "2 / 5" and values["Pairs per second"] == "8"
    assert values["Time left (at most)"].startswith("about")
    assert len(page.get("plotly_chart")) == 3  # curves only: no test, no space.npz
    assert page.get("progress")[0].proto.value == round(100 * 6 / 20)
    assert page.get("progress")[0].proto.text == "epoch 2 of 5, batch 2 of 4"
    page.button(key="monitor_stop").click().run()
    assert RunLayout(run_dir).stop.exists()
    assert [info.value for info in page.info] == ["Stopping at the next batch…"]
    assert "monitor_stop" not in _keys(page)
    page.run()  # still saying so until the run has stopped
    assert [info.value for info in page.info] == ["Stopping at the next batch…"]


def test_a_failed_run_shows_its_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = fake_running_run(tmp_path)
    write_json_atomic(
        RunLayout(run_dir).status,
        {"state": "failed", "error": "photos is not a folder.", "epoch": 1},
    )
    page = open_page(tmp_path, monkeypatch)
    assert [error.value for error in page.error] == ["photos is not a folder."]
    assert "The trainer's output" in [expander.label for expander in page.expander]
    assert "monitor_resume" in _keys(page)


def test_no_runs_yet_offers_the_start_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = open_page(tmp_path, monkeypatch)
    assert "No training runs yet" in page.info[0].value
    assert "monitor_folder" not in {field.key for field in page.text_input}  # demo photos
    page.radio(key="monitor_source").set_value("A folder of my own").run()
    page.button[0].click().run()
    assert [error.value for error in page.error] == [
        "Type the path of the folder with your photos first, or choose the demo photos."
    ]
    page.text_input(key="monitor_folder").set_value(str(tmp_path / "nowhere"))
    page.button[0].click().run()
    assert [error.value for error in page.error] == [
        f"{tmp_path.resolve() / 'nowhere'} is not a folder."
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_folder_outside_the_root_is_refused_before_a_run_exists(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The walk trained on any server folder: the monitor never went through the fence.
    runs_dir, root = tmp_path / "runs", tmp_path / "root"
    runs_dir.mkdir()
    root.mkdir()
    monkeypatch.setenv("FACEDEMO_FOLDER_ROOT", str(root))
    page = open_page(runs_dir, monkeypatch)
    page.radio(key="monitor_source").set_value("A folder of my own").run()
    page.text_input(key="monitor_folder").set_value(str(shared_data))
    page.button[0].click().run()
    assert [error.value for error in page.error] == [
        f"{shared_data.resolve()} is outside {root.resolve()}: this app reads data sets only "
        "inside that folder. Move or copy the photos into it, or upload a zip instead."
    ]
    assert list(runs_dir.iterdir()) == []  # nothing started, nothing left


def test_demo_photos_that_cannot_be_downloaded_give_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "demo").mkdir()
    monkeypatch.setenv("FACEDEMO_DEMO_DATA", str(tmp_path / "demo"))  # a fresh install
    monkeypatch.setattr(config, "DEMO_DATA_URL", "http://127.0.0.1:9/dataset")  # unreachable
    page = open_page(tmp_path / "runs", monkeypatch)
    page.button[0].click().run()
    assert not page.exception
    (error,) = page.error
    assert error.value.startswith("The demo set could not be downloaded from http://127.0.0.1:9")
    assert not (tmp_path / "runs").exists()


def test_a_run_that_died_on_start_up_shows_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = RunLayout(tmp_path / "broken")
    layout.run_dir.mkdir()
    launch = {"pid": ended_pid(), "process_start": None, "command": [], "time": time.time()}
    write_json_atomic(layout.launch, launch)
    layout.log.write_text("Traceback (most recent call last):\nImportError: no tensorflow\n")
    page = open_page(tmp_path, monkeypatch)
    assert page.subheader[0].value == "Run broken: interrupted"
    assert "ImportError: no tensorflow" in page.code[0].value
    assert "ended before it saved its settings" in page.warning[0].value
    assert not {"monitor_stop", "monitor_resume"} & _keys(page)


def test_the_form_starts_a_cpu_demo_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = open_page(tmp_path, monkeypatch)
    page.text_input(key="monitor_new_name").set_value("from-page")
    page.button[0].click().run()
    assert not page.exception and not page.error
    status = read_status(tmp_path / "from-page")
    try:
        assert status.state == "queued" and is_alive(status.pid, status.process_start)
        launch = json.loads(RunLayout(tmp_path / "from-page").launch.read_text())
        assert launch["command"][4] == "demo"  # train demo ...: resolved by the trainer
        assert page.selectbox(key="run").value == "from-page"
        assert page.subheader[0].value == "Run from-page: queued"
    finally:
        os.killpg(status.pid, signal.SIGKILL)  # the demo run itself is tested elsewhere


def test_testing_after_training_is_its_own_phase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = fake_running_run(tmp_path)
    status = json.loads(RunLayout(run_dir).status.read_text())
    write_json_atomic(RunLayout(run_dir).status, {**status, "state": "testing", "best_epoch": 1})
    page = open_page(tmp_path, monkeypatch)
    assert page.subheader[0].value == "Run live: testing"
    assert page.selectbox(key="run").options == ["live"]  # the state is the heading's
    assert "Testing: training is over" in page.markdown[2].value
    assert metric_values(page)["Time left (at most)"] == "-"
    assert page.get("progress")[0].proto.text == "testing epoch 1 on its test people's pairs"
    assert page.button(key="monitor_stop").label == "Stop testing"
    page.button(key="monitor_stop").click().run()  # a stop is answered during the test too
    assert RunLayout(run_dir).stop.exists()
    assert [info.value for info in page.info] == ["Stopping the test…"]


@pytest.mark.parametrize(
    ("checkpoint", "sentence"),
    [
        ({}, "no epoch had finished, so resume starts training from the beginning"),
        ({"epoch": 1, "last": "last.keras"}, "resume continues after epoch 1, the last one"),
        ({"epoch": 5, "last": "last.keras"}, "training is over, so resume runs the test again"),
    ],
)
def test_a_stopped_run_says_what_resume_would_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkpoint: dict, sentence: str
) -> None:
    run_dir = fake_running_run(tmp_path)
    status = json.loads(RunLayout(run_dir).status.read_text())
    write_json_atomic(RunLayout(run_dir).status, {**status, "state": "stopped", "pid": None})
    if checkpoint:
        RunLayout(run_dir).checkpoint_state.parent.mkdir()
        write_json_atomic(RunLayout(run_dir).checkpoint_state, checkpoint)
    page = open_page(tmp_path, monkeypatch)
    assert page.subheader[0].value == "Run live: stopped"
    assert page.markdown[2].value.startswith(f"Stopped on request: {sentence}")
    over = sentence.startswith("training is over")
    assert page.button(key="monitor_resume").label == (
        "Resume testing" if over else "Resume training"
    )


def finished_run_with_test_auc(runs_dir: Path, auc: float) -> Path:
    """A finished run whose eval.json says ``auc`` on 128 + 128 test pairs."""
    run_dir = fake_run(runs_dir, "scored", state="finished", pid=None, best_epoch=1)
    evaluation = {
        "pairs": 256,
        "threshold": 0.5,
        "loss": 0.69,
        "accuracy": 0.5,
        "auc": auc,
        "confusion_matrix": [[64, 64], [64, 64]],
        "roc": {"false_positive_rate": [0, 1], "true_positive_rate": [0, 1], "thresholds": [1, 0]},
    }
    write_json_atomic(RunLayout(run_dir).eval, evaluation)
    return run_dir


@pytest.mark.parametrize(("auc", "warned"), [(0.51, True), (0.56, True), (0.62, False)])
def test_a_network_no_better_than_guessing_says_so_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, auc: float, warned: bool
) -> None:
    finished_run_with_test_auc(tmp_path, auc)
    page = open_page(tmp_path, monkeypatch)
    warnings = [w.value for w in page.warning if "No better than guessing" in w.value]
    assert bool(warnings) == warned
    praise = [s.value for s in page.success if s.value.startswith("Better than guessing")]
    assert bool(praise) != warned
    if warned:
        assert "far too few" in warnings[0] and "LFW" in warnings[0]
        assert "whole photos shrunk to 250 px" in warnings[0]  # the run's framing: "photo"
    else:
        assert "on 256 pairs of people it has never seen, an AUC of 0.620" in praise[0]


def test_the_test_claim_counts_each_pair_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = finished_run_with_test_auc(tmp_path, 0.9)
    evaluation = json.loads(RunLayout(run_dir).eval.read_text())
    distinct = {"same": 100, "different": 120}
    write_json_atomic(RunLayout(run_dir).eval, {**evaluation, "distinct_pairs": distinct})
    page = open_page(tmp_path, monkeypatch)
    (praise,) = [s.value for s in page.success if s.value.startswith("Better than guessing")]
    assert "on 220 pairs of people it has never seen" in praise
    assert "220 of the 256 pairs drawn are different ones" in praise


def test_a_run_tested_on_every_pair_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = finished_run_with_test_auc(tmp_path, 0.9)
    evaluation = json.loads(RunLayout(run_dir).eval.read_text())
    every = {"same": 128, "different": 128}
    write_json_atomic(RunLayout(run_dir).eval, {**evaluation, "all_pairs": every})
    page = open_page(tmp_path, monkeypatch)
    (said,) = [c.value for c in page.caption if c.value.startswith("Scored on")]
    assert said.startswith("Scored on every pair of its test people's photos, each pair once: ")
    assert "128 same-person and 128 different-person pairs (a run tests at most 2,000" in said
    (praise,) = [s.value for s in page.success if s.value.startswith("Better than guessing")]
    assert "on 256 pairs" in praise and "drawn" not in praise
    assert "Who is in which part" not in [e.label for e in page.expander]  # split not recorded


def test_a_run_on_face_crops_is_not_blamed_on_whole_photos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = finished_run_with_test_auc(tmp_path, 0.51)
    cropped = TrainConfig("photos", "scored", image_size=64, framing="face")
    recorded = json.loads(RunLayout(run_dir).config.read_text())
    write_json_atomic(RunLayout(run_dir).config, {**recorded, "settings": cropped.to_dict()})
    page = open_page(tmp_path, monkeypatch)
    (warning,) = [w.value for w in page.warning if "No better than guessing" in w.value]
    assert "far too few" in warning and "whole photos" not in warning


def test_the_page_says_how_the_run_computes(monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, _ = tiny_run()
    page = open_page(run_dir.parent, monkeypatch)
    (engine,) = [c.value for c in page.caption if c.value.startswith("Computed with")]
    assert engine.startswith("Computed with Keras 3.") and "on tensorflow 2." in engine
    assert engine.endswith("float32.")


@pytest.mark.parametrize("typed", ["two", "²", "1.5", "-1", "0"])
def test_a_devices_field_that_is_not_a_count_is_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typed: str
) -> None:
    page = open_page(tmp_path, monkeypatch)
    assert "CPU demo" in page.radio(key="monitor_preset").options[0]
    page.text_input(key="monitor_devices").set_value(typed)
    page.button[0].click().run()
    assert not page.exception
    assert [error.value for error in page.error] == [
        f"devices takes 'all' or a number of devices (1, 2, ...), not {typed!r}."
    ]
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing left behind


def test_more_devices_than_the_machine_has_is_a_sentence_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "jax")  # one CPU device here, and no GPU
    page = open_page(tmp_path, monkeypatch)
    page.text_input(key="monitor_devices").set_value("64")
    page.button[0].click().run()
    assert not page.exception
    (error,) = page.error
    assert error.value.startswith("64 devices were asked for, but jax sees only ")
    assert list(tmp_path.iterdir()) == []  # no run folder: the trainer was never started


def test_a_damaged_run_is_shown_with_why_and_hides_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A status.json of [] made the whole monitor fail, hiding every run.
    fake_run(tmp_path, "good", state="finished")
    broken = fake_run(tmp_path, "broken", state="stopped")
    (broken / "status.json").write_text("[]")
    page = open_page(tmp_path, monkeypatch)
    assert not page.exception
    assert set(page.selectbox(key="run").options) == {"good", "broken"}
    page.selectbox(key="run").set_value("broken").run()
    assert page.subheader[0].value == "Run broken: unreadable"
    assert any("broken/status.json holds list, not a record" in e.value for e in page.error)
    assert "monitor_resume" not in _keys(page)


def test_a_link_opens_the_run_it_names_and_says_when_it_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """?run=NAME opens that run (not the newest); a run that is not there is said, and the
    newest is shown instead."""
    monkeypatch.setenv("FACEDEMO_RUNS", str(tmp_path))
    fake_run(tmp_path, "older", state="finished", started=time.time() - 100)
    fake_run(tmp_path, "newer", state="finished", started=time.time())
    for asked, shown in (("older", "older"), ("gone", "newer")):
        page = AppTest.from_file(PAGE, default_timeout=60)
        page.query_params["run"] = asked
        page.run()
        assert not page.exception, page.exception
        assert page.selectbox(key="run").value == shown
        assert page.subheader[0].value == f"Run {shown}: finished"
        notes = [info.value for info in page.info if "The link asks for" in info.value]
        assert notes == (
            []
            if asked == shown
            else [
                "The link asks for the run 'gone', which is not one of the choices here, so this "
                "page shows newer."
            ]
        )
