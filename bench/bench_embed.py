"""Embedding throughput: the direct-dlib floor, facedemo on 1 job, on every core, on a Dask
LocalCluster, and DeepFace.represent, all measured in one run, with projections.

Two sets: the shared demo set, and a larger one made from it (flips, crops, scales and
small rotations of the demo photos, written to a temporary folder). Every facedemo figure
fills a fresh (cold) store after its models are loaded and its workers warmed, so it
measures the steady state; the warm-up time (pool start, model loads) is printed apart.
The floor is the same pipeline written directly on dlib and OpenCV (Haar detection at
640 px, 5-point shape, ``compute_face_descriptor``) on one core.

    python bench/bench_embed.py [--large 400] [--represent 60]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image

from facedemo import config, datasets, faces
from facedemo.embeddings import EmbeddingStore

ENGINE = faces.DEFAULT_ENGINE
TARGETS = {  # the targets on a 2-core machine
    "1 job / floor, per photo": ("<=", 1.2),
    "2 jobs / 1 job, photos/s": (">=", 1.8),
    "2-worker Dask / 1 job, photos/s": (">=", 1.6),
}
LFW_PHOTOS = 13_233


def variants(photos: list[Path], count: int, folder: Path) -> list[Path]:
    """``count`` altered copies of ``photos`` (flip, crop, scale, small rotation), as JPEGs."""
    rng = np.random.default_rng(0)
    made = []
    for number in range(count):
        image = Image.open(photos[number % len(photos)]).convert("RGB")
        if rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        width, height = image.size
        keep = rng.uniform(0.85, 1.0)
        left, top = rng.uniform(0, 1 - keep, 2) * (width, height)
        image = image.crop((left, top, left + keep * width, top + keep * height))
        scale = rng.uniform(0.6, 1.1)
        image = image.resize(
            (max(64, round(image.width * scale)), max(64, round(image.height * scale)))
        )
        image = image.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR)
        made.append(folder / f"variant{number:05d}.jpg")
        image.save(made[-1], quality=92)
    return made


def direct_dlib() -> Callable[[list[Path]], None]:
    """The floor: OpenCV's Haar cascade at 640 px, dlib's 5-point shape and ResNet, no facedemo."""
    import cv2
    import dlib

    weights = config.deepface_weights_dir()
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    shape = dlib.shape_predictor(str(weights / "shape_predictor_5_face_landmarks.dat"))
    network = dlib.face_recognition_model_v1(
        str(weights / "dlib_face_recognition_resnet_model_v1.dat")
    )

    def run(paths: list[Path]) -> None:
        for path in paths:
            rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            scale = min(1.0, 640 / max(rgb.shape[:2]))
            gray = cv2.cvtColor(cv2.resize(rgb, None, fx=scale, fy=scale), cv2.COLOR_RGB2GRAY)
            found = cascade.detectMultiScale(gray, 1.1, 10)
            if len(found):
                x, y, w, h = (round(v / scale) for v in max(found, key=lambda b: b[2] * b[3]))
                landmarks = shape(rgb, dlib.rectangle(x, y, x + w, y + h))
                network.compute_face_descriptor(rgb, landmarks)

    return run


def facedemo_run(**where: object) -> Callable[[list[Path]], None]:
    """facedemo's store filled cold (a fresh file each time) with ``jobs`` or ``scheduler``."""

    def run(paths: list[Path]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            EmbeddingStore(Path(folder) / "store.sqlite3").embed_paths(paths, ENGINE, **where)

    return run


def represent(paths: list[Path]) -> None:
    """DeepFace's own way: one ``DeepFace.represent`` per photo."""
    from deepface import DeepFace

    for path in paths:
        DeepFace.represent(
            str(path), model_name="Dlib", detector_backend="opencv", enforce_detection=False
        )


def rate(run: Callable[[list[Path]], None], paths: list[Path]) -> float:
    """Photos per second of one ``run`` over ``paths``."""
    started = time.perf_counter()
    run(paths)
    return len(paths) / (time.perf_counter() - started)


def warmed(name: str, run: Callable[[list[Path]], None], warm_up: list[Path]) -> Callable:
    """``run`` after one call on ``warm_up`` (models loaded, workers started), timed apart."""
    started = time.perf_counter()
    run(warm_up)
    print(f"  warm-up of {name}: {time.perf_counter() - started:.1f} s for {len(warm_up)} photos")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--large", type=int, default=400, help="photos in the larger set")
    parser.add_argument(
        "--represent", type=int, default=60, help="photos of each set DeepFace.represent gets"
    )
    args = parser.parse_args()
    cores = config.embedding_jobs()
    shared = list(datasets.load_identity_dataset(config.demo_data_dir()).paths)
    from distributed import LocalCluster

    with (
        tempfile.TemporaryDirectory() as folder,
        LocalCluster(
            n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
    ):
        large = variants(shared, args.large, Path(folder))
        warm_up = large[-2 * 16 * cores :]  # two batches a worker, never timed
        print(f"{cores} cores; shared set {len(shared)} photos, larger set {len(large)}")
        faces.prepare(ENGINE)
        ways = {
            "direct dlib (floor, 1 core)": warmed("direct dlib", direct_dlib(), warm_up[:4]),
            "facedemo, 1 job": warmed("1 job", facedemo_run(jobs=1), warm_up[:4]),
            f"facedemo, {cores} jobs": warmed(f"{cores} jobs", facedemo_run(jobs=cores), warm_up),
            f"facedemo, Dask {cores} workers": warmed(
                "Dask", facedemo_run(scheduler=cluster.scheduler_address), warm_up
            ),
            "DeepFace.represent": warmed("represent", represent, warm_up[:2]),
        }
        rates: dict[tuple[str, str], float] = {}
        for set_name, paths in (("shared", shared), ("larger", large)):
            for way, run in ways.items():
                subset = paths[: args.represent] if way == "DeepFace.represent" else paths
                rates[way, set_name] = rate(run, subset)

    print(f"\n{'photos/s':<32}{'shared':>10}{'larger':>10}{'ms/photo':>10}  (larger set)")
    for way in ways:
        shared_rate, large_rate = rates[way, "shared"], rates[way, "larger"]
        print(f"{way:<32}{shared_rate:>10.2f}{large_rate:>10.2f}{1000 / large_rate:>10.0f}")

    floor, one, many = (rates[w, "larger"] for w in list(ways)[:3])
    dask = rates[f"facedemo, Dask {cores} workers", "larger"]
    ratios = {
        "1 job / floor, per photo": floor / one,
        f"{cores} jobs / 1 job, photos/s": many / one,
        f"{cores}-worker Dask / 1 job, photos/s": dask / one,
    }
    print("\nratios on the larger set (targets for 2 cores)")
    for (name, value), (sense, target) in zip(ratios.items(), TARGETS.values(), strict=True):
        met = value <= target if sense == "<=" else value >= target
        print(f"  {name:<34}{value:6.2f}  target {sense} {target}  {'met' if met else 'MISSED'}")

    per_core = max(many, dask) / cores
    print(f"\nprojected at {per_core:.2f} photos/s per worker core (best of jobs and Dask here)")
    for photos, label in ((LFW_PHOTOS, "LFW, 13,233 photos"), (1_000_000, "1 M photos")):
        times = ", ".join(
            f"{n} cores {photos / (per_core * n) / 60:.0f} min" for n in (cores, 8, 32, 128)
        )
        print(f"  {label}: {times}")


if __name__ == "__main__":
    main()
