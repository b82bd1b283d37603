"""What a run shows besides its logs: pictures of pairs, and its test once it has one.

preview.npz (training pairs as the network sees them) is written when training
starts; space.npz (the tower's outputs for a few validation faces) then and after every
epoch; eval.json (test ROC, AUC, accuracy, confusion matrix), misclassified.npz
and test_pairs.csv when the best checkpoint has been tested.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from facedemo.errors import RunError
from facedemo.siamese.runs.layout import EpochSpace, PairImages, RunLayout, read_record
from facedemo.siamese.runs.schema import (
    EVAL_OPTIONAL,
    EVAL_REQUIRED,
    checked_eval,
    checked_space,
)
from facedemo.siamese.runs.status import list_runs

#: Standard errors above 0.5 a test AUC must reach to count as better than guessing.
CHANCE_STANDARD_ERRORS = 2


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of the .npz archive at ``path``; a file that is no such archive (a bare
    .npy array, say) is a ValueError, as a damaged one is."""
    loaded = np.load(path, allow_pickle=False)
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError("a single array, not an archive of named arrays")
    with loaded:
        return {name: loaded[name] for name in loaded.files}


def read_pairs(path: Path) -> PairImages | None:
    """A ``PairImages`` file of a run (``RunLayout.preview`` / ``.misclassified``), if written."""
    try:
        return PairImages(**_npz_arrays(path))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise RunError(f"{path} cannot be read ({error}).") from None


def read_preview(run_dir: Path) -> PairImages | None:
    """A few training pairs as the network sees them, once training has started."""
    return read_pairs(RunLayout(run_dir).preview)


def read_misclassified(run_dir: Path) -> PairImages | None:
    """The test pairs the best checkpoint got most wrong, once it has been tested."""
    return read_pairs(RunLayout(run_dir).misclassified)


def read_space(run_dir: Path) -> EpochSpace | None:
    """The tower's outputs for the run's fixed validation faces, epoch by epoch: None before
    the run writes them (and for runs written before facedemo kept them), a RunError naming
    the file and its fault when it is damaged."""
    path = RunLayout(run_dir).space
    try:
        loaded = _npz_arrays(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
        raise RunError(
            f"{path.parent.name}/{path.name} cannot be read as the arrays facedemo writes: the "
            "file is damaged."
        ) from None
    return EpochSpace(**checked_space(loaded, path))


def read_eval(run_dir: Path) -> dict[str, Any] | None:
    """eval.json (test ROC points, AUC, accuracy, confusion matrix), once the run has one."""
    path = RunLayout(run_dir).eval
    evaluation = read_record(path, EVAL_REQUIRED, EVAL_OPTIONAL)
    return None if evaluation is None else checked_eval(evaluation, path)


def test_pair_counts(evaluation: dict[str, Any]) -> tuple[int, int]:
    """The distinct same-person and different-person test pairs of eval.json: its confusion
    matrix's rows, each pair once. Runs written before the test took every distinct pair
    drew pairs with replacement: their ``distinct_pairs`` counts each once (runs older still
    count every pair drawn, repeats included)."""
    if "distinct_pairs" in evaluation:
        distinct = evaluation["distinct_pairs"]
        return distinct["same"], distinct["different"]
    (tn, fp), (fn, tp) = evaluation["confusion_matrix"]
    return fn + tp, tn + fp


def available_test_pairs(evaluation: dict[str, Any]) -> int | None:
    """How many distinct pairs the test people's photos give: the test scores them all, or a
    sample of the run's ``test_pairs`` when there are more; None for runs written before."""
    available = evaluation.get("all_pairs")
    return None if available is None else available["same"] + available["different"]


def no_better_than_chance(evaluation: dict[str, Any]) -> bool:
    """Whether eval.json's test AUC lies within two standard errors of a guessing model's 0.5.

    A model that guesses has an AUC whose variance is (P + N + 1) / (12 P N) for P
    same-person and N different-person pairs (the Mann-Whitney statistic under the null
    hypothesis), so on the CPU demo's 78 test pairs (26 same-person) anything below about
    0.64 may be luck; in runs that drew test pairs with replacement, a repeat counts once.
    """
    positives, negatives = test_pair_counts(evaluation)
    if evaluation.get("auc") is None or not positives or not negatives:
        return False
    error = math.sqrt((positives + negatives + 1) / (12 * positives * negatives))
    return evaluation["auc"] - 0.5 < CHANCE_STANDARD_ERRORS * error


#: How test_pairs.csv's scores read: probabilities of "same person", so higher means same.
TEST_PAIRS_SCORES = "higher"


def runs_with_test_pairs(runs_dir: str | Path) -> list[Path]:
    """Test-pair files of the runs that finished testing, newest run first."""
    paths = [RunLayout(status.run_dir).test_pairs for status in list_runs(runs_dir)]
    return [path for path in paths if path.is_file()]
