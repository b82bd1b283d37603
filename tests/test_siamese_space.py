"""The siamese network's space, epoch by epoch: space.npz written by the trainer, read back
through its schema, mapped on one PCA plane and shown on the Monitor page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from siamese_support import TINY_EPOCHS, fake_run, tiny_run
from sklearn.metrics import pairwise_distances
from streamlit.testing.v1 import AppTest

from facedemo.errors import RunError
from facedemo.siamese import TrainConfig
from facedemo.siamese.plots import space_figure
from facedemo.siamese.runs import (
    EpochSpace,
    RunLayout,
    RunWriter,
    read_metrics,
    read_settings,
    read_space,
    read_split,
    read_status,
)
from facedemo.siamese.space import SPACE_PEOPLE, SPACE_PHOTOS, separation, space_map

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "monitor.py")


@pytest.fixture(scope="module")
def tiny_run_dir() -> Path:
    return tiny_run()[0]


def synthetic_space(epochs: int = 4, people: int = 3, photos: int = 4) -> EpochSpace:
    """People that start mixed and gather into clusters, the outputs' scale growing."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(people, 20)) * 3
    labels = np.repeat(np.arange(people), photos)
    noise = rng.normal(size=(epochs, len(labels), 20))
    pull = np.linspace(0, 1, epochs)[:, None, None]
    outputs = (pull * centres[labels] + noise) * (1 + np.arange(epochs))[:, None, None]
    return EpochSpace(
        epochs=np.arange(epochs),
        outputs=outputs.astype(np.float32),
        people=np.array([f"Person {label}" for label in labels]),
        files=np.array([f"img{i}.jpg" for i in range(len(labels))]),
    )


def test_the_trainer_records_every_epoch_for_a_fixed_handful_of_validation_faces(
    tiny_run_dir: Path,
) -> None:
    import keras

    from facedemo.siamese.data import load_faces, load_split, space_faces
    from facedemo.siamese.model import feature_extractor

    space = read_space(tiny_run_dir)
    assert space.epochs.tolist() == list(range(TINY_EPOCHS + 1))  # epoch 0: untrained
    faces = len(space.people)
    assert space.outputs.shape == (TINY_EPOCHS + 1, faces, 500)
    assert space.outputs.dtype == np.float32 and faces <= SPACE_PEOPLE * SPACE_PHOTOS
    (validation,) = [part for part in read_split(tiny_run_dir) if part.part == "validation"]
    assert set(space.people) == set(validation.display_names)  # new people, all of them here
    assert not np.allclose(space.outputs[0], space.outputs[-1])  # the network changed
    # The same seeded faces as the trainer picks, and the last epoch is the last model's tower.
    settings = read_settings(tiny_run_dir)
    bank = load_faces(load_split(settings).validation, settings.image_size, settings.framing)
    chosen = space_faces(bank, SPACE_PEOPLE, SPACE_PHOTOS, settings.seed)
    assert space.files.tolist() == [Path(bank.dataset.paths[i]).name for i in chosen]
    model = keras.models.load_model(RunLayout(tiny_run_dir).checkpoint("epoch-0002.keras"))
    tower = keras.ops.convert_to_numpy(feature_extractor(model)(bank.images[chosen]))
    np.testing.assert_allclose(space.outputs[-1], tower, rtol=1e-5, atol=1e-6)


def test_the_same_seed_picks_the_same_faces_and_another_seed_others(tiny_run_dir: Path) -> None:
    from facedemo.siamese.data import space_faces

    settings = read_settings(tiny_run_dir)
    labels = np.repeat(np.arange(12), [1, 2, 3, 9, 9, 9, 9, 9, 9, 9, 9, 9])
    bank = type("Bank", (), {"labels": labels})
    picked = space_faces(bank, SPACE_PEOPLE, SPACE_PHOTOS, settings.seed)
    again = space_faces(bank, SPACE_PEOPLE, SPACE_PHOTOS, settings.seed)
    other = space_faces(bank, SPACE_PEOPLE, SPACE_PHOTOS, settings.seed + 1)
    assert picked.tolist() == again.tolist() and picked.tolist() != other.tolist()
    counts = np.bincount(labels[picked])
    assert len(picked) == SPACE_PEOPLE * SPACE_PHOTOS  # the people with most photos
    assert set(counts[counts > 0]) == {SPACE_PHOTOS} and (np.diff(labels[picked]) >= 0).all()


