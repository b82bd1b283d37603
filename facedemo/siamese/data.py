"""Face pairs for the siamese network: an identity-disjoint split, a face bank and pair batches.

Every image is decoded and resized once into one uint8 array held in host memory
(the face bank). Pairs are drawn as indices on the host, a batch is two gathers
from the bank, and it crosses to the device as uint8: a quarter of the bytes of
float32, and no per-pixel work on the host, since rescaling and flips happen
inside the network (``model.py``). Batches are built by worker threads
(``keras.utils.PyDataset``): numpy gathers release no GIL for long, and worker
processes would pickle every batch.

Random draws are keyed by (seed, batch number): the same run settings give the
same pairs, and a resumed run continues the stream where it stopped. Nothing
here imports a deep-learning framework besides Keras, so it runs on any backend.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from facedemo import faces, images
from facedemo.datasets import IdentityDataset, display_name, make_pairs, open_dataset
from facedemo.errors import DatasetError, ImageError
from facedemo.siamese import MIN_PAIRABLE_PER_PART, TrainConfig, pairable_people

#: Random streams, the second part of every draw's key: training batches use
#: (seed, TRAINING_STREAM, batch number), the fixed pair lists (seed, FIXED_PAIRS_STREAM),
#: the held-out photos (seed, HELD_OUT_STREAM), the network's dropout and mirrors in an
#: epoch (seed, LAYER_NOISE_STREAM, epoch number), a sample of the test pairs
#: (seed, TEST_PAIRS_STREAM), the faces whose tower outputs space.npz keeps (seed, SPACE_STREAM).
(
    TRAINING_STREAM,
    FIXED_PAIRS_STREAM,
    HELD_OUT_STREAM,
    LAYER_NOISE_STREAM,
    TEST_PAIRS_STREAM,
    SPACE_STREAM,
) = range(6)

#: Pairs drawn for each seen-people validation pair wanted, before keeping those that
#: show a held-out photo.
SEEN_PAIRS_DRAWN = 20

#: Threads that gather batches ahead of the device; more than the cores is no help.
MAX_WORKERS = 8

#: Batches gathered ahead of the one the device is working on.
QUEUED_BATCHES = 6


@dataclass(frozen=True)
class Split:
    """Three identity-disjoint parts of a data set: no person is in two of them."""

    train: IdentityDataset
    validation: IdentityDataset
    test: IdentityDataset


def _subset(dataset: IdentityDataset, part: str, people: set[str]) -> IdentityDataset:
    chosen = (i for i, identity in enumerate(dataset.identities) if identity in people)
    return dataset.subset(chosen, name=f"{dataset.name} ({part})")


def split_identities(
    dataset: IdentityDataset, fractions: tuple[float, float, float], seed: int
) -> Split:
    """Share the people of ``dataset`` between train, validation and test by ``fractions``.

    Every part gets at least two people with 2+ photos, even in a tiny set; the
    rest of the people are shuffled (seeded) and shared out by the fractions.
    """
    photos = Counter(dataset.identities)
    rng = np.random.default_rng(seed)

    def shuffled(people: list[str]) -> list[str]:
        return [people[i] for i in rng.permutation(len(people))]

    pairable = shuffled(pairable_people(dataset.name, dataset.identities))
    reserved = MIN_PAIRABLE_PER_PART
    parts = [pairable[i * reserved : (i + 1) * reserved] for i in range(3)]
    singles = sorted(p for p, n in photos.items() if n < 2)
    others = shuffled(pairable[3 * reserved :] + singles)
    for part in (1, 2):  # validation and test take their share, train the rest
        wanted = max(reserved, round(len(photos) * fractions[part]))
        taken = max(0, wanted - reserved)
        parts[part] += others[:taken]
        others = others[taken:]
    parts[0] += others
    train, validation, test = (
        _subset(dataset, name, set(people))
        for name, people in zip(("train", "validation", "test"), parts, strict=True)
    )
    return Split(train, validation, test)


def load_split(config: TrainConfig) -> Split:
    """The data set named in ``config``, split as the run splits it."""
    return split_identities(open_dataset(config.dataset), config.split, config.seed)


@dataclass(frozen=True)
class FaceImages:
    """A face bank: ``images[i]`` (uint8, N×N×3) shows person ``labels[i]`` of ``dataset``."""

    dataset: IdentityDataset
    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def people(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """The names of the two people of each pair of image indices, as people read them."""
        names = np.array([display_name(who) for who in self.dataset.identities])
        return np.stack([names[first], names[second]], axis=1)

    def subset(self, indices: np.ndarray) -> FaceImages:
        """The faces at ``indices``, labelled afresh within the subset."""
        dataset = self.dataset.subset(indices.tolist())
        return FaceImages(dataset, self.images[indices], dataset.labels)


def held_out(faces: FaceImages, per_person: int, seed: int) -> np.ndarray:
    """A mask of ``per_person`` photos of each person with enough photos to spare them (each
    keeps two for same-person training pairs), chosen at random (seeded); none when 0."""
    mask = np.zeros(len(faces), dtype=bool)
    if per_person == 0:
        return mask
    rng = np.random.default_rng((seed, HELD_OUT_STREAM))
    for person in np.unique(faces.labels):
        photos = np.flatnonzero(faces.labels == person)
        if len(photos) >= per_person + 2:
            mask[rng.choice(photos, per_person, replace=False)] = True
    return mask


def space_faces(faces: FaceImages, people: int, photos: int, seed: int) -> np.ndarray:
    """Indices of up to ``photos`` photos of each of up to ``people`` people of ``faces``,
    the same for the same ``seed``: the people with the most photos (counted up to
    ``photos``, ties drawn at random), each person's photos drawn at random, person by person
    in label order."""
    rng = np.random.default_rng((seed, SPACE_STREAM))
    counts = np.bincount(faces.labels)
    shuffled = rng.permutation(len(counts))
    ranked = shuffled[np.argsort(-np.minimum(counts[shuffled], photos), kind="stable")]
    chosen = np.sort(ranked[:people][counts[ranked[:people]] > 0])
    return np.concatenate(
        [
            np.sort(rng.choice(np.flatnonzero(faces.labels == person), photos, replace=False))
            if counts[person] > photos
            else np.flatnonzero(faces.labels == person)
            for person in chosen
        ]
    )


def resize_face(image: np.ndarray, image_size: int) -> np.ndarray:
    """An RGB uint8 image squashed to ``image_size``² (no crop), bilinear with antialiasing."""
    resized = Image.fromarray(image).resize((image_size, image_size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


def load_faces(dataset: IdentityDataset, image_size: int, framing: str = "photo") -> FaceImages:
    """Decode, frame (``FRAMINGS``) and resize every image of ``dataset`` once, in threads.

    Decoding goes through :func:`facedemo.images.load_image`, so phone photos are
    turned upright by their EXIF tag exactly as the Verify page sees them.
    """

    def decode(path: Path) -> np.ndarray:
        image = images.load_image(path)
        framed = faces.framed_face(image) if framing == "face" else image
        return resize_face(framed, image_size)

    try:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            decoded = np.stack(list(pool.map(decode, dataset.paths)))
    except ImageError as error:
        raise DatasetError(f"An image in {dataset.root} cannot be used: {error}") from None
    return FaceImages(dataset, decoded, dataset.labels)


#: A batch as the network takes it: ``((face_a, face_b), same)``.
Batch = tuple[tuple[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class DrawnPairs:
    """Pairs of a face bank: ``first[k]``, ``second[k]`` (image indices) and ``same[k]`` (one
    person). Drawn at random (training, validation), they come in no order, a pair may repeat
    and ``first[k]`` may exceed ``second[k]``; the test's (``all_pairs``) are each distinct
    pair once, ``first[k] < second[k]``."""

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray

    def __len__(self) -> int:
        return len(self.same)

    def __getitem__(self, chosen: slice | np.ndarray) -> DrawnPairs:
        return DrawnPairs(self.first[chosen], self.second[chosen], self.same[chosen])


class PairSampler:
    """Draws pairs of image indices with numpy.

    With ``same_person_probability`` a pair shows one person: its first image is
    drawn uniformly from the images of people with 2+ photos (so people weigh by
    photo count) and its second from that person's other photos. Otherwise the
    first image is drawn from all images and the second from everybody else's.
    """

    def __init__(self, labels: np.ndarray, same_person_probability: float) -> None:
        counts = np.bincount(labels)
        if np.count_nonzero(counts) < 2 or counts.max() < 2:
            raise DatasetError(
                "Pairs need at least two people and one person with two or more photos."
            )
        order = np.argsort(labels, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        position = np.empty_like(labels)
        position[order] = np.arange(len(labels)) - starts[labels[order]]
        self._probability = same_person_probability
        self._labels, self._order, self._starts = labels, order, starts
        self._counts, self._position = counts, position
        self._pairable = np.flatnonzero(counts[labels] >= 2)

    def sample(self, count: int, key: tuple[int, ...]) -> DrawnPairs:
        """``count`` pairs, the same for the same ``key`` (non-negative integers)."""
        draws = np.random.default_rng(key).random((5, count))

        def pick(uniform: np.ndarray, size: np.ndarray | int) -> np.ndarray:
            """Uniform integers in [0, size), one per element of ``uniform``."""
            return np.minimum((uniform * size).astype(np.int64), np.asarray(size) - 1)

        same = draws[0] < self._probability
        # Same person: another photo of the first image's person.
        anchor = self._pairable[pick(draws[1], len(self._pairable))]
        person = self._labels[anchor]
        photos = self._counts[person]
        rank = (self._position[anchor] + 1 + pick(draws[2], photos - 1)) % photos
        partner = self._order[self._starts[person] + rank]
        # Different people: any image outside the first image's person's block.
        other = pick(draws[3], len(self._labels))
        other_person = self._labels[other]
        start, size = self._starts[other_person], self._counts[other_person]
        rank = pick(draws[4], len(self._labels) - size)
        stranger = self._order[np.where(rank >= start, rank + size, rank)]
        first = np.where(same, anchor, other).astype(np.int32)
        return DrawnPairs(first, np.where(same, partner, stranger).astype(np.int32), same)


def fixed_pairs(
    faces: FaceImages, count: int, seed: int, same_person_probability: float
) -> DrawnPairs:
    """``count`` pairs drawn once from ``seed``: the same list every time, so runs compare."""
    sampler = PairSampler(faces.labels, same_person_probability)
    return sampler.sample(count, (seed, FIXED_PAIRS_STREAM))


def all_pair_counts(labels: np.ndarray) -> dict[str, int]:
    """How many distinct same-person and different-person pairs photos of people ``labels``
    give (each unordered pair of two photos once)."""
    photos = np.bincount(labels)
    same = int((photos * (photos - 1) // 2).sum())
    return {"same": same, "different": len(labels) * (len(labels) - 1) // 2 - same}


def all_pairs(
    dataset: IdentityDataset, most: int, seed: int, same_person_probability: float
) -> DrawnPairs:
    """Every distinct pair of ``dataset``'s photos, each once (no repeat, no mirror): the
    same-person pairs, then the different-person ones.

    When they number more than ``most`` (a run's ``test_pairs``), a seeded sample of ``most``
    drawn without replacement, a ``same_person_probability`` share of them same-person pairs
    as far as there are that many, different-person pairs the rest.
    """
    available = all_pair_counts(dataset.labels)
    same, different = available["same"], available["different"]
    if same + different > most:
        different = min(different, most - min(same, round(most * same_person_probability)))
        same = min(same, most - different)
    rng = np.random.default_rng((seed, TEST_PAIRS_STREAM))
    listed = make_pairs(dataset, max_negatives=different, seed=int(rng.integers(2**31)))
    positives = np.flatnonzero(listed.same)
    kept = np.sort(rng.choice(positives, size=same, replace=False))
    chosen = np.concatenate([kept, np.flatnonzero(~listed.same)])
    return DrawnPairs(listed.first[chosen], listed.second[chosen], listed.same[chosen])


def seen_people_pairs(
    faces: FaceImages, held: np.ndarray, count: int, seed: int, same_person_probability: float
) -> DrawnPairs:
    """Up to ``count`` fixed pairs of the training people that show at least one ``held``-out
    photo: can the network recognise people it trains on in photos it has not seen?"""
    drawn = fixed_pairs(faces, SEEN_PAIRS_DRAWN * count, seed, same_person_probability)
    touching = np.flatnonzero(held[drawn.first] | held[drawn.second])[:count]
    return drawn[touching]


def gather(faces: FaceImages, pairs: DrawnPairs) -> Batch:
    """The network's batch for ``pairs``: ``((face_a, face_b), same)``, uint8 faces and
    float32 labels of shape (n, 1)."""
    face_a = np.take(faces.images, pairs.first, axis=0)
    face_b = np.take(faces.images, pairs.second, axis=0)
    return (face_a, face_b), pairs.same.astype(np.float32)[:, None]


def worker_threads() -> int:
    """Threads gathering batches: one per core, up to ``MAX_WORKERS``."""
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


class TrainingPairs(keras.utils.PyDataset):
    """One epoch of freshly drawn pairs, ``steps`` batches; batch ``k`` of epoch ``e`` is
    batch number ``e * steps + k`` of the run's stream, whatever the epoch the fit starts at.

    Keras calls ``on_epoch_end`` after each epoch, which moves the stream on; worker
    threads gather the next batches while the device trains on the current one.
    """

    def __init__(
        self,
        faces: FaceImages,
        batch_size: int,
        steps: int,
        seed: int,
        same_person_probability: float,
        first_epoch: int = 0,
        workers: int | None = None,
    ) -> None:
        workers = worker_threads() if workers is None else workers
        super().__init__(workers=workers, max_queue_size=QUEUED_BATCHES)
        self.faces, self.batch_size, self.steps, self.seed = faces, batch_size, steps, seed
        self.sampler = PairSampler(faces.labels, same_person_probability)
        self.epoch = first_epoch

    def __len__(self) -> int:
        return self.steps

    def pairs(self, index: int) -> DrawnPairs:
        """The pairs of batch ``index`` of the current epoch."""
        number = self.epoch * self.steps + index
        return self.sampler.sample(self.batch_size, (self.seed, TRAINING_STREAM, number))

    def __getitem__(self, index: int) -> Batch:
        return gather(self.faces, self.pairs(index))

    def on_epoch_end(self) -> None:
        self.epoch += 1


class FixedPairBatches(keras.utils.PyDataset):
    """Fixed ``pairs`` as batches ``((face_a, face_b), same)``, in order (validation, tests)."""

    def __init__(self, faces: FaceImages, pairs: DrawnPairs, batch_size: int) -> None:
        super().__init__(workers=worker_threads(), max_queue_size=QUEUED_BATCHES)
        self.faces, self.pairs, self.batch_size = faces, pairs, batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.pairs) / self.batch_size)

    def __getitem__(self, index: int) -> Batch:
        start = index * self.batch_size
        return gather(self.faces, self.pairs[start : start + self.batch_size])
