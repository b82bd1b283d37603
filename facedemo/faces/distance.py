"""Distances between embeddings, in each metric as DeepFace defines it.

Row-wise for two stacks (:func:`distances`), or for any pairs of indices into one set by
blocks of matrix products (:class:`DistanceTable`), from the same formulas.
"""

from __future__ import annotations

import itertools

import numpy as np

from facedemo.faces.engines import METRICS, check_choice


def distance_from_similarity(similarity: np.ndarray, metric: str) -> np.ndarray:
    """The ``cosine``, ``euclidean_l2`` or ``angular`` distance (float32) of unit vectors
    whose dot product is ``similarity``; plain ``euclidean`` also needs the lengths."""
    similarity = np.clip(similarity, -1.0, 1.0)
    if metric == "cosine":
        return (1.0 - similarity).astype(np.float32)
    if metric == "euclidean_l2":
        return np.sqrt(np.maximum(2.0 - 2.0 * similarity, 0.0)).astype(np.float32)
    return (np.arccos(similarity) / np.pi).astype(np.float32)


def distances(first: np.ndarray, second: np.ndarray, metric: str) -> np.ndarray:
    """Row-wise distances between two stacks of embeddings, as DeepFace defines them."""
    check_choice("metric", metric, METRICS)
    first = np.atleast_2d(np.asarray(first, dtype=np.float64))
    second = np.atleast_2d(np.asarray(second, dtype=np.float64))
    if metric == "euclidean":
        return np.linalg.norm(first - second, axis=1).astype(np.float32)
    first = first / np.linalg.norm(first, axis=1, keepdims=True)
    second = second / np.linalg.norm(second, axis=1, keepdims=True)
    if metric == "euclidean_l2":  # DeepFace's way: the length of the difference
        return np.linalg.norm(first - second, axis=1).astype(np.float32)
    return distance_from_similarity(np.einsum("ij,ij->i", first, second), metric)


class DistanceTable:
    """Distances between any embeddings of one set, as :func:`distances` gives them, looked up
    by pairs of indices: one matrix product per block of rows, instead of gathering two rows
    per pair."""

    #: Most rows of the set multiplied at once (rows × set size float64s per product).
    MAX_ROWS = 1024

    def __init__(self, embeddings: np.ndarray, metric: str) -> None:
        check_choice("metric", metric, METRICS)
        self.metric = metric
        self.embeddings = np.asarray(embeddings, dtype=np.float64)
        norms = np.linalg.norm(self.embeddings, axis=1, keepdims=True)
        self.squared_norms = (self.embeddings**2).sum(axis=1)
        self.unit = self.embeddings / norms

    def lookup(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """float32 distances of the pairs (``first[k]``, ``second[k]``), by blocks of rows of
        the set (pairs not listed row by row are sorted by their first image first)."""
        if len(first) > 1 and np.any(first[1:] < first[:-1]):  # not row by row: sort first
            order = np.argsort(first, kind="stable")
            out = np.empty(len(first), dtype=np.float32)
            out[order] = self.lookup(first[order], second[order])
            return out
        out = np.empty(len(first), dtype=np.float32)
        if len(first) == 0:
            return out
        row_blocks = np.arange(first[0], first[-1] + 1, self.MAX_ROWS)
        bounds = [*np.searchsorted(first, row_blocks), len(first)]
        for start, stop in itertools.pairwise(bounds):
            if stop > start:  # a block of rows no pair starts in (one-photo people) is skipped
                out[start:stop] = self._from_rows(first[start:stop], second[start:stop])
        return out

    def _from_rows(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Distances of pairs whose first images lie within ``MAX_ROWS`` rows."""
        low, high = int(first[0]), int(first[-1]) + 1
        rows = first - low
        if self.metric == "euclidean":
            products = self.embeddings[low:high] @ self.embeddings.T
            squared = self.squared_norms[first] + self.squared_norms[second]
            squared -= 2 * products[rows, second]
            return np.sqrt(np.maximum(squared, 0.0)).astype(np.float32)
        similarity = (self.unit[low:high] @ self.unit.T)[rows, second]
        return distance_from_similarity(similarity, self.metric)
