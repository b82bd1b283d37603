"""Short video clips made of photos, for live video without a person in front of a camera.

The browser tests feed one to Chromium's fake camera and the live benchmark reads one
back: each photo is fitted into a 640×480 frame on grey and sways sideways a little from
frame to frame, as a person in front of a laptop never keeps still. Clips are Y4M files
(a text header, then raw I420 frames), which Chromium reads for
``--use-file-for-fake-video-capture``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

FRAME_SIZE = (640, 480)  # width, height
FRAMES_PER_SECOND = 10

#: Pixels a photo moves to either side over a sway (about 2 s).
SWAY_PIXELS = 12


def photo_frames(
    photo: str | Path, count: int, size: tuple[int, int] = FRAME_SIZE, sway: int = SWAY_PIXELS
) -> list[np.ndarray]:
    """``count`` RGB frames of ``photo`` fitted into ``size`` on grey, swaying sideways."""
    width, height = size
    fitted = ImageOps.pad(Image.open(photo).convert("RGB"), size, color=(128, 128, 128))
    canvas = np.full((height, width + 2 * sway, 3), 128, dtype=np.uint8)
    canvas[:, sway : sway + width] = np.asarray(fitted)
    offsets = (round(sway * (1 + math.sin(2 * math.pi * n / 20))) for n in range(count))
    return [np.ascontiguousarray(canvas[:, left : left + width]) for left in offsets]


def clip_frames(
    photos: Sequence[str | Path], seconds_each: float, fps: int = FRAMES_PER_SECOND
) -> list[np.ndarray]:
    """RGB frames showing each photo in turn for ``seconds_each`` seconds."""
    count = max(1, round(seconds_each * fps))
    return [frame for photo in photos for frame in photo_frames(photo, count)]


def write_y4m(frames: Sequence[np.ndarray], path: Path, fps: int = FRAMES_PER_SECOND) -> Path:
    """Write RGB frames (all one size, even sides) as a 4:2:0 Y4M clip at ``fps``."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as clip:
        clip.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            clip.write(b"FRAME\n")
            clip.write(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def read_y4m(path: Path) -> Iterator[np.ndarray]:
    """The frames of a 4:2:0 Y4M clip, as RGB uint8 arrays."""
    with path.open("rb") as clip:
        header = clip.readline().split()
        if not header or header[0] != b"YUV4MPEG2":
            raise ValueError(f"{path} is not a Y4M clip")
        fields = {item[:1]: item[1:] for item in header[1:]}
        width, height = int(fields[b"W"]), int(fields[b"H"])
        frame_bytes = width * height * 3 // 2
        while clip.readline().startswith(b"FRAME"):
            planes = np.frombuffer(clip.read(frame_bytes), dtype=np.uint8)
            if planes.size < frame_bytes:
                return
            yield cv2.cvtColor(planes.reshape(height * 3 // 2, width), cv2.COLOR_YUV2RGB_I420)
