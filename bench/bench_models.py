"""The offline recognition models side by side on the shared set: separation and speed.

Each engine embeds every photo of the demo set into a fresh (cold) store, after its model
and detector are loaded, and is scored on all same-person and different-person pairs:
AUC, equal error rate (and its threshold), best accuracy (and its threshold), accuracy at
the model's default threshold, the held-out EER threshold (the EER rule chosen on other
people's pairs, median over the folds) and seconds per photo (detect + crop + embed). The
baseline is the default engine (Dlib), measured in the same run.

    python bench/bench_models.py [--engine MODEL/DETECTOR/ALIGNMENT ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facedemo import config, datasets, evaluation, faces
from facedemo.embeddings import EmbeddingStore

ENGINES = (
    "Dlib/opencv/dlib_chip",
    "FaceNet-CASIA/mtcnn/margin",
    "FaceNet-CASIA/opencv/margin",
    "FaceNet-CASIA/opencv/dlib_chip",
)


def measure(dataset: datasets.IdentityDataset, engine: faces.Engine) -> dict:
    faces.prepare(engine)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        study = evaluation.study_dataset(dataset, engine, EmbeddingStore(Path(folder) / "e.db"))
        seconds = time.perf_counter() - started
    eer, d_prime = study.eer, study.analysis.d_prime()
    best = next(s for s in study.suggestions if s.name == "max_accuracy")
    held = next(h for h in study.held_out() if h.name == "eer")
    default = faces.default_threshold(engine.model, engine.metric)
    return {
        "engine": engine.label,
        "auc": study.curves[0].auc,
        "eer": eer.rate,
        "eer_threshold": eer.threshold,
        "d_prime": d_prime,
        "best_accuracy": best.metrics.accuracy,
        "best_threshold": best.threshold,
        "default_threshold": default,
        "default_accuracy": study.analysis.at(default).accuracy,
        "default_far": study.analysis.at(default).far,
        "default_frr": study.analysis.at(default).frr,
        "heldout_eer_threshold": held.metrics.threshold,
        "heldout_eer_spread": held.threshold_spread,
        "seconds_per_photo": seconds / len(dataset),
        "failed": len(study.failed_images),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", action="append", help="MODEL/DETECTOR/ALIGNMENT")
    parser.add_argument("--metric", default="cosine", choices=faces.METRICS)
    args = parser.parse_args()
    dataset = datasets.load_identity_dataset(config.demo_data_dir())
    pairs = datasets.make_pairs(dataset)
    print(f"{dataset.name}: {len(dataset)} photos, {pairs.positives} + {pairs.negatives} pairs")
    rows = []
    for spec in args.engine or ENGINES:
        model, detector, alignment = spec.split("/")
        row = measure(dataset, faces.Engine(model, detector, args.metric, alignment))
        rows.append(row)
        print(
            f"{row['engine']}: AUC {row['auc']:.4f}, EER {row['eer']:.2%} at "
            f"{row['eer_threshold']:.4f} (held out {row['heldout_eer_threshold']:.4f}, "
            f"spread {row['heldout_eer_spread']:.4f}), d' {row['d_prime']:.2f}, best accuracy "
            f"{row['best_accuracy']:.2%} at {row['best_threshold']:.4f}, at the default "
            f"{row['default_threshold']:.4f}: {row['default_accuracy']:.2%} (FAR "
            f"{row['default_far']:.2%}, FRR {row['default_frr']:.2%}); "
            f"{row['seconds_per_photo']:.2f} s/photo "
            f"({row['seconds_per_photo'] / rows[0]['seconds_per_photo']:.2f}x the first); "
            f"{row['failed']} photos without a face",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
