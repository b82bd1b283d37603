"""Face boxes drawn onto photos and video frames, so a student sees what the detector found."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from facedemo.faces import Face

if TYPE_CHECKING:
    from facedemo.live import LiveFace

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


@functools.cache
def _label_font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def draw_live_faces(frame: np.ndarray, faces: Sequence[LiveFace]) -> np.ndarray:
    """A copy of a video frame with each face boxed and labelled: green for a match."""
    if not faces:
        return frame
    canvas = Image.fromarray(frame)
    draw = ImageDraw.Draw(canvas)
    width = max(2, round(max(frame.shape[:2]) / 250))
    font = _label_font(max(14, 7 * width))
    for face in faces:
        x, y, w, h = face.box
        colour = USED_COLOUR if face.label.match else OTHER_COLOUR
        draw.rectangle((x, y, x + w, y + h), outline=colour, width=width)
        text = face.label.text
        if face.label.distance is not None:
            text += f" {face.label.distance:.3f}"
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        top = max(0, y - (bottom - top) - 2 * width)
        draw.rectangle((x, top, x + right - left + 2 * width, y), fill=colour)
        draw.text((x + width, top + width // 2), text, fill=(0, 0, 0), font=font)
    return np.asarray(canvas)
