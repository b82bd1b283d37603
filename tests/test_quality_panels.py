"""Why errors happen, on the shared set: the explorer's quality and group panels, the
library behind them (facedemo.quality.study), ``thresholds --json``'s ``quality``,
``groups`` and ``differentials``, the pairs CSV's new columns, and bad attributes tables.

Until the embedding store measures each photo, a study's ``photo_quality`` is empty; these
tests give the real study of the shared set two measures computed here from its files
(each photo's side in pixels, and its size on disk with one photo unmeasured), so every
number below is the library's on real distances, not a hard-coded result.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from facedemo import datasets, evaluation
from facedemo.__main__ import main
from facedemo.errors import DatasetError
from facedemo.quality import study as study_quality

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "explorer.py")

#: A sample cap no other test picks, so the page studies the set afresh (through the
#: patched ``study_dataset``) instead of reusing a study another test left on the server.
MEASURED_CAP = 1_000_000


def photo_measures(study: evaluation.PairStudy, root: Path) -> dict[str, np.ndarray]:
    """Two measures of every photo, from its file: the side of a square of its pixels, and
    its size on disk in KiB (the first photo left unmeasured)."""
    side = np.array([np.sqrt(np.prod(Image.open(root / f).size)) for f in study.files])
    kib = np.array([(root / f).stat().st_size / 1024 for f in study.files])
    kib[0] = np.nan
    return {"image_side": side, "file_kib": kib}


@pytest.fixture(scope="module")
def measured(shared_study, shared_data: Path) -> evaluation.PairStudy:
    return dataclasses.replace(
        shared_study, photo_quality=photo_measures(shared_study, shared_data)
    )


def camera_table(study: evaluation.PairStudy) -> str:
    """A synthetic attributes table: camera A or B and site north, south or east, by each
    person's place in the sorted names (labels of no real person)."""
    names = sorted(set(study.identities))
    rows = [f"{n},{'AB'[i % 2]},{('north', 'south', 'east')[i % 3]}" for i, n in enumerate(names)]
    return "identity,camera,site\n" + "\n".join(rows) + "\n"


@pytest.fixture
def measured_study_dataset(monkeypatch: pytest.MonkeyPatch, shared_data: Path):
    """``evaluation.study_dataset`` as the page and CLI call it, its study given the two
    measures (what the store will do itself)."""
    real = evaluation.study_dataset
    calls = []

    def with_measures(dataset, *args, **kwargs):
        calls.append(dataset)
        made = real(dataset, *args, **kwargs)
        return dataclasses.replace(made, photo_quality=photo_measures(made, dataset.root))

    monkeypatch.setattr(evaluation, "study_dataset", with_measures)
    return calls


# The library


def test_a_study_says_which_measures_it_has_and_why_none(measured, shared_study, shared_data):
    assert [m.name for m in study_quality.measures(measured)] == ["file_kib", "image_side"]
    assert study_quality.no_measures_reason(measured) is None
    table = datasets.load_pairs_csv(shared_data / "face-recognition-pivot.csv")
    from_csv = evaluation.study_pairs_table(table, "VGG-Face_cosine")
    assert "pairs CSV" in study_quality.no_measures_reason(from_csv)
    empty = dataclasses.replace(shared_study, photo_quality={"blur": np.full(61, np.nan)})
    assert study_quality.measures(empty) == ()
    assert "next study" in study_quality.no_measures_reason(empty)


def test_the_edc_at_zero_discard_is_the_explorers_frr_and_far(measured) -> None:
    analysed = study_quality.study_quality(measured)
    assert study_quality.study_quality(measured) is analysed  # sorted once per study
    for threshold in (0.05, 0.0684, 0.07, 0.1):
        at = measured.analysis.at(threshold)
        for name in ("image_side", "file_kib"):
            edc = analysed.edc(name, threshold)
            assert (edc.at_zero.frr, edc.at_zero.far) == (at.frr, at.far)
            assert edc.fnmr.band_low[0] <= edc.fnmr.start <= edc.fnmr.band_high[0]
    assert analysed.edc("file_kib", 0.07).unmeasured == sum(
        ((measured.first == 0) | (measured.second == 0)).tolist()
    )


