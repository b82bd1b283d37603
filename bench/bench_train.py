"""The siamese trainer itself, end to end, on each Keras backend asked for, with its baseline.

For every backend (each in a process of its own, since ``KERAS_BACKEND`` is read once):

- **end to end**: the real trainer (``facedemo.siamese.train.train``: face bank, worker
  threads, model, callbacks, checkpoints, run directory) on a synthetic identity set of
  ``--faces`` photos, or on ``--dataset``; pairs per second of the epochs after the first
  (which compiles), read from the run's own metrics log, as the Monitor page shows them;
- **step alone**: the same network's ``train_on_batch`` on one batch already on the device;
- **input alone**: the worker threads gathering uint8 batches, with no training;
- **input wait**: the share of an end-to-end batch not explained by the step alone;
- **baseline, the notebook's loop**: its generator (pandas picks a pair, PIL reads, resizes
  and flips both photos, pair by pair; here without its float conversion, since the network
  now takes uint8) feeding ``model.fit``, measured in the same run.

Targets on one H100 at 250 px, batch 400 (``--gpu``): at least 10,000 pairs/s end to end,
input wait under 10 % of the step. On a CPU it prints what it reaches.

    python bench/bench_train.py [--backends tensorflow,jax] [--image-size 64] [--batch-size 32]
    python bench/bench_train.py --gpu      # 250 px, batch 400, 4,000 faces, jax: the GPU check

Exits with 1 when ``--gpu`` misses a target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from facedemo.siamese.runs.lifecycle import trainer_environment

#: Photos per synthetic person (LFW's people with 2+ photos have about 6 on average).
PHOTOS_PER_PERSON = 8

#: GPU targets (issue: the network trains at 10,700 pairs/s on an H100 with data on the GPU).
TARGET_PAIRS_PER_S = 10_000
TARGET_INPUT_WAIT = 0.10

#: Timed calls for the step-alone and input-alone figures, after warm-up calls.
TIMED_STEPS, WARM_UP_STEPS = 20, 3
#: Batches the notebook's loop is timed on, after one warm-up batch.
NOTEBOOK_STEPS = 4


def synthetic_faces(folder: Path, count: int, size: int, seed: int = 0) -> Path:
    """``count`` JPEG "faces" of ``size`` px in one sub-folder per person: each person a
    smooth random pattern, each photo of them that pattern shifted, brightened and noised."""
    rng = np.random.default_rng(seed)
    from PIL import Image

    for index in range(count):
        person = index // PHOTOS_PER_PERSON
        if index % PHOTOS_PER_PERSON == 0:
            coarse = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
            pattern = np.asarray(
                Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC), np.int16
            )
            (folder / f"person_{person:05d}").mkdir(parents=True)
        shifted = np.roll(pattern, rng.integers(-size // 16, size // 16 + 1), axis=1)
        noisy = shifted + rng.normal(rng.normal(0, 12), 10, shifted.shape)
        photo = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        photo.save(folder / f"person_{person:05d}" / f"{index:06d}.jpg", quality=90)
    return folder


def notebook_pairs(paths: list[str], people: list[str], size: int, seed: int) -> Iterator[tuple]:
    """The notebook's generator: pandas picks each pair, PIL reads, resizes and flips."""
    import pandas as pd
    from PIL import Image

    photos = pd.DataFrame({"path": paths, "identity": people})
    rng = np.random.default_rng(seed)
    counts = photos["identity"].value_counts()
    pairable = counts[counts >= 2]

    def read(path: str) -> np.ndarray:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB").resize((size, size)))
        return pixels[:, ::-1] if rng.random() < 0.5 else pixels

    while True:
        if rng.random() < 0.5:
            person = rng.choice(pairable.index, p=pairable / pairable.sum())
            chosen = photos[photos["identity"] == person].sample(2, random_state=rng)["path"]
            first, second, same = *chosen, 1.0
        else:
            first, second = (
                photos[photos["identity"] == who].sample(1, random_state=rng)["path"].iloc[0]
                for who in rng.choice(counts.index, 2, replace=False)
            )
            same = 0.0
        yield read(first), read(second), same


def notebook_batches(dataset, size: int, batch_size: int) -> Iterator[tuple]:
    pairs = notebook_pairs([str(p) for p in dataset.paths], list(dataset.identities), size, 0)
    while True:
        batch = [next(pairs) for _ in range(batch_size)]
        faces = (np.stack([p[0] for p in batch]), np.stack([p[1] for p in batch]))
        yield faces, np.array([[p[2]] for p in batch], np.float32)


