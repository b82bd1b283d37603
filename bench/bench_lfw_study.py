"""An LFW-size threshold study from given embeddings: pairs, distances, analysis.

13,233 synthetic 128-value embeddings of 5,749 people with LFW's photo counts (1,680 people
with two or more photos, the rest with one): every same-person pair and all 87.5 M
different-person pairs, as the explorer builds a study once the embeddings are stored. It
times each step and the peak memory, and compares the distances with the pair-by-pair
gather (two rows per pair, then a row-wise product) that the study used before, timed in
the same run on the first ``--gather-pairs`` pairs and scaled to all of them (it is linear).

    python bench/bench_lfw_study.py [--metric cosine] [--gather-pairs 5000000]

Target: the whole study in at most 20 s on 2 cores and at most 4 GB. Exits 1 when missed.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from facedemo import faces, thresholds
from facedemo.datasets import IdentityDataset, make_pairs
from facedemo.evaluation import pair_distances

PHOTOS, PEOPLE, PAIRABLE_PEOPLE = 13_233, 5_749, 1_680
TARGET_SECONDS, TARGET_GB = 20.0, 4.0


def lfw_like_dataset(seed: int = 0) -> IdentityDataset:
    """5,749 people, 13,233 photos: 4,069 people with one photo and 1,680 with two or more,
    sharing the rest in a long tail as LFW does (a few people with hundreds of photos)."""
    rng = np.random.default_rng(seed)
    singles = PEOPLE - PAIRABLE_PEOPLE
    weights = rng.zipf(1.9, PAIRABLE_PEOPLE).clip(1, 500).astype(float)
    spare = PHOTOS - singles - 2 * PAIRABLE_PEOPLE
    tail = 2 + rng.multinomial(spare, weights / weights.sum())
    counts = np.concatenate([tail, np.ones(singles, dtype=int)])
    identities = tuple(f"person_{p:04d}" for p, n in enumerate(counts) for _ in range(n))
    paths = tuple(Path(f"{i}.jpg") for i in range(len(identities)))
    return IdentityDataset("LFW-size (synthetic)", Path("."), paths, identities)


def gather_distances(embeddings: np.ndarray, first: np.ndarray, second: np.ndarray, metric: str):
    """The previous way: gather both rows of every pair, then a row-wise distance."""
    out = np.empty(len(first), dtype=np.float32)
    chunk = 1 << 18
    for start in range(0, len(first), chunk):
        stop = start + chunk
        out[start:stop] = faces.distances(
            embeddings[first[start:stop]], embeddings[second[start:stop]], metric
        )
    return out


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--metric", default="cosine", choices=faces.METRICS)
    parser.add_argument("--gather-pairs", type=int, default=5_000_000)
    args = parser.parse_args(argv)

    dataset = lfw_like_dataset()
    labels = dataset.labels
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(labels.max() + 1, 128))
    embeddings = (centres[labels] + 1.0 * rng.normal(size=(len(labels), 128))).astype(np.float32)
    print(f"{dataset.name}: {len(dataset):,} photos of {len(dataset.identity_names):,} people")

    started = time.perf_counter()
    pairs = make_pairs(dataset)
    made = time.perf_counter() - started
    print(f"  pairs        {made:6.1f} s   {pairs.positives:,} same, {pairs.negatives:,} different")

    started = time.perf_counter()
    distances = pair_distances(embeddings, pairs, args.metric)
    measured = time.perf_counter() - started
    print(f"  distances    {measured:6.1f} s   ({args.metric}, blocks of one matrix product)")

    started = time.perf_counter()
    analysis = thresholds.analyse(distances, pairs.same)
    analysed = time.perf_counter() - started
    print(f"  analysis     {analysed:6.1f} s   (sorted once)")

    started = time.perf_counter()
    roc, _, _ = analysis.roc(), analysis.det(), analysis.pr()
    best_f1 = next(s for s in analysis.suggestions() if s.name == "max_f1")
    curves = time.perf_counter() - started
    print(
        f"  curves, suggestions {curves:4.1f} s   AUC {roc.auc:.4f}, max F1 "
        f"{best_f1.metrics.f1:.4f} at {best_f1.threshold:.4f}"
    )

    started = time.perf_counter()
    for threshold in np.linspace(0.2, 0.8, 1000):
        analysis.at(float(threshold))
    move_ms = time.perf_counter() - started  # 1,000 moves: the seconds in all are ms each
    total = made + measured + analysed + curves
    print(f"  slider move  {move_ms:6.3f} ms  (mean of 1,000)")
    print(f"  whole study  {total:6.1f} s   peak memory {peak_gb():.1f} GB")

    count = min(args.gather_pairs, len(pairs))
    started = time.perf_counter()
    old = gather_distances(embeddings, pairs.first[-count:], pairs.second[-count:], args.metric)
    gathered = (time.perf_counter() - started) * len(pairs) / count
    agree = np.abs(old - distances[-count:]).max()
    print(
        f"  pair-by-pair gather, the previous way: {gathered:.0f} s for all pairs "
        f"(timed on {count:,}); ratio {gathered / measured:.0f}x; largest difference {agree:.1e}"
    )
    if total > TARGET_SECONDS or peak_gb() > TARGET_GB:
        print(f"MISSED: target {TARGET_SECONDS:.0f} s and {TARGET_GB:.0f} GB")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
