"""Benchmark: the tf.data pair pipeline against the notebook's generator, and training speed.

The notebook's generator picked each pair with pandas look-ups and read, decoded,
resized and flipped both photos with PIL, pair by pair. Our pipeline decodes every
photo once and then only gathers from memory. Both make the same thing here:
batches of scaled, randomly flipped 250 px pairs from the same photos. Then it
measures training pairs per second on this machine at 64 px and 250 px.

    python bench/bench_siamese.py [DATASET]     (default: the demo set)

Exits with 1 when the pipeline is less than TARGET_RATIO times faster.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
from PIL import Image

from facedemo import config
from facedemo.datasets import load_identity_dataset
from facedemo.siamese import TrainConfig
from facedemo.siamese.data import FaceImages, load_faces, training_pairs
from facedemo.siamese.train import compiled_model, detect_device

TARGET_RATIO = 10
NOTEBOOK_SIZE = 250
BATCH = 64
PIPELINE_BATCHES = 20
NOTEBOOK_PAIRS = 128
#: Timed training steps per image size, after one untimed step that builds the graph.
TRAINING_STEPS = {64: 10, 250: 3}
TRAINING_BATCH = 32


def notebook_pairs(photos: pd.DataFrame, size: int, seed: int) -> Iterator[tuple]:
    """The notebook's way: pandas picks the pair, PIL reads, resizes and flips both photos."""
    rng = np.random.default_rng(seed)
    counts = photos["identity"].value_counts()
    pairable = counts[counts >= 2]

    def read(path: str) -> np.ndarray:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB").resize((size, size)), np.float32)
        pixels = pixels / 127.5 - 1.0
        return pixels[:, ::-1] if rng.random() < 0.5 else pixels

    while True:
        if rng.random() < 0.5:
            person = rng.choice(pairable.index, p=pairable / pairable.sum())
            first, second = photos[photos["identity"] == person].sample(2, random_state=rng)["path"]
            same = 1.0
        else:
            people = rng.choice(counts.index, 2, replace=False)
            first, second = (
                photos[photos["identity"] == who].sample(1, random_state=rng)["path"].iloc[0]
                for who in people
            )
            same = 0.0
        yield read(first), read(second), same


def save_jpegs(faces: FaceImages, folder: Path) -> list[str]:
    """The decoded faces as JPEG files of their own size, as LFW ships them."""
    paths = []
    for index, pixels in enumerate(faces.images.numpy()):
        paths.append(str(folder / f"{index}.jpg"))
        Image.fromarray(pixels).save(paths[-1], quality=90)
    return paths


def notebook_speed(photos: pd.DataFrame) -> float:
    pairs = notebook_pairs(photos, NOTEBOOK_SIZE, seed=0)
    started = time.perf_counter()
    for _ in range(NOTEBOOK_PAIRS // BATCH):
        batch = [next(pairs) for _ in range(BATCH)]
        np.stack([p[0] for p in batch]), np.stack([p[1] for p in batch])
    return NOTEBOOK_PAIRS / (time.perf_counter() - started)


def pipeline_speed(faces: FaceImages) -> float:
    batches = iter(training_pairs(faces, BATCH, 0, 0.5, 0.5))
    next(batches)  # builds the pipeline's graph
    started = time.perf_counter()
    for _ in range(PIPELINE_BATCHES):
        next(batches)
    return PIPELINE_BATCHES * BATCH / (time.perf_counter() - started)


def training_speed(faces: FaceImages, size: int, steps: int) -> float:
    settings = TrainConfig(str(faces.dataset.root), "bench", image_size=size)
    model = compiled_model(settings, detect_device())
    pairs = training_pairs(faces, TRAINING_BATCH, 0, 0.5, 0.5)
    model.fit(pairs, steps_per_epoch=1, epochs=1, shuffle=False, verbose=0)
    started = time.perf_counter()
    model.fit(pairs, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    return steps * TRAINING_BATCH / (time.perf_counter() - started)


def main(argv: list[str]) -> int:
    dataset = load_identity_dataset(argv[0] if argv else config.demo_data_dir())
    photos = pd.DataFrame(
        {"path": [str(p) for p in dataset.paths], "identity": list(dataset.identities)}
    )
    device = detect_device()
    print(f"{dataset.name}: {len(dataset)} photos, {len(dataset.identity_names)} people")
    print(f"device {device.kind} ({device.name}), {os.cpu_count()} cores")

    started = time.perf_counter()
    faces = load_faces(dataset, NOTEBOOK_SIZE)
    print(
        f"decode and resize every photo once at {NOTEBOOK_SIZE} px: "
        f"{time.perf_counter() - started:.1f} s"
    )
    ours, theirs = pipeline_speed(faces), notebook_speed(photos)
    ratio = ours / theirs
    with tempfile.TemporaryDirectory() as small:
        lfw_like = notebook_speed(photos.assign(path=save_jpegs(faces, Path(small))))
    print(f"pairs per second at {NOTEBOOK_SIZE} px, batches of {BATCH}:")
    print(f"  tf.data pipeline     {ours:10.0f}")
    print(
        f"  notebook generator   {theirs:10.0f}   same photos: "
        f"ratio {ratio:.1f}x (target >= {TARGET_RATIO}x)"
    )
    print(
        f"  notebook generator   {lfw_like:10.0f}   same faces saved as {NOTEBOOK_SIZE} px "
        f"JPEGs like LFW's: ratio {ours / lfw_like:.1f}x"
    )

    print(f"training pairs per second, batches of {TRAINING_BATCH}:")
    for size, steps in TRAINING_STEPS.items():
        sized = faces if size == NOTEBOOK_SIZE else load_faces(dataset, size)
        print(f"  {size:3d} px  {training_speed(sized, size, steps):8.1f}  ({steps} steps)")

    if ratio < TARGET_RATIO:
        print(f"FAILED: the pipeline is only {ratio:.1f}x faster than the notebook's generator.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
