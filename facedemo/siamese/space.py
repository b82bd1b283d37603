"""Where the siamese tower puts faces, epoch by epoch: one fixed 2-D map and a separation number.

The trainer keeps the tower's outputs (the 500 values each face becomes) for the same
handful of validation faces after every epoch (space.npz, ``runs.EpochSpace``): people it
never trains on, so the picture shows what it learnt about faces in general. Here they
become what the Monitor page draws:

- one PCA projection, fitted **once on every epoch's outputs together**, so every epoch
  is drawn on the same two axes and a frame moves only because the network changed.
  Fitting each epoch on its own would turn and flip the axes from frame to frame; fitting
  on the last epoch alone would show early epochs along directions that matter only at
  the end (and refit each time an epoch is added while it trains). Pooled, the axes are
  the directions along which the faces vary most over the whole run. Before the fit each
  epoch is centred on its faces' mean and scaled to unit spread (a shift and a zoom, the
  same for all its faces, so their distances keep their proportions): the outputs' spread
  grows six-hundredfold while the CPU demo trains (0.04 to 25), and
  without this the untrained epochs would be one dot and the axes would follow that
  growth, not the people;
- per epoch, the mean distance between two photos of one person over the mean distance
  between photos of two different people, measured in the tower's full space (not on the
  2-D map, which loses most of it): near 1 the people are mixed; the lower, the more each
  person's photos gather apart from the others'. A ratio, so the outputs' overall scale,
  which grows as the network trains, does not move it.

Nothing here loads Keras: the page imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from facedemo.siamese.runs.layout import EpochSpace

#: The faces space.npz follows: up to this many validation people, and this many photos
#: of each (a few dozen faces: a forward pass of them costs next to nothing per epoch).
SPACE_PEOPLE = 8
SPACE_PHOTOS = 6


def separation(outputs: np.ndarray, people: np.ndarray) -> float:
    """Mean distance between photos of one person over mean distance between photos of
    different people (``outputs``: faces × features); NaN without both kinds of pair or when
    every face lies on one point."""
    differences = outputs[:, None, :].astype(np.float64) - outputs[None, :, :]
    distances = np.sqrt((differences**2).sum(axis=-1))
    same = people[:, None] == people[None, :]
    pairs = np.triu(np.ones_like(same), k=1)
    within, between = distances[same & pairs], distances[~same & pairs]
    if not len(within) or not len(between) or between.mean() == 0:
        return float("nan")
    return float(within.mean() / between.mean())


@dataclass(frozen=True)
class SpaceMap:
    """Every epoch's faces on one PCA plane: ``points[k, i]`` is face ``i`` after epoch
    ``epochs[k]``; ``axes`` (2 × features) and ``centre`` are the projection of the
    ``normalised`` outputs, fitted once; ``explained`` is the share of their variance each
    axis keeps."""

    epochs: np.ndarray
    points: np.ndarray  # (epochs, faces, 2) float32
    people: np.ndarray
    files: np.ndarray
    separation: np.ndarray  # (epochs,) float32, see ``separation``
    centre: np.ndarray
    axes: np.ndarray
    explained: np.ndarray  # (2,)


def normalised(outputs: np.ndarray) -> np.ndarray:
    """Each epoch's outputs (epochs × faces × features) shifted to their mean and divided by
    their root-mean-square distance from it (an epoch whose faces coincide is left at 0)."""
    centred = outputs.astype(np.float64) - outputs.mean(axis=1, keepdims=True)
    spread = np.sqrt((centred**2).sum(axis=-1).mean(axis=-1))
    return centred / np.where(spread > 0, spread, 1.0)[:, None, None]


def space_map(space: EpochSpace) -> SpaceMap:
    """``space`` on one PCA plane fitted to all its epochs' outputs together, each epoch
    ``normalised`` first."""
    epochs, faces, features = space.outputs.shape
    pooled = normalised(space.outputs).reshape(epochs * faces, features)
    components = min(2, *pooled.shape)
    pca = PCA(n_components=components, svd_solver="full").fit(pooled)
    axes = np.zeros((2, features))
    axes[:components] = pca.components_
    centre = pca.mean_
    points = (normalised(space.outputs) - centre) @ axes.T
    explained = np.zeros(2)
    explained[:components] = np.nan_to_num(pca.explained_variance_ratio_)
    return SpaceMap(
        epochs=space.epochs,
        points=points.astype(np.float32),
        people=space.people,
        files=space.files,
        separation=np.array(
            [separation(outputs, space.people) for outputs in space.outputs], dtype=np.float32
        ),
        centre=centre,
        axes=axes,
        explained=explained,
    )


def missing_space_note(epochs_done: int, alive: bool) -> str | None:
    """What the monitor says of a run without space.npz: it predates it (it has epochs), the
    map comes shortly (it is starting), or nothing (it ended before training)."""
    if epochs_done > 0:
        return (
            "This run predates the map of the network's space: facedemo now records it every "
            "epoch, so a new run shows its people separate as it trains."
        )
    if alive:
        return "The map of the network's space appears once training starts."
    return None
