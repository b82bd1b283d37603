"""Identity-disjoint split, the uint8 face bank and pair batches, on the shared real photos."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from facedemo.datasets import IdentityDataset, load_identity_dataset
from facedemo.errors import DatasetError
from facedemo.siamese.data import (
    MIN_PAIRABLE_PER_PART,
    DrawnPairs,
    FixedPairBatches,
    TrainingPairs,
    all_pair_counts,
    all_pairs,
    fixed_pairs,
    held_out,
    load_faces,
    seen_people_pairs,
    split_identities,
)

SIZE = 64
SPLIT = (0.6, 0.2, 0.2)


@pytest.fixture(scope="module")
def dataset(shared_data: Path) -> IdentityDataset:
    return load_identity_dataset(shared_data)


@pytest.fixture(scope="module")
def train_faces(dataset: IdentityDataset):
    return load_faces(split_identities(dataset, SPLIT, seed=0).train, SIZE)


@pytest.mark.parametrize("seed", range(8))
def test_split_never_puts_a_person_in_two_parts(dataset: IdentityDataset, seed: int) -> None:
    split = split_identities(dataset, SPLIT, seed)
    parts = [set(part.identities) for part in (split.train, split.validation, split.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set.union(*parts) == set(dataset.identities)
    assert sum(len(p) for p in (split.train, split.validation, split.test)) == len(dataset)
    for part in (split.train, split.validation, split.test):
        photos = Counter(part.identities)
        assert sum(n >= 2 for n in photos.values()) >= MIN_PAIRABLE_PER_PART
    assert len(set(split.train.identities)) > len(set(split.test.identities))


def test_split_depends_on_the_seed(dataset: IdentityDataset) -> None:
    tests = {split_identities(dataset, SPLIT, seed).test.identity_names for seed in range(8)}
    assert len(tests) > 1
    assert split_identities(dataset, SPLIT, 3) == split_identities(dataset, SPLIT, 3)


def test_too_few_people_with_two_photos_is_a_dataset_error(dataset: IdentityDataset) -> None:
    people = sorted(set(dataset.identities))[:5]
    keep = [i for i, who in enumerate(dataset.identities) if who in people]
    small = IdentityDataset(
        "small",
        dataset.root,
        tuple(dataset.paths[i] for i in keep),
        tuple(dataset.identities[i] for i in keep),
    )
    with pytest.raises(DatasetError, match="at least 6"):
        split_identities(small, SPLIT, 0)


def test_faces_are_decoded_once_into_one_uint8_array(train_faces) -> None:
    assert train_faces.images.shape == (len(train_faces.dataset), SIZE, SIZE, 3)
    assert train_faces.images.dtype == np.uint8
    names = train_faces.dataset.identity_names
    assert [names[label] for label in train_faces.labels] == list(train_faces.dataset.identities)
    assert int(train_faces.images.max()) > 200  # real pictures, not blank


def test_an_undecodable_image_is_a_dataset_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    dataset = IdentityDataset("broken", tmp_path, (broken,), ("someone",))
    with pytest.raises(DatasetError, match=r"broken\.jpg' is a text file, not an image"):
        load_faces(dataset, SIZE)


def test_phone_photos_are_turned_upright_by_exif(shared_images: Path, tmp_path: Path) -> None:
    from PIL import Image

    upright = Image.open(shared_images / "img1.jpg").convert("RGB").resize((96, 128))
    exif = Image.Exif()
    exif[0x0112] = 6  # a viewer must rotate 90° clockwise: the pixels are stored sideways
    sideways = tmp_path / "sideways.jpg"
    upright.transpose(Image.Transpose.ROTATE_90).save(sideways, quality=95, exif=exif)
    straight = tmp_path / "straight.jpg"
    upright.save(straight, quality=95)
    dataset = IdentityDataset("exif", tmp_path, (straight, sideways), ("a", "a"))
    both = load_faces(dataset, SIZE).images.astype(int)
    assert np.abs(both[0] - both[1]).mean() < 8


def test_pair_sampler_draws_same_person_half_the_time_weighted_by_photos(train_faces) -> None:
    pairs = fixed_pairs(train_faces, 20_000, seed=1, same_person_probability=0.5)
    labels = train_faces.labels
    assert abs(pairs.same.mean() - 0.5) < 0.015
    assert np.array_equal(labels[pairs.first] == labels[pairs.second], pairs.same)
    assert not np.any(pairs.first[pairs.same] == pairs.second[pairs.same])
    photos = np.bincount(labels)
    expected = photos / photos.sum()  # every training person here has 2+ photos
    drawn = np.bincount(labels[pairs.first[pairs.same]], minlength=len(photos))
    assert np.allclose(drawn / drawn.sum(), expected, atol=0.02)


def test_fixed_pairs_repeat_for_a_seed(train_faces) -> None:
    first = fixed_pairs(train_faces, 100, seed=5, same_person_probability=0.5)
    again = fixed_pairs(train_faces, 100, seed=5, same_person_probability=0.5)
    other = fixed_pairs(train_faces, 100, seed=6, same_person_probability=0.5)
    assert np.array_equal(first.first, again.first) and np.array_equal(first.same, again.same)
    assert not np.array_equal(first.first, other.first)


def test_training_batches_are_uint8_pairs_with_float_labels(train_faces) -> None:
    stream = TrainingPairs(train_faces, 32, steps=3, seed=0, same_person_probability=0.5)
    (face_a, face_b), same = stream[0]
    assert face_a.dtype == face_b.dtype == np.uint8 and face_a.shape == (32, SIZE, SIZE, 3)
    assert same.dtype == np.float32 and same.shape == (32, 1)
    pairs = stream.pairs(0)
    assert np.array_equal(face_a, train_faces.images[pairs.first])  # gathered, untouched
    assert np.array_equal(face_b, train_faces.images[pairs.second])
    labels = train_faces.labels
    assert np.array_equal(labels[pairs.first] == labels[pairs.second], same[:, 0] > 0.5)
    assert len(stream) == 3


def test_a_resumed_stream_continues_where_it_stopped(train_faces) -> None:
    def epochs(first_epoch: int, count: int) -> list[np.ndarray]:
        stream = TrainingPairs(train_faces, 16, 4, 7, 0.5, first_epoch=first_epoch)
        batches = []
        for _ in range(count):
            batches += [stream[index][1] for index in range(len(stream))]
            stream.on_epoch_end()
        return batches

    from_start = epochs(0, 3)
    resumed = epochs(2, 1)  # a run resumed after two finished epochs
    assert all(np.array_equal(a, b) for a, b in zip(from_start[8:], resumed, strict=True))
    assert not all(np.array_equal(from_start[0], b) for b in from_start[1:])


def test_batches_are_the_same_from_any_worker_thread(train_faces) -> None:
    """Keras' worker threads ask for batches in any order; each depends on its index only."""
    stream = TrainingPairs(train_faces, 16, 6, 3, 0.5)
    forwards = [stream[index][1] for index in range(6)]
    backwards = [stream[index][1] for index in reversed(range(6))][::-1]
    assert all(np.array_equal(a, b) for a, b in zip(forwards, backwards, strict=True))


