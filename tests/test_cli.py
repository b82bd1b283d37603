"""``python -m facedemo verify``: JSON for scripts, a sentence and exit 1 for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facedemo.__main__ import main

REPO = Path(__file__).resolve().parents[1]


def test_verify_json_from_a_real_process(shared_images: Path, run_facedemo) -> None:
    completed = run_facedemo(
        "verify", "--json", str(shared_images / "img1.jpg"), str(shared_images / "img2.jpg")
    )
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    assert answer["verified"] is True
    assert answer["distance"] <= answer["threshold"] == pytest.approx(0.07)
    assert (answer["model"], answer["detector"], answer["metric"]) == ("Dlib", "opencv", "cosine")
    assert len(answer["faces"]) == 2
    for face in answer["faces"]:
        assert set(face["box"]) == {"x", "y", "w", "h"} and face["score"] >= 0


def test_verify_text_output_and_options(shared_images: Path, capsys) -> None:
    code = main(
        [
            "verify",
            str(shared_images / "img1.jpg"),
            str(shared_images / "img3.jpg"),
            "--metric",
            "euclidean_l2",
            "--threshold",
            "0.5",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("DIFFERENT people: distance")
    assert "threshold 0.5000" in printed


def test_facenet_brings_its_own_detector_alignment_and_threshold(
    shared_images: Path, capsys
) -> None:
    pair = [str(shared_images / "img1.jpg"), str(shared_images / "img2.jpg")]
    assert main(["verify", *pair, "--model", "FaceNet-CASIA", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert (answer["detector"], answer["alignment"]) == ("mtcnn", "margin")
    assert answer["threshold"] == pytest.approx(0.55) and answer["verified"] is True
    assert main(["verify", *pair, "--model", "FaceNet-CASIA", "--detector", "opencv"]) == 0
    assert "FaceNet-CASIA · opencv · margin" in capsys.readouterr().out


def test_couple_face_index_in_json(shared_images: Path, capsys) -> None:
    couple = str(shared_images / "couple.jpg")
    assert main(["verify", couple, couple, "--face1", "0", "--face2", "1", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["faces"][0]["used"] == 0 and answer["faces"][1]["used"] == 1
    assert len(answer["faces"][0]["found"]) >= 2
    assert answer["faces"][0]["box"] != answer["faces"][1]["box"]


@pytest.mark.parametrize(
    ("make_input", "sentence"),
    [
        (lambda tmp: tmp / "missing.jpg", "There is no file at"),
        (
            lambda tmp: (tmp / "notes.txt").write_text("hello") and tmp / "notes.txt",
            "is a text file, not an image",
        ),
        (
            lambda tmp: (tmp / "empty.jpg").write_bytes(b"") is not None and tmp / "empty.jpg",
            "is empty (0 bytes)",
        ),
    ],
)
def test_bad_input_exits_1_with_the_sentence(
    tmp_path: Path, shared_images: Path, capsys, make_input, sentence: str
) -> None:
    code = main(["verify", str(make_input(tmp_path)), str(shared_images / "img1.jpg")])
    assert code == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and sentence in error
    assert "Traceback" not in error


def test_identify_json_names_the_person_and_ranks_candidates(
    shared_data: Path, shared_images: Path, shared_gallery, capsys
) -> None:
    photo = str(shared_images / "img1.jpg")
    assert main(["identify", photo, str(shared_data), "--json", "--top", "3"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["identity"] == "Angelina_Jolie" and answer["known"] is True
    assert answer["left_out"] == "images/img1.jpg"  # the photo itself is not its own match
    assert answer["face"]["used"] == 0 and set(answer["face"]["box"]) == {"x", "y", "w", "h"}
    assert answer["gallery"] == {
        "name": "deepface-testset",
        "people": 13,
        "photos": 60,
        "skipped": [],
    }
    candidates = answer["candidates"]
    assert [c["rank"] for c in candidates] == [1, 2, 3]
    assert {"rank", "identity", "file", "distance", "verdict", "photos", "p_same"} <= set(
        candidates[0]
    )
    assert candidates[0]["file"].startswith("images/") and candidates[0]["verdict"] == "match"
    assert [c["distance"] for c in candidates] == sorted(c["distance"] for c in candidates)
    assert answer["threshold"] == pytest.approx(0.07)


def test_identify_text_says_unknown_under_a_tiny_threshold(
    shared_data: Path, shared_images: Path, shared_gallery, capsys
) -> None:
    photo = str(shared_images / "img11_reflection.jpg")
    assert main(["identify", photo, str(shared_data), "--threshold", "0.000001"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("unknown: nobody within threshold 0.0000 (closest Angelina_Jolie")
    assert "no match" in printed and "gallery deepface-testset: 61 photos of 13 people" in printed


@pytest.mark.parametrize(
    ("photo", "gallery", "sentence"),
    [
        ("img1.jpg", "no-such-folder", "no-such-folder is not a folder"),
        ("notes.txt", "SHARED", "is a text file, not an image"),
    ],
)
def test_identify_bad_input_exits_1_with_the_sentence(
    tmp_path: Path, shared_data: Path, shared_images: Path, capsys, photo, gallery, sentence
) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    photo_path = shared_images / photo if photo.endswith(".jpg") else tmp_path / photo
    gallery_path = shared_data if gallery == "SHARED" else tmp_path / gallery
    assert main(["identify", str(photo_path), str(gallery_path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and sentence in error and "Traceback" not in error


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--prior", "1.5"], "strictly between 0 and 1"),
        (["--prior", "0"], "strictly between 0 and 1"),
        (["--threshold", "nan"], "finite number"),
        (["--threshold", "inf"], "finite number"),
        (["--folds", "0"], "2 or more"),
        (["--folds", "1"], "2 or more"),
        (["--max-negatives", "-1"], "1 or more"),
        (["--target-far", "1.5"], "share from 0 to 1"),
        (["--out", "/no/such/folder/pairs.csv"], "does not exist"),
        (["--out", "/tmp"], "is a folder"),
    ],
)
def test_thresholds_options_are_checked_where_they_are_parsed(
    options: list[str], said: str, capsys
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["thresholds", "demo", *options])
    assert stopped.value.code == 2  # argparse's own usage error, before any work
    error = capsys.readouterr().err
    assert said in error and "Traceback" not in error
    assert f"argument {options[0]}" in error


@pytest.mark.parametrize("score", ["inf", "-inf", "1e39", "nan"])
def test_a_pairs_csv_with_a_score_that_is_not_finite_is_refused_with_its_line(
    score: str, tmp_path: Path, capsys
) -> None:
    rows = ["file_x,file_y,decision,distance", "a.jpg,b.jpg,Yes,0.1", "a.jpg,c.jpg,No,0.9"]
    rows += [f"b.jpg,c.jpg,Yes,{score}", "c.jpg,d.jpg,No,0.8"]
    path = tmp_path / "pairs.csv"
    path.write_text("\n".join(rows) + "\n")
    assert main(["thresholds", str(path)]) == 1  # not a silent drop of the row
    error = capsys.readouterr().err
    assert "on line 4, which is not a finite distance" in error


def test_a_pairs_csv_with_an_empty_decision_is_a_sentence(tmp_path: Path, capsys) -> None:
    # Found by tests/test_fuzz.py: pandas keeps an empty cell missing, and sorting the
    # unknown decisions raised TypeError.
    path = tmp_path / "pairs.csv"
    path.write_text("file_x,file_y,decision,distance\na.jpg,b.jpg,,0.1\na.jpg,c.jpg,No,0.9\n")
    assert main(["thresholds", str(path)]) == 1
    assert "decision must be Yes or No" in capsys.readouterr().err


def test_embed_heals_a_damaged_store_and_says_so(
    tmp_path: Path, shared_images: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("FACEDEMO_HOME", str(tmp_path / "home"))
    folder = tmp_path / "faces"
    for person, photo in (("Ann", "img1.jpg"), ("Ann", "img2.jpg"), ("Bob", "img3.jpg")):
        (folder / person).mkdir(parents=True, exist_ok=True)
        (folder / person / photo).write_bytes((shared_images / photo).read_bytes())
    store = tmp_path / "home" / "embeddings.sqlite3"
    store.parent.mkdir(parents=True)
    store.write_bytes(b"not a database at all" * 100)
    assert main(["embed", str(folder)]) == 0
    said = capsys.readouterr()
    assert "3 embedded now" in said.out
    assert "note:" in said.err and "damaged" in said.err  # one sentence, and it healed
    assert list(store.parent.glob("embeddings.sqlite3.damaged-*"))  # kept for inspection
