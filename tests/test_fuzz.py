"""Seeded fuzzing of what a user can hand the app: a sentence or a valid result, never more.

Each fuzzer mutates a small valid input (bytes flipped, cut, repeated or replaced by
characters a CSV cares about) a fixed number of times from a fixed seed, so a failure is a
reproducible case: the seed and mutant index are in the assertion.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from facedemo import datasets, evaluation
from facedemo.errors import FaceDemoError

#: Mutants per fuzzer and the most seconds one input may take.
MUTANTS = 300
SECONDS_PER_INPUT = 10.0  # a hang, not a slow machine: the work is milliseconds
#: Bytes a mutation likes to insert: CSV structure, numbers that are not finite, odd text.
SPICE = [b",", b"\n", b'"', b"nan", b"inf", b"-inf", b"1e39", b"\x00", b"\xff\xfe", b"Yes", b"No"]


def mutants(valid: bytes, seed: int, count: int = MUTANTS):
    """``count`` seeded variations of ``valid``: flips, cuts, repeats and inserted spice."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        data = bytearray(valid)
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(0, max(1, len(data))))
            kind = int(rng.integers(0, 5))
            if kind == 0 and data:
                data[at % len(data)] ^= 1 << int(rng.integers(0, 8))
            elif kind == 1:
                del data[at : at + int(rng.integers(1, 20))]
            elif kind == 2:
                data[at:at] = data[at : at + int(rng.integers(1, 40))]
            else:
                data[at:at] = SPICE[int(rng.integers(0, len(SPICE)))]
        yield index, bytes(data)


def pairs_csv() -> bytes:
    rows = ["file_x,file_y,decision,distance,similarity"]
    rng = np.random.default_rng(0)
    for k in range(30):
        same = k % 3 == 0
        distance = rng.uniform(0.1, 0.4) if same else rng.uniform(0.5, 0.9)
        rows.append(
            f"p{k}.jpg,q{k}.jpg,{'Yes' if same else 'No'},{distance:.4f},{1 - distance:.4f}"
        )
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("seed", [1, 2])
def test_pairs_csv_mutants_give_a_sentence_or_a_study(seed: int) -> None:
    studied = refused = 0
    for index, data in mutants(pairs_csv(), seed):
        started = time.perf_counter()
        try:
            table = datasets.load_pairs_csv(data)
            for column in table.distance_columns:
                study = evaluation.study_pairs_table(table, column)
                assert np.isfinite(study.distances).all(), (seed, index)
                assert study.eer.low <= study.eer.rate <= study.eer.high
                assert study.suggestions and study.operating_points
            studied += 1
        except FaceDemoError as error:
            assert str(error).strip(), (seed, index)
            refused += 1
        except Exception as error:  # pragma: no cover - the failure this test exists for
            pytest.fail(f"mutant {index} of seed {seed}: {type(error).__name__}: {error!r}")
        assert time.perf_counter() - started < SECONDS_PER_INPUT, (seed, index)
    assert studied and refused  # the mutations reach both outcomes


def read_as_the_monitor_does(run_dir: Path, status) -> None:
    """Every reader the Training monitor, Verify and ``evaluate`` call on a run."""
    from facedemo.siamese import runs

    settings = runs.read_settings(run_dir)
    runs.training_over(run_dir, settings)
    runs.resume_would(run_dir, settings)
    metrics = runs.read_metrics(run_dir)
    runs.epoch_table(metrics, status.best_epoch)
    runs.progress(status, settings, metrics)
    runs.describe_device(run_dir, metrics)
    runs.describe_engine(run_dir)
    runs.read_split(run_dir)
    runs.trained_on_warning(run_dir, ["Angelina_Jolie"])
    evaluation = runs.read_eval(run_dir)
    if evaluation is not None:
        runs.test_pair_counts(evaluation)
        runs.available_test_pairs(evaluation)
        runs.no_better_than_chance(evaluation)
        if evaluation["auc"] is not None:
            from facedemo.siamese.plots import roc_figure

            roc_figure(evaluation["roc"], evaluation["auc"])


def test_run_file_mutants_give_a_sentence_or_a_listed_run(tmp_path: Path) -> None:
    from siamese_support import fake_run, tiny_run

    from facedemo.siamese import runs

    source, _ = tiny_run()  # a real finished run: every file the trainer writes
    names = ["status.json", "config.json", "eval.json", "metrics.jsonl", "checkpoints/state.json"]
    for file_index, name in enumerate(names):
        valid = (source / name).read_bytes()
        for index, data in mutants(valid, seed=10 + file_index, count=60):
            run_dir = tmp_path / f"m{file_index}-{index}"
            shutil.copytree(source, run_dir, ignore=shutil.ignore_patterns("*.keras", "*.npz"))
            (run_dir / name).write_bytes(data)
            started = time.perf_counter()
            try:
                status = runs.read_status(run_dir)
                assert status.state in runs.STATES | {runs.UNREADABLE}, (name, index)
                read_as_the_monitor_does(run_dir, status)
            except FaceDemoError as error:
                assert str(error).strip(), (name, index)
            except Exception as error:  # pragma: no cover - the failure this test exists for
                pytest.fail(f"{name} mutant {index}: {type(error).__name__}: {error!r}")
            assert time.perf_counter() - started < SECONDS_PER_INPUT, (name, index)
            shutil.rmtree(run_dir)
    fake_run(tmp_path, "alive")  # beside the mutants' leftovers, listing still works
    assert [run.run_id for run in runs.list_runs(tmp_path)] == ["alive"]


def test_identities_csv_mutants_give_a_sentence_or_a_dataset(
    tmp_path: Path, shared_data: Path
) -> None:
    folder = tmp_path / "faces"
    shutil.copytree(shared_data / "images", folder / "images")
    valid = (shared_data / "identities.csv").read_bytes()
    loaded = refused = 0
    for index, data in mutants(valid, seed=7, count=200):
        (folder / "identities.csv").write_bytes(data)
        try:
            dataset = datasets.load_identity_dataset(folder)
            assert len(dataset.paths) == len(set(dataset.paths)), index  # one file, one person
            loaded += 1
        except FaceDemoError as error:
            assert str(error).strip(), index
            refused += 1
        except Exception as error:  # pragma: no cover - the failure this test exists for
            pytest.fail(f"identities.csv mutant {index}: {type(error).__name__}: {error!r}")
    assert loaded and refused
