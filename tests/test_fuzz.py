"""Seeded fuzzing of what a user can hand the app: a sentence or a valid result, never more.

Each fuzzer mutates a small valid input (bytes flipped, cut, repeated or replaced by
characters a CSV cares about) a fixed number of times from a fixed seed, so a failure is a
reproducible case: the seed and mutant index are in the assertion.
"""

from __future__ import annotations

import time

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
