"""The whole threshold study of the shared set against the notebook's way, in one run.

Notebook: ``DeepFace.verify`` on every pair (each image embedded again for every pair).
We time a seeded sample of pairs that way and scale it to all pairs. facedemo: each image
embedded once into a fresh (cold) store, then again with the store warm, end to end from
the data set folder to the analysis with suggestions. Targets: cold at least 100x faster
than per-pair verify, warm under 2 s.

    python bench/bench_explorer.py [--sample-pairs 20]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facedemo import config, datasets, evaluation, faces
from facedemo.embeddings import EmbeddingStore

TARGET_COLD_RATIO = 100.0
TARGET_WARM_SECONDS = 2.0


def notebook_seconds_per_pair(dataset: datasets.IdentityDataset, sample: int) -> float:
    """DeepFace.verify on a seeded sample of the data set's pairs, once warm."""
    from deepface import DeepFace

    pairs = datasets.make_pairs(dataset)
    chosen = random.Random(0).sample(range(len(pairs)), sample)
    verify = {"model_name": "Dlib", "detector_backend": "opencv", "distance_metric": "cosine"}
    DeepFace.verify(str(dataset.paths[0]), str(dataset.paths[1]), **verify)  # load the model
    started = time.perf_counter()
    for index in chosen:
        first, second = dataset.paths[pairs.first[index]], dataset.paths[pairs.second[index]]
        DeepFace.verify(str(first), str(second), enforce_detection=False, **verify)
    return (time.perf_counter() - started) / sample


def timed_study(dataset: datasets.IdentityDataset, store: EmbeddingStore) -> tuple[float, dict]:
    started = time.perf_counter()
    study = evaluation.study_dataset(dataset, faces.DEFAULT_ENGINE, store)
    summary = study.summary()
    return time.perf_counter() - started, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample-pairs", type=int, default=20)
    args = parser.parse_args()
    dataset = datasets.load_identity_dataset(config.demo_data_dir())
    pairs = datasets.make_pairs(dataset)
    print(f"{dataset.name}: {len(dataset)} images, {pairs.positives} + {pairs.negatives} pairs")

    faces.prepare(faces.DEFAULT_ENGINE)  # model loading is not part of either side's cost
    per_pair = notebook_seconds_per_pair(dataset, args.sample_pairs)
    notebook_total = per_pair * len(pairs)
    with tempfile.TemporaryDirectory() as folder:
        store = EmbeddingStore(Path(folder) / "embeddings.sqlite3")
        cold, summary = timed_study(dataset, store)
        warm, _ = timed_study(dataset, store)

    print(
        f"notebook way (DeepFace.verify per pair): {per_pair:.3f} s/pair x {len(pairs)} "
        f"= {notebook_total:8.1f} s (scaled from {args.sample_pairs} pairs)"
    )
    print(f"facedemo, cold store:                    {cold:8.1f} s   {notebook_total / cold:7.0f}x")
    print(f"facedemo, warm store:                    {warm:8.3f} s   {notebook_total / warm:7.0f}x")
    print(
        f"AUC {summary['auc']:.4f}, EER {summary['eer']:.2%}, "
        f"failed images {len(summary['failed_images'])}"
    )
    cold_ok = notebook_total / cold >= TARGET_COLD_RATIO
    warm_ok = warm < TARGET_WARM_SECONDS
    print(
        f"target cold >= {TARGET_COLD_RATIO:.0f}x: {'met' if cold_ok else 'MISSED'}; "
        f"warm < {TARGET_WARM_SECONDS:.0f} s: {'met' if warm_ok else 'MISSED'}"
    )
    return 0 if cold_ok and warm_ok else 1


if __name__ == "__main__":
    sys.exit(main())