def test_the_pairs_csv_gives_each_pair_its_worse_photos_quality_and_groups(measured) -> None:
    table = datasets.load_attributes_csv(camera_table(measured).encode())
    frame = study_quality.pairs_export(measured, 0.07, table)
    side = measured.photo_quality["image_side"]
    expected = np.minimum(side[measured.first], side[measured.second])
    assert np.array_equal(frame["quality_image_side"].to_numpy(), expected)
    kib = measured.photo_quality["file_kib"]
    unmeasured = (measured.first == 0) | (measured.second == 0)
    assert frame["quality_file_kib"].isna().to_numpy().tolist() == unmeasured.tolist()
    assert np.array_equal(
        frame["quality_file_kib"].to_numpy()[~unmeasured],
        np.fmin(kib[measured.first], kib[measured.second])[~unmeasured],
    )
    camera = table.labels["camera"]
    assert frame["group_camera_x"].tolist() == [camera[n] for n in frame["identity_x"]]
    assert frame["group_site_y"].tolist() == [table.labels["site"][n] for n in frame["identity_y"]]
    assert frame.columns[:8].tolist() == measured.pairs_frame(0.07).columns.tolist()


def test_an_attributes_csv_in_the_folder_is_read_inside_the_fence(tmp_path, shared_data):
    dataset = datasets.load_identity_dataset(shared_data)
    assert datasets.folder_attributes(dataset) is None  # the shared set has none
    here = dataclasses.replace(dataset, root=tmp_path)
    (tmp_path / "attributes.csv").write_text("identity,camera\nsomeone_else,A\n")
    table = datasets.folder_attributes(here)
    assert table.labels["camera"] == {} and "not in the data set" in table.notes[0]
    (tmp_path / "attributes.csv").unlink()
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    outside.write_text("identity,camera\nx,A\n")
    (tmp_path / "attributes.csv").symlink_to(outside)
    with pytest.raises(DatasetError, match="outside"):
        datasets.folder_attributes(here)


# The command line


