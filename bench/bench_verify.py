"""facedemo's verify against DeepFace.verify on the shared set's labelled pairs, in one run.

Same model, detector and metric on both sides (Dlib, opencv, cosine, DeepFace's pre-tuned
threshold). Prints seconds per pair once warm, the speed ratio, how many decisions agree and
how many are wrong against the labels. Targets: facedemo at least 3x faster per pair with a
cold photo cache, and no more wrong decisions than DeepFace. ``--sweep`` also times detection
sizes (the reason behind ``config.DETECTION_MAX_SIDE``).

    python bench/bench_verify.py [--pairs 100] [--sweep]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facedemo import config, faces

TARGET_RATIO = 3.0


def labelled_pairs(folder: Path, count: int, seed: int = 0) -> list[tuple[Path, Path, bool]]:
    """Upstream's master.csv pairs: its Yes pairs first, then seeded No pairs, ``count`` in all."""
    with (folder / "master.csv").open(newline="") as handle:
        rows = [
            (r["file_x"], r["file_y"], r["Decision"].strip() == "Yes")
            for r in csv.DictReader(handle)
        ]
    same = [r for r in rows if r[2]][:count]
    others = [r for r in rows if not r[2]]
    different = random.Random(seed).sample(others, min(len(others), count - len(same)))
    chosen = same + different
    images = folder / "images"
    return [(images / a, images / b, label) for a, b, label in chosen]


def time_pairs(verify, pairs) -> tuple[float, list[bool]]:
    """Seconds per pair and the decisions of ``verify(path_a, path_b) -> bool``."""
    decisions = []
    started = time.perf_counter()
    for first, second, _ in pairs:
        decisions.append(verify(first, second))
    return (time.perf_counter() - started) / len(pairs), decisions


def deepface_verify(first: Path, second: Path) -> bool:
    from deepface import DeepFace

    result = DeepFace.verify(
        str(first),
        str(second),
        model_name="Dlib",
        detector_backend="opencv",
        distance_metric="cosine",
    )
    return bool(result["verified"])


def facedemo_verify(engine: faces.Engine, cold: bool):
    def run(first: Path, second: Path) -> bool:
        if cold:
            faces.forget_photos()
        return faces.verify(
            first,
            second,
            engine.model,
            engine.detector,
            engine.metric,
            alignment=engine.alignment,
            max_side=engine.max_side,
        ).verified

    return run


def wrong(decisions: list[bool], pairs) -> int:
    return sum(d != label for d, (_, _, label) in zip(decisions, pairs, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=100, help="at most 300 (all)")
    parser.add_argument("--sweep", action="store_true", help="also time detection sizes")
    args = parser.parse_args()
    folder = config.demo_data_dir()
    pairs = labelled_pairs(folder, args.pairs)
    engine = faces.Engine(model="Dlib", detector="opencv", metric="cosine")
    print(f"{len(pairs)} labelled pairs from {folder / 'master.csv'}; engine {engine.label}")

    warm_up = (folder / "images" / "img1.jpg", folder / "images" / "img2.jpg")
    deepface_verify(*warm_up)
    facedemo_verify(engine, cold=True)(*warm_up)

    deepface_seconds, deepface_decisions = time_pairs(deepface_verify, pairs)
    cold_seconds, cold_decisions = time_pairs(facedemo_verify(engine, cold=True), pairs)
    faces.forget_photos()
    cached_seconds, _ = time_pairs(facedemo_verify(engine, cold=False), pairs)

    agree = sum(a == b for a, b in zip(deepface_decisions, cold_decisions, strict=True))
    ratio = deepface_seconds / cold_seconds
    rows = [
        ("DeepFace.verify", deepface_seconds, wrong(deepface_decisions, pairs), ""),
        ("facedemo, cold photos", cold_seconds, wrong(cold_decisions, pairs), f"{ratio:.1f}x"),
        ("facedemo, photo cache", cached_seconds, "", f"{deepface_seconds / cached_seconds:.1f}x"),
    ]
    print(f"{'':24s} {'s/pair':>8s} {'wrong':>6s} {'ratio':>7s}")
    for name, seconds, errors, speedup in rows:
        print(f"{name:24s} {seconds:8.3f} {errors!s:>6s} {speedup:>7s}")
    print("(photo cache: each photo analysed once, as the Verify page and CLI runs reuse them)")
    print(f"decisions agreeing with DeepFace: {agree}/{len(pairs)}")

    if args.sweep:
        print("\ndetection size sweep (facedemo, cold photos):")
        for side in (4096, 1280, 1024, 800, 640, 480):
            sized = faces.Engine(model="Dlib", detector="opencv", metric="cosine", max_side=side)
            seconds, decisions = time_pairs(facedemo_verify(sized, cold=True), pairs)
            print(f"  max side {side:5d}: {seconds:6.3f} s/pair, wrong {wrong(decisions, pairs)}")

    ok = ratio >= TARGET_RATIO and wrong(cold_decisions, pairs) <= wrong(deepface_decisions, pairs)
    verdict = "met" if ok else "MISSED"
    print(f"target: >= {TARGET_RATIO:.0f}x per pair, no more wrong decisions -> {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