def test_a_resume_keeps_the_committed_epochs_and_records_the_missing_one(tmp_path: Path) -> None:
    """A run killed after writing epoch 3's faces but before committing epoch 3 resumes from
    epoch 2: epoch 3 is dropped (it is trained again), epochs 0-2 are kept as they were."""
    from facedemo.siamese.data import FaceImages, load_faces, load_split
    from facedemo.siamese.model import build_siamese
    from facedemo.siamese.recording import SpaceRecorder

    run_dir, _ = tiny_run()
    settings = read_settings(run_dir)
    bank: FaceImages = load_faces(
        load_split(settings).validation, settings.image_size, settings.framing
    )
    writer = RunWriter(RunLayout(tmp_path))
    recorder = SpaceRecorder(writer, bank, settings)
    model = build_siamese(settings.image_size)
    saved = read_space(run_dir)
    written = saved.with_epoch(3, saved.outputs[-1] + 1)
    writer.space(written)
    recorder.start(model, 2)
    kept = read_space(tmp_path)
    assert kept.epochs.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(kept.outputs, saved.outputs)
    recorder.record(model, 3)  # the epoch trained again
    assert read_space(tmp_path).epochs.tolist() == [0, 1, 2, 3]
    # A run from before space.npz, resumed at epoch 5, starts its file there.
    (tmp_path / "space.npz").unlink()
    fresh = SpaceRecorder(writer, bank, settings)
    fresh.start(model, 5)
    assert read_space(tmp_path).epochs.tolist() == [5]


def write_arrays(path: Path, **arrays: np.ndarray) -> None:
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


def good_arrays() -> dict[str, np.ndarray]:
    space = synthetic_space()
    return {name: getattr(space, name) for name in ("epochs", "outputs", "people", "files")}


