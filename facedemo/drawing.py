"""Face boxes drawn onto photos, so a student sees what the detector found."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from facedemo.faces import Face

USED_COLOUR = (46, 204, 64)
OTHER_COLOUR = (255, 220, 0)


def draw_faces(image: np.ndarray, faces: Sequence[Face], used: int | None = 0) -> np.ndarray:
    """A copy of ``image`` with every face boxed and numbered from 1; the used one in green."""
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    width = max(2, round(max(image.shape[:2]) / 250))
    font = ImageFont.load_default(size=max(12, 6 * width))
    for number, face in enumerate(faces):
        x, y, w, h = face.box
        colour = USED_COLOUR if number == used else OTHER_COLOUR
        draw.rectangle((x, y, x + w, y + h), outline=colour, width=width)
        draw.text((x + width, y + width), str(number + 1), fill=colour, font=font)
    return np.asarray(canvas)