def measure_backend(args: argparse.Namespace) -> dict:
    """Every figure for the backend this process runs under (``KERAS_BACKEND``)."""
    import keras

    from facedemo.datasets import load_identity_dataset
    from facedemo.siamese import TrainConfig
    from facedemo.siamese.data import TrainingPairs, load_faces, worker_threads
    from facedemo.siamese.device import detect_device
    from facedemo.siamese.runs import read_metrics
    from facedemo.siamese.train import compiled_model, train

    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    started = time.perf_counter()
    if args.dataset:
        folder = Path(args.dataset)
    else:
        folder = synthetic_faces(work / "faces", args.faces, args.image_size)
    dataset = load_identity_dataset(folder)
    prepared = time.perf_counter() - started
    settings = TrainConfig(
        str(folder),
        "bench",
        image_size=args.image_size,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps,
        epochs=args.epochs,
        patience=args.epochs,
        validation_pairs=args.batch_size,
        test_pairs=args.batch_size,
        devices=args.devices,
        steps_per_execution=args.steps_per_execution,
    )
    device = detect_device(settings.devices, settings.batch_size)

    started = time.perf_counter()
    state = train(settings, work / "runs")
    whole_run = time.perf_counter() - started
    metrics = read_metrics(work / "runs" / "bench")
    epochs = metrics[(metrics["kind"] == "epoch") & (metrics["epoch"] > 1)]
    end_to_end = float(epochs["pairs_per_s"].median())

    faces = load_faces(dataset, args.image_size)
    stream = TrainingPairs(faces, args.batch_size, TIMED_STEPS, seed=1, same_person_probability=0.5)
    with ThreadPoolExecutor(worker_threads()) as pool:
        list(pool.map(stream.__getitem__, range(WARM_UP_STEPS)))
        started = time.perf_counter()
        list(pool.map(stream.__getitem__, range(TIMED_STEPS)))
        input_alone = TIMED_STEPS * args.batch_size / (time.perf_counter() - started)

    model = compiled_model(settings, device)
    (face_a, face_b), same = stream[0]
    on_device = [keras.ops.convert_to_tensor(x) for x in (face_a, face_b, same)]
    for _ in range(WARM_UP_STEPS):
        model.train_on_batch(on_device[:2], on_device[2])
    started = time.perf_counter()
    for _ in range(TIMED_STEPS):
        loss = model.train_on_batch(on_device[:2], on_device[2])
    float(np.asarray(loss[0] if isinstance(loss, list) else loss))  # wait for the device
    step_alone = TIMED_STEPS * args.batch_size / (time.perf_counter() - started)

    notebook = notebook_batches(dataset, args.image_size, args.batch_size)
    model.fit(notebook, steps_per_epoch=1, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(notebook, steps_per_epoch=NOTEBOOK_STEPS, epochs=1, verbose=0)
    baseline = NOTEBOOK_STEPS * args.batch_size / (time.perf_counter() - started)

    batch_seconds = args.batch_size / end_to_end
    step_seconds = args.batch_size / step_alone
    return {
        "backend": device.backend,
        "device": device.label,
        "state": state,
        "photos": len(dataset),
        "people": len(dataset.identity_names),
        "prepare_s": prepared,
        "run_s": whole_run,
        "end_to_end": end_to_end,
        "step_alone": step_alone,
        "input_alone": input_alone,
        "input_wait": max(0.0, batch_seconds - step_seconds) / batch_seconds,
        "notebook": baseline,
        "workers": worker_threads(),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="tensorflow,jax", help="comma-separated")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--faces", type=int, default=800, help="synthetic photos")
    parser.add_argument("--dataset", help="an identity data set folder instead of synthetic faces")
    parser.add_argument("--steps", type=int, default=20, help="batches an epoch")
    parser.add_argument("--epochs", type=int, default=3, help="the first one is not timed")
    parser.add_argument("--devices", default="1", help="'all' or a count")
    parser.add_argument(
        "--steps-per-execution", type=int, default=1, help="batches per call of the compiled step"
    )
    parser.add_argument("--gpu", action="store_true", help="the GPU check: 250 px, batch 400")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.gpu:
        args.image_size, args.batch_size, args.faces, args.steps = 250, 400, 4000, 50
        if args.backends == parser.get_default("backends"):
            args.backends = "jax"
    if args.one:
        print("RESULT " + json.dumps(measure_backend(args)), flush=True)
        return 0

    print(
        f"siamese trainer at {args.image_size} px, batches of {args.batch_size}, "
        f"{args.steps} batches an epoch ({args.steps_per_execution} a call), {args.epochs} epochs "
        "(the first compiles, not timed), "
        f"{os.cpu_count()} cores"
    )
    failed = False
    for backend in args.backends.split(","):
        child = subprocess.run(
            [sys.executable, __file__, "--one", *argv],
            env={**trainer_environment(), "KERAS_BACKEND": backend},
            capture_output=True,
            text=True,
        )
        lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
        if child.returncode or not lines:
            print(f"{backend}: failed\n{child.stdout[-3000:]}{child.stderr[-3000:]}")
            failed = True
            continue
        r = json.loads(lines[-1].removeprefix("RESULT "))
        print(f"\n{backend} on {r['device']}")
        print(
            f"  data: {r['photos']} photos of {r['people']} people, decoded once "
            f"({r['prepare_s']:.1f} s to prepare); whole run {r['run_s']:.1f} s ({r['state']})"
        )
        print(f"  end to end (trainer)   {r['end_to_end']:10,.0f} pairs/s")
        print(f"  step alone             {r['step_alone']:10,.0f} pairs/s (batch on the device)")
        print(
            f"  input alone            {r['input_alone']:10,.0f} pairs/s ({r['workers']} threads)"
        )
        print(f"  input wait             {r['input_wait']:10.1%} of an end-to-end batch")
        ratio = r["end_to_end"] / r["notebook"]
        print(f"  notebook's loop        {r['notebook']:10,.0f} pairs/s   ratio {ratio:.1f}x")
        if args.gpu and (
            r["end_to_end"] < TARGET_PAIRS_PER_S or r["input_wait"] > TARGET_INPUT_WAIT
        ):
            print(
                f"  MISSED: target {TARGET_PAIRS_PER_S:,} pairs/s end to end with input wait "
                f"under {TARGET_INPUT_WAIT:.0%}"
            )
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
