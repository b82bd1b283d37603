"""The occlusion map as a picture (the CLI's ``--out map.png``), drawn with Pillow alone.

Each aligned face with its map blended over it in the map's colours (see
:mod:`facedemo.plots.explain`), side by side, with a strip under them from orange (pushed
apart) to purple (pulled together). No browser or kaleido needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from facedemo.explain.occlusion import Explanation
from facedemo.files import atomic_file
from facedemo.plots.explain import MAP_OPACITY, map_colours, map_scale

#: Side each face is drawn at, in pixels.
FACE_SIDE = 300
GAP = 12
STRIP = 36


def overlay(crop: np.ndarray, face_map: np.ndarray, reach: float) -> np.ndarray:
    """``crop`` (RGB uint8) with ``face_map``'s colours over it, FACE_SIDE square: a cell is
    the more opaque (up to MAP_OPACITY) the more greying it moved the distance, so cells
    that changed nothing show the face as it is."""
    side = (FACE_SIDE, FACE_SIDE)
    face = np.asarray(Image.fromarray(crop).resize(side, Image.Resampling.BILINEAR), float)
    colours = Image.fromarray(map_colours(face_map, reach)).resize(side, Image.Resampling.NEAREST)
    weight = np.clip(np.abs(face_map) / reach, 0, 1).astype(np.float32) * MAP_OPACITY
    alpha = np.asarray(Image.fromarray(weight).resize(side, Image.Resampling.NEAREST))[..., None]
    blended = face * (1 - alpha) + np.asarray(colours, float) * alpha
    return blended.round().astype(np.uint8)


def pair_picture(explanation: Explanation) -> np.ndarray:
    """Both faces with their maps, and the colour strip with its two words, as RGB uint8."""
    reach = map_scale(explanation.maps)
    width = 2 * FACE_SIDE + GAP
    canvas = Image.new("RGB", (width, FACE_SIDE + STRIP), "white")
    for k, (crop, face_map) in enumerate(zip(explanation.crops, explanation.maps, strict=True)):
        canvas.paste(Image.fromarray(overlay(crop, face_map, reach)), (k * (FACE_SIDE + GAP), 0))
    strip = map_colours(np.linspace(-reach, reach, width)[np.newaxis, :], reach)
    canvas.paste(Image.fromarray(np.repeat(strip, 8, axis=0)), (0, FACE_SIDE + 4))
    draw = ImageDraw.Draw(canvas)
    draw.text((2, FACE_SIDE + 14), f"pushed apart ({-reach:+.3f})", fill="black")
    label = f"pulled together ({reach:+.3f})"
    draw.text((width - 2 - draw.textlength(label), FACE_SIDE + 14), label, fill="black")
    return np.asarray(canvas)


def write_png(explanation: Explanation, path: str | Path) -> Path:
    """Write :func:`pair_picture` as a PNG at ``path`` (atomically); returns the path."""
    with atomic_file(Path(path)) as out:
        Image.fromarray(pair_picture(explanation)).save(out, "PNG")
    return Path(path)