def test_thresholds_json_has_quality_groups_differentials_and_the_csv_their_columns(
    measured_study_dataset, tmp_path: Path, capsys, measured
) -> None:
    attributes = tmp_path / "cameras.csv"
    attributes.write_text(camera_table(measured))
    out = tmp_path / "pairs.csv"
    arguments = ["thresholds", "demo", "--json", "--threshold", "0.07", "--jobs", "1"]
    assert main([*arguments, "--attributes", str(attributes), "--out", str(out)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert set(answer["quality"]) == {"image_side", "file_kib"}
    side = answer["quality"]["image_side"]
    assert side["fnmr"]["start"] == answer["intervals"]["frr"]["value"]
    assert side["fmr"]["start"] == answer["intervals"]["far"]["value"]
    assert {"halving_fraction", "partial_area", "discard_fractions", "error_rates"} <= set(
        side["fnmr"]
    )
    assert answer["quality"]["file_kib"]["unmeasured_pairs"] > 0
    assert set(answer["groups"]) == set(answer["differentials"]) == {"camera", "site"}
    cameras = answer["groups"]["camera"]
    a, b = cameras["groups"]["A"], cameras["groups"]["B"]
    assert a["positives"] + b["positives"] == answer["positives"]  # labels per person
    cross = cameras["cross_group_fmr"]
    assert a["negatives"] + b["negatives"] + cross["pairs"][0][1] == answer["negatives"]
    assert {"fmr", "fnmr", "fmr_interval", "fnmr_interval", "people"} <= set(a)
    assert {"max_min_ratio_fmr", "max_min_ratio_fnmr", "fdr"} <= set(
        answer["differentials"]["camera"]
    )
    written = pd.read_csv(out)
    assert {"quality_image_side", "quality_file_kib", "group_camera_x", "group_site_y"} <= set(
        written.columns
    )
    assert len(written) == answer["positives"] + answer["negatives"]


def test_a_bad_attributes_file_is_one_sentence_before_any_photo_is_embedded(
    measured_study_dataset, tmp_path: Path, capsys
) -> None:
    bad = tmp_path / "attributes.csv"
    bad.write_text("name,camera\nx,A\n")
    assert main(["thresholds", "demo", "--json", "--attributes", str(bad)]) == 1
    said = capsys.readouterr()
    assert said.out == "" and measured_study_dataset == []
    assert said.err.startswith("error: attributes.csv needs an 'identity' column")
    assert main(["thresholds", "demo", "--attributes", str(tmp_path / "missing.csv")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attributes.csv"]  # nothing left


def test_a_pairs_csv_has_no_quality_and_says_why(shared_data: Path, capsys, tmp_path) -> None:
    pivot = str(shared_data / "face-recognition-pivot.csv")
    assert main(["thresholds", pivot, "--json", "--column", "VGG-Face_cosine"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["quality"] is None and "pairs CSV" in answer["quality_note"]
    assert answer["groups"] is None and "pairs CSV" in answer["groups_note"]
    table = tmp_path / "attributes.csv"
    table.write_text("identity,camera\nx,A\n")
    assert main(["thresholds", pivot, "--attributes", str(table)]) == 1
    assert "needs an identity data set" in capsys.readouterr().err


# The page


def _rates(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


@pytest.fixture
def page(measured_study_dataset) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.session_state["explorer_quality_open"] = True
    app.session_state["explorer_groups_open"] = True
    app.session_state["explorer_max_negatives"] = MEASURED_CAP
    return app.run()


def test_the_explorer_shows_both_panels_live_with_the_slider(page: AppTest) -> None:
    assert not page.exception and not page.error
    shown = _rates(page)
    assert shown["FNMR · FMR, nothing discarded"] == f"{shown['FRR']} · {shown['FAR']}"
    captions = [c.value for c in page.caption]
    assert any("a good measure drops FNMR steeply" in c for c in captions)
    assert any("A max/min FMR ratio of 3 means" in c for c in captions)
    assert any("Which photos drag it down" in m.value for m in page.markdown)
    assert any(w.value.startswith("low: only") for w in page.warning)  # bands of 61 photos
    table = next(f.value for f in page.dataframe if "fnmr_people" in f.value)
    assert table["group"].tolist() == ["low", "medium", "high"]
    page.slider(key="explorer_threshold").set_value(0.05).run()
    moved = _rates(page)
    assert moved["FRR"] != shown["FRR"]
    assert moved["FNMR · FMR, nothing discarded"] == f"{moved['FRR']} · {moved['FAR']}"
    page.multiselect(key="explorer_quality_measures").set_value(["image_side", "file_kib"]).run()
    assert not page.exception
    assert sum(m.label == "Discarded to halve FNMR" for m in page.metric) == 2


def test_an_uploaded_table_gives_groups_and_a_bad_one_its_sentence(page: AppTest, measured):
    assert not page.exception
    uploader = page.file_uploader(key="explorer_attributes")
    uploader.upload("cameras.csv", camera_table(measured).encode(), "text/csv").run()
    assert not page.exception and not page.error
    assert any(m.value.startswith("**By camera.** Across 2 groups") for m in page.markdown)
    assert any(m.value.startswith("**By site.**") for m in page.markdown)
    assert any(m.label == "Fairness discrepancy rate" and m.value != "—" for m in page.metric)
    page.file_uploader(key="explorer_attributes").upload(
        "bad.csv", b"identity\nx\n", "text/csv"
    ).run()
    assert not page.exception
    assert [e.value for e in page.error] == [
        "bad.csv has only the identity column; add one column per attribute, such as camera "
        "or site. The groups below come from quality bands instead."
    ]
    assert next(f.value for f in page.dataframe if "fnmr_people" in f.value)["group"].tolist()
    assert page.metric  # the rest of the page still works


def test_a_study_without_measures_says_so_in_both_panels(shared_study, shared_data) -> None:
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.session_state["explorer_quality_open"] = True
    app.session_state["explorer_groups_open"] = True
    app.session_state["explorer_source"] = "Pairs CSV with scores"
    app.run()
    pivot = (shared_data / "face-recognition-pivot.csv").read_bytes()
    app.file_uploader(key="explorer_pairs_csv").upload("pivot.csv", pivot, "text/csv").run()
    assert not app.exception and not app.error
    said = [i.value for i in app.info]
    assert any("pairs CSV" in s and "no photo quality" in s for s in said)
    assert any(s.startswith("Groups need to know who is in each photo") for s in said)


def test_the_panels_cost_a_closed_page_nothing(
    monkeypatch: pytest.MonkeyPatch, measured_study_dataset
) -> None:
    asked = []
    monkeypatch.setattr(study_quality, "study_quality", asked.append)
    monkeypatch.setattr(study_quality, "no_measures_reason", asked.append)
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.session_state["explorer_max_negatives"] = MEASURED_CAP
    app.run()
    assert app.sidebar.selectbox(key="explorer_max_negatives").value == MEASURED_CAP
    app.slider(key="explorer_threshold").set_value(0.05).run()
    assert not app.exception and asked == []
    assert not [c for c in app.caption if "a good measure drops FNMR" in c.value]
