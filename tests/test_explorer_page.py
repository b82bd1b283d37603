"""The Threshold explorer page on the shared set, driven through AppTest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "explorer.py")


def plots_percent(share: float) -> str:
    from facedemo import plots

    return plots.percent(float(share))


def auc_on(app: AppTest) -> float:
    return float(next(c.value for c in app.caption if c.value.startswith("AUC ")).split()[1])


def _metrics(app: AppTest) -> dict[str, float]:
    return {m.label: float(m.value.rstrip("%")) / 100 for m in app.metric}


@pytest.fixture
def page(shared_study) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.run()
    assert not app.exception and not app.error
    return app


def test_demo_set_gives_every_pair(page: AppTest) -> None:
    summary = next(c.value for c in page.caption if "pairs ·" in c.value)
    assert "140 same-person and 1,690 different-person pairs" in summary
    assert "61 reused" in summary
    assert len(page.get("plotly_chart")) >= 5  # histogram, confusion, ROC, DET, PR


def test_slider_moves_every_metric_the_way_it_must(page: AppTest) -> None:
    slider = page.slider(key="explorer_threshold")
    assert slider.value == pytest.approx(0.07)  # DeepFace's pre-tuned Dlib + cosine value
    at_default = _metrics(page)
    slider.set_value(0.03).run()
    strict = _metrics(page)
    assert strict["Recall"] < at_default["Recall"]
    assert strict["FAR"] <= at_default["FAR"] and strict["FRR"] > at_default["FRR"]
    slider.set_value(float(slider.max)).run()
    everyone = _metrics(page)
    assert everyone["Recall"] == 1.0 and everyone["FAR"] == 1.0
    assert everyone["Precision"] == pytest.approx(140 / 1830, abs=1e-4)


def _shown(app: AppTest) -> list[str]:
    """Every rate as the page writes it."""
    return [m.value for m in app.metric]


def test_the_slider_step_is_a_round_hundredth_of_the_range_at_most() -> None:
    from facedemo.evaluation import explorer_slider_step

    assert explorer_slider_step(0.0, 1.0) == 0.01
    assert explorer_slider_step(0.1, 0.3) == 0.002  # 0.002 exactly: a hundredth
    assert explorer_slider_step(0.0132, 0.2876) == 0.005  # 0.00274 rounded up
    assert explorer_slider_step(0.0, 30.0) == 0.5


def test_one_slider_step_changes_what_is_shown(page: AppTest) -> None:
    # The walk pressed the arrow key twelve times near 0.07 (steps of a thousandth of the
    # range, 0.00027) and no number moved.
    from facedemo.evaluation import explorer_slider_step

    slider = page.slider(key="explorer_threshold")
    assert slider.value == pytest.approx(0.07)
    assert slider.step == explorer_slider_step(float(slider.min), float(slider.max))
    assert "suggested threshold" in slider.help and "type one" in slider.help
    before = _shown(page)
    slider.set_value(0.07 + slider.step).run()
    assert _shown(page) != before


def test_a_typed_threshold_sets_the_slider_exactly(page: AppTest, shared_study) -> None:
    zero_fnmr = next(p for p in shared_study.operating_points if p.name == "ZeroFNMR")
    page.number_input(key="explorer_threshold_typed").set_value(zero_fnmr.threshold).run()
    assert page.slider(key="explorer_threshold").value == pytest.approx(zero_fnmr.threshold)
    assert _metrics(page)["FRR"] == 0.0
    page.slider(key="explorer_threshold").set_value(0.05).run()  # and the field follows
    assert page.number_input(key="explorer_threshold_typed").value == pytest.approx(0.05)


def test_operating_points_show_no_raw_none(page: AppTest) -> None:
    points = next(f.value for f in page.dataframe if "target_fmr" in f.value)
    assert points.notna().all().all()
    targets = points.set_index("name")["target_fmr"]
    assert targets["ZeroFNMR"] == "—" and targets["FMR100"] == "1.00%"


def test_suggestion_button_sets_the_threshold(page: AppTest, shared_study) -> None:
    best = {s.name: s for s in shared_study.analysis.suggestions()}["max_f1"]
    page.button(key="suggest_max_f1").click().run()
    assert page.slider(key="explorer_threshold").value == pytest.approx(best.threshold)
    assert _metrics(page)["F1"] == pytest.approx(best.metrics.f1, abs=1e-4)
    heading = next(h.value for h in page.subheader if h.value.startswith("Misclassified"))
    assert heading.endswith(f": {best.metrics.fp + best.metrics.fn}")


def test_the_thresholds_table_shows_held_out_rates_beside_in_sample_ones(
    page: AppTest, shared_study
) -> None:
    table = next(frame.value for frame in page.dataframe if "heldout_far" in frame.value)
    best_f1 = table.set_index("name").loc["Best F1"]
    held = {h.name: h for h in shared_study.held_out()}["max_f1"]
    assert best_f1["heldout_frr"] == pytest.approx(held.metrics.frr)
    assert best_f1["heldout_accuracy"] == pytest.approx(held.rates_at_mix(140 / 1830)["accuracy"])
    assert best_f1["threshold_spread"] == pytest.approx(held.threshold_spread)
    assert table.set_index("name").loc["current"][["heldout_far", "heldout_frr"]].isna().all()
    assert any(
        "**Held out** columns split the people into 5 groups" in c.value for c in page.caption
    )


def test_one_eer_on_the_button_the_summary_and_the_slider(page: AppTest, shared_study) -> None:
    # The walk saw the EER button at 0.0767 and the summary "interpolated at 0.0750".
    eer = shared_study.eer
    button = page.button(key="suggest_eer")
    assert button.label.endswith(f"{eer.threshold:.4f}")
    summary = next(c.value for c in page.caption if c.value.startswith("AUC "))
    assert f"EER {eer.rate:.2%} at {eer.threshold:.4f}" in summary
    button.click().run()
    shown = _metrics(page)
    assert sorted((shown["FAR"], shown["FRR"])) == pytest.approx([eer.low, eer.high], abs=5e-5)


def test_held_out_caption_states_the_mix_and_recall_mirrors_frr(page: AppTest) -> None:
    assert any("stated at this study's own mix (7.65% same-person" in c.value for c in page.caption)
    page.slider(key="explorer_threshold").set_value(
        float(page.slider(key="explorer_threshold").max)
    )
    page.run()
    said = [m.value for m in page.markdown if m.value.startswith("- ")]
    frr = next(line for line in said if line.startswith("- FRR"))
    recall = next(line for line in said if line.startswith("- Recall"))
    assert "FRR is below 2.12%" in frr and "Recall is above 97.88%" in recall
    assert "100.00%–100.00%" not in recall  # no zero-width interval from resampling


def test_threshold_carried_to_the_verify_page(page: AppTest) -> None:
    page.slider(key="explorer_threshold").set_value(0.06).run()
    page.button(key="carry_threshold").click().run()
    carried = page.session_state["carried_threshold"]
    assert carried.threshold == pytest.approx(0.06)
    assert carried.engine.model == "Dlib"
    assert any("now uses 0.0600" in s.value for s in page.success)


def test_pairs_csv_source(page: AppTest, shared_data: Path) -> None:
    page.radio(key="explorer_source").set_value("Pairs CSV with scores").run()
    pivot = (shared_data / "face-recognition-pivot.csv").read_bytes()
    page.file_uploader(key="explorer_pairs_csv").upload("pivot.csv", pivot, "text/csv").run()
    page.selectbox(key="explorer_column").set_value("VGG-Face_cosine").run()
    assert not page.exception and not page.error
    assert any("140 same-person and 140 different-person" in c.value for c in page.caption)
    assert any(
        "No held-out figures: Held-out thresholds split the people" in c.value for c in page.caption
    )
    # A pairs file's slider starts at its own best F1, not at the sidebar engine's threshold,
    # and no engine settings are offered for scores measured elsewhere.
    best = next(b for b in page.button if b.key == "suggest_max_f1")
    assert f"{page.slider(key='explorer_threshold').value:.4f}" in best.label
    assert not [s for s in page.sidebar.selectbox if s.key == "model"]
    assert "lower means same person (detected" in next(
        c.value for c in page.caption if c.value.startswith("Scores:")
    )


def test_similarities_are_read_as_similarities(page: AppTest, shared_study, tmp_path) -> None:
    frame = shared_study.pairs_frame(0.07)
    frame["decision"] = frame.same_person.map({True: "Yes", False: "No"})
    frame["similarity"] = 1 - frame.distance
    csv = frame[["file_x", "file_y", "decision", "similarity"]].to_csv(index=False).encode()
    page.radio(key="explorer_source").set_value("Pairs CSV with scores").run()
    page.file_uploader(key="explorer_pairs_csv").upload("sims.csv", csv, "text/csv").run()
    assert not page.exception and not page.error
    assert any("higher means same person (detected" in c.value for c in page.caption)
    assert any("1 − similarity" in c.value for c in page.caption)
    assert auc_on(page) > 0.999
    page.radio(key="explorer_scores").set_value("lower").run()  # chosen wrongly, and visibly
    assert any("lower means same person (as chosen)" in c.value for c in page.caption)
    assert auc_on(page) < 0.001
    assert any("5 folds of pairs" in c.value for c in page.caption)  # no people to split


def test_a_siamese_runs_test_pairs_are_read_as_probabilities_without_asking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from siamese_support import tiny_run

    run_dir, _ = tiny_run()
    monkeypatch.setenv("FACEDEMO_RUNS", str(run_dir.parent))
    page = AppTest.from_file(PAGE, default_timeout=180).run()
    page.radio(key="explorer_source").set_value("A siamese run's test pairs").run()
    assert not page.exception and not page.error
    assert page.selectbox(key="explorer_siamese_run").value.parent == run_dir
    assert not [radio for radio in page.radio if radio.key == "explorer_scores"]
    assert any("higher means same person (as chosen)" in c.value for c in page.caption)


def test_intervals_and_people_behind_the_errors_follow_the_slider(page: AppTest) -> None:
    page.slider(key="explorer_threshold").set_value(0.1).run()
    lines = [m.value for m in page.markdown if "resampling people" in m.value]
    far = next(line for line in lines if line.startswith("- FAR"))
    assert "(35 of 1,690 different-person pairs)" in far and "counting pairs" in far
    heading = next(h.value for h in page.subheader if h.value.startswith("Who causes"))
    assert heading.endswith("0.1000")
    people = next(f.value for f in page.dataframe if "false_accepts" in f.value)
    assert people.false_accepts.sum() == 2 * 35 and people.errors.is_monotonic_decreasing


def test_f1_reads_the_same_in_the_metric_and_the_table(page: AppTest) -> None:
    page.slider(key="explorer_threshold").set_value(0.075).run()
    metric = next(m.value for m in page.metric if m.label == "F1")
    table = next(frame.value for frame in page.dataframe if "heldout_far" in frame.value)
    current = table.set_index("name").loc["current", "f1"]
    assert metric == plots_percent(current)  # half up, as the table's percent format rounds


def test_calibrated_probability_at_a_stated_prior(page: AppTest, shared_study) -> None:
    from facedemo import calibration

    caption = next(c.value for c in page.caption if "Brier score" in c.value)
    assert "out of fold" in caption and "The Verify page uses it" in caption
    page.slider(key="explorer_prior").set_value(0.5).run()
    table = next(f.value for f in page.dataframe if "P(same)" in f.value)
    expected = shared_study.calibration.probability(table.distance.to_numpy(), 0.5)
    assert list(table["P(same)"]) == [calibration.probability_text(p) for p in expected]
    assert table["P(same)"].iloc[0] == "> 99.9%"  # the closest pairs: never "100 %"
    assert calibration.load(shared_study.engine_label) is not None  # saved for Verify


def test_bad_folder_is_a_sentence_not_a_traceback(page: AppTest, tmp_path: Path) -> None:
    page.radio(key="explorer_source").set_value("Folder on the server").run()
    page.text_input(key="explorer_folder").input(str(tmp_path / "missing")).run()
    assert not page.exception
    assert "is not a folder" in page.error[0].value


def test_photos_the_layout_leaves_out_are_said_on_the_page(
    page: AppTest, tmp_path: Path, shared_images: Path
) -> None:
    for person, photos in (("Ann", ("img1.jpg", "img2.jpg")), ("Bob", ("img3.jpg", "img4.jpg"))):
        (tmp_path / person / "old").mkdir(parents=True)
        for photo in photos:
            (tmp_path / person / photo).write_bytes((shared_images / photo).read_bytes())
    (tmp_path / "Ann" / "old" / "img5.jpg").write_bytes((shared_images / "img5.jpg").read_bytes())
    page.radio(key="explorer_source").set_value("Folder on the server").run()
    page.text_input(key="explorer_folder").input(str(tmp_path)).run()
    assert not page.exception and not page.error
    assert any("img5.jpg" in info.value for info in page.info)  # not a silent drop


def test_carried_threshold_is_used_by_the_verify_page(page: AppTest) -> None:
    page.slider(key="explorer_threshold").set_value(0.06).run()
    page.button(key="carry_threshold").click().run()
    verify = AppTest.from_file(str(Path(PAGE).with_name("verify.py")), default_timeout=180)
    verify.session_state["carried_threshold"] = page.session_state["carried_threshold"]
    verify.run()
    assert not verify.exception
    assert float(verify.metric[1].value) == pytest.approx(0.06)
    chosen = "Using 0.0600 (chosen in the threshold explorer on demo)"
    assert any(chosen in c.value for c in verify.caption)
    verify.toggle(key="use_carried_threshold").set_value(False).run()  # and back again
    assert float(verify.metric[1].value) == pytest.approx(0.07)
    assert any("Using 0.0700 (pre-tuned for Dlib + cosine)" in c.value for c in verify.caption)


def test_comparing_settings_works_for_any_detector_choice(page: AppTest) -> None:
    page.selectbox(key="detector").set_value("skip").run()
    assert not page.exception and not page.error
    options = page.multiselect(key="compare_settings").options
    assert options[0].startswith("Dlib · skip") and any("opencv · detector" in o for o in options)


def test_lfw_stays_loaded_across_reruns(page: AppTest, shared_data: Path) -> None:
    import csv

    from facedemo import config

    funneled = config.lfw_data_home() / "lfw_home" / "lfw_funneled"
    with (shared_data / "identities.csv").open() as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            person = funneled / row["identity"]
            person.mkdir(parents=True, exist_ok=True)
            target = person / f"{row['identity']}_{number:04d}.jpg"
            if not target.exists():
                target.symlink_to(shared_data / "images" / row["file"])
    page.radio(key="explorer_source").set_value("LFW (needs internet)").run()
    page.number_input(key="explorer_lfw_min_faces").set_value(5).run()
    assert any("Choose a data set" in i.value for i in page.info)
    page.button(key="explorer_lfw").click().run()
    assert not page.exception and not page.error
    assert any("7 people, 44 photos" in e.label for e in page.expander)
    page.selectbox(key="explorer_max_negatives").set_value(100_000).run()  # a full rerun
    assert any("7 people, 44 photos" in e.label for e in page.expander)


@pytest.mark.parametrize(
    ("asked", "shown", "said"),
    [("0.05", 0.05, None), ("lots", None, "'lots', which is not a number from")],
)
def test_a_link_opens_the_study_at_its_threshold(
    shared_study, asked: str, shown: float | None, said: str | None
) -> None:
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.query_params["explorer_threshold"] = asked
    app.run()
    assert not app.exception
    value = app.slider(key="explorer_threshold").value
    if shown is None:
        assert value == pytest.approx(shared_study.starting_threshold, abs=1e-4)
    else:
        assert value == pytest.approx(shown)
    notes = [i.value for i in app.info if "The link asks for the threshold" in i.value]
    if said is None:
        assert notes == []
    else:
        assert len(notes) == 1 and said in notes[0]


def test_the_map_of_the_data_set_opens_with_its_trustworthiness(shared_study) -> None:
    """Where faces live, in the explorer: every demo photo a point, the caption says how far
    the 2-D picture can be trusted; closed, it costs the page nothing."""
    closed = AppTest.from_file(PAGE, default_timeout=300).run()
    assert "explorer_map" not in {chart.key for chart in closed.get("plotly_chart")}
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.session_state["explorer_map_open"] = True
    app.run()
    assert not app.exception and not app.error
    (chart,) = [chart for chart in app.get("plotly_chart") if chart.key == "explorer_map"]
    spec = json.loads(chart.proto.spec)
    # Coordinates travel base64-packed; the photos' names, one per point, as a list.
    points = sum(len(trace["customdata"]) for trace in spec["data"] if "customdata" in trace)
    assert points == shared_study.embedded_now + shared_study.embedded_before - len(
        shared_study.failed_images
    )
    assert any(
        c.value.startswith("Each dot a photo, one colour a person. Trustworthiness")
        for c in app.caption
    )