def test_held_out_photos_leave_two_of_each_person_to_train_on(train_faces) -> None:
    held = held_out(train_faces, per_person=1, seed=0)
    counts = np.bincount(train_faces.labels)
    held_counts = np.bincount(train_faces.labels[held], minlength=len(counts))
    assert np.array_equal(held_counts, (counts >= 3).astype(int))  # one each, if it can spare
    assert not held_out(train_faces, per_person=0, seed=0).any()
    assert not np.array_equal(held, held_out(train_faces, per_person=1, seed=1))
    kept = train_faces.subset(np.flatnonzero(~held))
    assert len(kept) == len(train_faces) - held.sum()
    assert np.array_equal(kept.images, train_faces.images[~held])
    names = kept.dataset.identity_names
    assert [names[label] for label in kept.labels] == list(kept.dataset.identities)


def test_seen_people_pairs_each_show_a_held_out_photo(train_faces) -> None:
    held = held_out(train_faces, per_person=1, seed=0)
    pairs = seen_people_pairs(train_faces, held, 200, seed=0, same_person_probability=0.5)
    assert len(pairs) == 200
    assert np.all(held[pairs.first] | held[pairs.second])
    labels = train_faces.labels
    assert np.array_equal(labels[pairs.first] == labels[pairs.second], pairs.same)
    assert 0.3 < pairs.same.mean() < 0.7


def unordered(pairs: DrawnPairs) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for a, b in zip(pairs.first, pairs.second, strict=True)}


def test_the_test_pairs_are_every_distinct_pair_once(dataset: IdentityDataset) -> None:
    pairs = all_pairs(dataset, 10_000, seed=0, same_person_probability=0.5)
    n = len(dataset)
    assert np.all(pairs.first < pairs.second)  # no mirror, no photo with itself
    assert len(unordered(pairs)) == len(pairs) == n * (n - 1) // 2  # none twice, none missing
    labels = dataset.labels
    assert np.array_equal(labels[pairs.first] == labels[pairs.second], pairs.same)
    counts = all_pair_counts(labels)
    assert (int(pairs.same.sum()), int((~pairs.same).sum())) == (
        counts["same"],
        counts["different"],
    )


def test_beyond_the_cap_the_test_pairs_are_a_seeded_sample_without_replacement(
    dataset: IdentityDataset,
) -> None:
    pairs = all_pairs(dataset, 100, seed=3, same_person_probability=0.5)
    every = unordered(all_pairs(dataset, 10_000, seed=0, same_person_probability=0.5))
    assert len(unordered(pairs)) == len(pairs) == 100 and unordered(pairs) <= every
    assert int(pairs.same.sum()) == 50  # the share of same-person pairs, as there are enough
    again = all_pairs(dataset, 100, seed=3, same_person_probability=0.5)
    other = all_pairs(dataset, 100, seed=4, same_person_probability=0.5)
    assert unordered(again) == unordered(pairs) != unordered(other)
    few_same = all_pair_counts(dataset.labels)["same"]  # fewer than half of the cap below
    lopsided = all_pairs(dataset, 2 * few_same + 10, seed=3, same_person_probability=0.5)
    assert int(lopsided.same.sum()) == few_same and len(lopsided) == 2 * few_same + 10


def test_fixed_pair_batches_keep_their_order(train_faces) -> None:
    pairs = fixed_pairs(train_faces, 50, seed=0, same_person_probability=0.5)
    batches = FixedPairBatches(train_faces, pairs, 16)
    assert len(batches) == 4  # 16 + 16 + 16 + 2
    labels = np.concatenate([batches[index][1][:, 0] for index in range(len(batches))])
    assert np.array_equal(labels > 0.5, pairs.same)
    (last_a, _), _ = batches[3]
    assert np.array_equal(last_a, train_faces.images[pairs.first[48:]])
