"""What the model sees: why two faces match or not, and where faces live in its space.

- ``occlusion``: :func:`explain_faces`, :func:`explain_photos` → :class:`Explanation`, an
  occlusion similarity map of a pair (coarse to fine, batched) with its deletion check
- ``picture``: the map blended over the aligned faces as an RGB picture (the CLI's PNG)
- ``space``: :func:`gallery_map` → :class:`GalleryMap`, a gallery's embeddings in two
  dimensions (PCA or t-SNE) with a probe, its threshold neighbourhood and the map's
  trustworthiness
- ``cli``: the ``explain`` and ``map`` sub-commands of ``python -m facedemo``
"""

from __future__ import annotations

from facedemo.explain.occlusion import (
    CHECK_FAILED,
    CHECK_PASSED,
    DEFAULT_SETTINGS,
    HOW_TO_READ,
    PASS_BUDGET,
    DeletionCheck,
    Explanation,
    OcclusionSettings,
    cached_explanation,
    explain_faces,
    explain_photos,
    forget_explanations,
    greyed,
)
from facedemo.explain.space import (
    MAP_PHOTOS,
    METHODS,
    GalleryMap,
    dataset_map,
    gallery_map,
    identification_map,
)

__all__ = [
    "CHECK_FAILED",
    "CHECK_PASSED",
    "DEFAULT_SETTINGS",
    "HOW_TO_READ",
    "MAP_PHOTOS",
    "METHODS",
    "PASS_BUDGET",
    "DeletionCheck",
    "Explanation",
    "GalleryMap",
    "OcclusionSettings",
    "cached_explanation",
    "dataset_map",
    "explain_faces",
    "explain_photos",
    "forget_explanations",
    "gallery_map",
    "greyed",
    "identification_map",
]