DAMAGE = {
    "cut short": lambda path: path.write_bytes(path.read_bytes()[:200]),
    "not an npz": lambda path: path.write_text("hello"),
    "empty": lambda path: path.write_bytes(b""),
    "no outputs": lambda path: write_arrays(
        path, **{k: v for k, v in good_arrays().items() if k != "outputs"}
    ),
    "one face too few": lambda path: write_arrays(
        path, **{**good_arrays(), "people": good_arrays()["people"][1:]}
    ),
    "epochs out of order": lambda path: write_arrays(
        path, **{**good_arrays(), "epochs": np.array([0, 2, 1, 3])}
    ),
    "not finite": lambda path: write_arrays(
        path, **{**good_arrays(), "outputs": good_arrays()["outputs"] * np.nan}
    ),
    "names as numbers": lambda path: write_arrays(
        path, **{**good_arrays(), "files": np.arange(12)}
    ),
    "a bare array": lambda path: np.save(path.open("wb"), good_arrays()["outputs"]),
    "no epoch": lambda path: write_arrays(
        path,
        **{**good_arrays(), "epochs": np.array([], int), "outputs": np.zeros((0, 12, 20))},
    ),
    "one face": lambda path: write_arrays(
        path,
        **{
            **good_arrays(),
            "people": good_arrays()["people"][:1],
            "files": good_arrays()["files"][:1],
            "outputs": good_arrays()["outputs"][:, :1],
        },
    ),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_space_file_is_named_with_its_reason(tmp_path: Path, damage: str) -> None:
    run_dir = fake_run(tmp_path, "damaged")
    RunWriter(RunLayout(run_dir)).space(synthetic_space())
    assert read_space(run_dir).outputs.shape == (4, 12, 20)
    DAMAGE[damage](RunLayout(run_dir).space)
    with pytest.raises(RunError, match=r"^damaged/space\.npz .*(damaged|diverged)") as caught:
        read_space(run_dir)
    assert "\n" not in str(caught.value)


def test_the_projection_is_fitted_once_for_every_epoch() -> None:
    space = synthetic_space()
    mapped = space_map(space)
    assert mapped.points.shape == (4, 12, 2)
    for k, outputs in enumerate(space.outputs):  # each epoch through the same one projection
        centred = outputs - outputs.mean(axis=0)
        scaled = centred / np.sqrt((centred**2).sum(axis=1).mean())  # a shift and a zoom
        np.testing.assert_allclose(
            mapped.points[k], (scaled - mapped.centre) @ mapped.axes.T, rtol=1e-4, atol=1e-4
        )
    # Fitted on all epochs: another epoch's faces moving changes the axes (no refit per frame).
    moved = EpochSpace(space.epochs, space.outputs.copy(), space.people, space.files)
    moved.outputs[0] = np.random.default_rng(1).normal(size=moved.outputs[0].shape) * 5
    assert not np.allclose(np.abs(space_map(moved).axes), np.abs(mapped.axes), atol=1e-3)
    figure = space_figure(mapped)
    people = len(set(space.people))
    assert len(figure.frames) == 4
    for k, frame in enumerate(figure.frames):  # frames move the faces, never the axes
        assert set(frame.layout.to_plotly_json()) == {"title"}
        assert frame.layout.title.text.startswith(f"Epoch {k}: ")
        shown = np.concatenate([np.c_[trace.x, trace.y] for trace in frame.data[:people]])
        np.testing.assert_allclose(shown, mapped.points[k], rtol=1e-6)  # people in file order
    x_range, y_range = figure.layout.xaxis.range, figure.layout.yaxis.range
    assert x_range[0] <= mapped.points[..., 0].min() and mapped.points[..., 0].max() <= x_range[1]
    assert y_range[0] <= mapped.points[..., 1].min() and mapped.points[..., 1].max() <= y_range[1]
    buttons = figure.layout.updatemenus[0].buttons
    assert [button.label for button in buttons] == ["▶ Play", "❚❚ Pause"]
    assert [step.label for step in figure.layout.sliders[0].steps] == ["0", "1", "2", "3"]


def test_separation_is_within_over_between_distance_and_falls_as_people_gather() -> None:
    space = synthetic_space()
    distances = pairwise_distances(space.outputs[-1])
    same = space.people[:, None] == space.people[None, :]
    off_diagonal = ~np.eye(len(same), dtype=bool)
    expected = distances[same & off_diagonal].mean() / distances[~same].mean()
    assert separation(space.outputs[-1], space.people) == pytest.approx(expected, rel=1e-6)
    ratios = space_map(space).separation
    assert ratios[0] > 0.8 and ratios[-1] < 0.5  # mixed, then apart
    assert np.isnan(separation(space.outputs[-1][:3], space.people[:3]))  # one person only


def open_page(runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("FACEDEMO_RUNS", str(runs_dir))
    page = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not page.exception, page.exception
    return page


def space_chart(page: AppTest) -> dict | None:
    for chart in page.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if spec.get("frames"):
            return spec
    return None


def test_the_monitor_shows_the_space_beside_the_curves(monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, _ = tiny_run()
    page = open_page(run_dir.parent, monkeypatch)
    spec = space_chart(page)
    assert [frame["name"] for frame in spec["frames"]] == ["0", "1", "2"]
    ratios = space_map(read_space(run_dir)).separation
    (label,) = [m.label for m in page.metric if m.label.startswith("Within ÷ between")]
    assert label == f"Within ÷ between distance, epoch {TINY_EPOCHS}"
    shown = {m.label: m.value for m in page.metric}[label]
    assert shown == f"{ratios[-1]:.2f}"  # one number, one computation: the figure's too
    assert spec["layout"]["title"]["text"].endswith(f"{ratios[-1]:.2f}")
    assert any("press play" in caption.value for caption in page.caption)


def test_a_run_without_the_space_file_reads_and_says_it_predates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir, _ = tiny_run()
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    RunLayout(old).space.unlink()
    assert read_space(old) is None
    assert read_status(old).state == "finished" and not read_metrics(old).empty
    page = open_page(tmp_path, monkeypatch)
    assert space_chart(page) is None
    assert any("predates the map" in caption.value for caption in page.caption)
    assert len(page.get("plotly_chart")) == 5  # curves, ROC and confusion as before


def test_a_damaged_space_file_leaves_the_rest_of_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = TrainConfig("photos", "live", steps_per_epoch=4, epochs=5, batch_size=8)
    run_dir = fake_run(tmp_path, "live", settings, epoch=1)
    RunLayout(run_dir).space.write_bytes(b"PK\x03\x04 cut")
    page = open_page(tmp_path, monkeypatch)
    assert page.subheader[0].value == "Run live: running"
    (warning,) = [w.value for w in page.warning if "space.npz" in w.value]
    assert warning.startswith("live/space.npz cannot be read") and "damaged" in warning
    assert not page.error
