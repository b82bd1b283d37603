"""Photos in, upright RGB arrays out: decoding, EXIF orientation, size limits.

Uploads, paths, file objects and arrays all end as an RGB uint8 array (H, W, 3).
Anything a user can get wrong raises ImageError with a sentence saying what is
wrong and what to do; raw Pillow and OS errors never escape for user input.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import struct
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from facedemo.errors import ImageError

MAX_BYTES = 25_000_000
"""Largest file we read; phone photos are 2-12 MB."""

MAX_PIXELS = 50_000_000
"""Largest pixel count we decode, checked from the header (a decoded 50 MP photo is ~150 MB)."""

MIN_SIDE = 32
"""Smallest side in pixels; below it no detector finds a face."""

SUPPORTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WebP", "BMP", "TIFF", "GIF")
"""Human names of the formats we accept (GIF: its first frame)."""

# Pillow's identifiers for SUPPORTED_FORMATS. Only these plugins may claim a file:
# Pillow's lenient ones (TGA, ...) would otherwise "recognise" random bytes.
_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")
#: The formats as a sentence lists them: "JPEG, PNG, WebP, BMP, TIFF or GIF".
FORMAT_LIST = ", ".join(SUPPORTED_FORMATS[:-1]) + " or " + SUPPORTED_FORMATS[-1]
_CHOOSE_PHOTO = f"Choose a photo saved as {FORMAT_LIST}."

# What Pillow raises while parsing or decoding a damaged file (found by fuzzing).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)

# ISO-BMFF brands (bytes 8-12, after "ftyp") of HEIC / HEIF / AVIF photos.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def load_image(
    source: bytes | bytearray | str | os.PathLike[str] | BinaryIO | np.ndarray,
    name: str | None = None,
) -> np.ndarray:
    """Decode a photo (bytes, path, binary file object or array) to an upright RGB uint8 array.

    ``name`` (e.g. the upload's file name) is used in error messages; paths and
    file objects with a ``.name`` supply their own.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source)
    if isinstance(source, (bytes, bytearray)):
        data = source
    elif isinstance(source, (str, os.PathLike)):
        name = name or os.fspath(source)
        data = read_photo_file(source, name)
    elif hasattr(source, "read"):
        stream_name = getattr(source, "name", None)
        name = name or (stream_name if isinstance(stream_name, str) else None)
        data = _read_stream(source, name)
    else:
        raise TypeError(
            f"load_image takes bytes, a path, a binary file or an array, not {source!r}"
        )
    return _decode(data, name)


def downscale(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """Shrink so the longer side is at most ``max_side``; return (image, scale applied).

    Never enlarges: an image already small enough comes back as is with scale 1.0.
    Divide coordinates found on the result by the scale to map them back.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # OpenCV's area averaging: alias-free when shrinking, and 4x faster than Pillow's
    # Lanczos on a phone photo (8 ms against 33 ms), which counts on every verify.
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` at exactly ``width`` × ``height`` (aspect not kept): area averaging when
    shrinking, as :func:`downscale` does, bilinear when enlarging."""
    shrinking = width * height < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(image), (width, height), interpolation=interpolation)


def square_thumbnail(image: np.ndarray, side: int) -> np.ndarray:
    """A ``side``-pixel square from the image's centre, so a grid of photos lines up."""
    fitted = ImageOps.fit(Image.fromarray(image), (side, side), Image.Resampling.LANCZOS)
    return np.asarray(fitted)


def _called(name: str | None) -> str:
    """How messages refer to the input: by its name when we know it."""
    return f"'{name}'" if name else "This file"


def _check_byte_count(count: int, name: str | None) -> None:
    if count > MAX_BYTES:
        raise ImageError(
            f"{_called(name)} is larger than the {MAX_BYTES // 1_000_000} MB we accept. "
            "Save a smaller copy (e.g. as JPEG, or resized) and try again."
        )


def _check_dimensions(width: int, height: int, subject: str) -> None:
    """Reject absurd pixel counts (decompression bombs) and images too small to hold a face."""
    if width * height > MAX_PIXELS:
        raise ImageError(_too_many_pixels(subject, f"{width}×{height} pixels, "))
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            f"{subject} is only {width}×{height} pixels: too small to contain a face we "
            f"can recognise. Use a photo at least {MIN_SIDE} pixels on each side."
        )


def _too_many_pixels(subject: str, size: str = "") -> str:
    return (
        f"{subject} has too many pixels ({size}over the {MAX_PIXELS // 1_000_000} "
        "megapixel limit) to open safely. Resize it, e.g. to 4000 pixels on the long side."
    )


def read_photo_file(path: str | os.PathLike[str], name: str | None = None) -> bytes:
    """The bytes of the regular file at ``path`` (at most :data:`MAX_BYTES`), or ImageError.

    Checked before opening, because opening a named pipe waits for a writer and a
    device such as /dev/zero never ends; the descriptor is opened non-blocking and
    checked again, in case the path was swapped in between. ``name`` (default: the
    path) is how messages refer to the file.
    """
    name = name or os.fspath(path)
    try:
        _check_regular_file(os.stat(path).st_mode, name)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as handle:
            status = os.fstat(handle.fileno())
            _check_regular_file(status.st_mode, name)
            _check_byte_count(status.st_size, name)  # before reading a huge file at all
            data = _read_stream(handle, name)
        _check_byte_count(len(data), name)  # it grew while we read
        return data
    except FileNotFoundError:
        raise ImageError(
            f"There is no file at '{name}'. Check the path and its spelling."
        ) from None
    except OSError as error:  # permissions, a symbolic link loop, a name too long, ...
        raise ImageError(
            f"'{name}' could not be read ({error.strerror or error}). "
            "Check that the file exists and that you may open it."
        ) from None


def _check_regular_file(mode: int, name: str | None) -> None:
    """Refuse folders, pipes, devices and sockets: only a regular file can be a photo."""
    if stat.S_ISDIR(mode):
        raise ImageError(f"'{name}' is a folder, not a photo. Choose an image file inside it.")
    if not stat.S_ISREG(mode):
        raise ImageError(
            f"'{name}' is not an ordinary file (it is a pipe, a device or a socket), so it "
            f"cannot be a photo. {_CHOOSE_PHOTO}"
        )


def _read_stream(stream: BinaryIO, name: str | None) -> bytes:
    """Read at most one byte past the limit, so _decode can tell a too-large file."""
    try:
        data = stream.read(MAX_BYTES + 1)
    except OSError as error:
        raise ImageError(f"{_called(name)} could not be read ({error}). Try again.") from None
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("load_image needs a file opened in binary mode ('rb')")
    return data


def _decode(data: bytes | bytearray, name: str | None) -> np.ndarray:
    _check_byte_count(len(data), name)
    if not data:
        raise ImageError(f"{_called(name)} is empty (0 bytes). {_CHOOSE_PHOTO}")
    try:
        with Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS) as image:
            _check_dimensions(*image.size, _called(name))
            upright = ImageOps.exif_transpose(image)  # decodes the first frame
    except UnidentifiedImageError:
        raise ImageError(_unidentified(data, name)) from None
    except Image.DecompressionBombError:
        raise ImageError(_too_many_pixels(_called(name))) from None
    except _DECODE_ERRORS as error:
        raise ImageError(
            f"{_called(name)} is damaged or incomplete and cannot be decoded ({error}). "
            "It may have been cut off while copying or uploading: try the original file again."
        ) from None
    return _to_rgb_array(upright)


def _unidentified(data: bytes | bytearray, name: str | None) -> str:
    """Explain what a file Pillow could not identify probably is, and what to do instead."""
    head = bytes(data[:1024])
    if head.startswith(b"%PDF"):
        return f"{_called(name)} is a PDF document, not a photo. {_CHOOSE_PHOTO}"
    brand = head[8:12] if head[4:8] == b"ftyp" else b""
    if brand in _HEIF_BRANDS:
        return (
            f"{_called(name)} is a HEIC photo (the iPhone default), which we cannot read. "
            f"{_CHOOSE_PHOTO} An iPhone takes JPEGs with Settings › Camera › Formats › "
            "Most Compatible."
        )
    if brand in _AVIF_BRANDS:
        return f"{_called(name)} is an AVIF image, which we cannot read. {_CHOOSE_PHOTO}"
    text = _as_text(head)
    if text is not None:
        start = text.lstrip("\ufeff \t\r\n").lower()
        if "<svg" in start:
            return (
                f"{_called(name)} is an SVG drawing (vector graphics), which we cannot read. "
                f"Export it as PNG, or choose a photo saved as {FORMAT_LIST}."
            )
        if start.startswith("<!doctype html") or "<html" in start:
            return (
                f"{_called(name)} is a web page (HTML), not an image. In the browser, right-click "
                f"the picture itself and save that. {_CHOOSE_PHOTO}"
            )
        return f"{_called(name)} is a text file, not an image. {_CHOOSE_PHOTO}"
    return f"{_called(name)} is not an image file we can read. {_CHOOSE_PHOTO}"


def _as_text(head: bytes) -> str | None:
    """The bytes as UTF-8 text if they look like a text file, else None."""
    try:
        # Incremental: a character cut at the end of the sample is not an error.
        text = codecs.getincrementaldecoder("utf-8")().decode(head)
    except UnicodeDecodeError:
        return None
    printable = all(char.isprintable() or char in "\t\r\n\f" for char in text)
    return text if text and printable else None


def _from_array(array: np.ndarray) -> np.ndarray:
    """Check an in-memory image (gray, RGB or RGBA uint8) and return it as RGB."""
    if array.size == 0:
        raise ImageError(
            f"The image array is empty (shape {array.shape}). Pass a photo with pixels in it."
        )
    if array.dtype != np.uint8:
        raise ImageError(
            f"The image array holds {array.dtype} values; expected uint8 (0-255). "
            "Convert it first, e.g. (array * 255).round().astype(np.uint8) for floats in 0-1."
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ImageError(
            f"The image array has shape {array.shape}; expected (height, width) for gray, "
            "(height, width, 3) for RGB or (height, width, 4) for RGBA."
        )
    height, width = array.shape[:2]
    _check_dimensions(width, height, "The image array")
    return _to_rgb_array(Image.fromarray(array))


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """Any Pillow mode to RGB uint8: high bit depths scaled (not clipped), alpha onto white."""
    if image.mode.startswith("I") or image.mode == "F":
        image = _gray_to_8bit(image)
    try:
        if image.has_transparency_data:
            white = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(white, image.convert("RGBA"))
        rgb = image.convert("RGB")
    except ValueError:
        raise ImageError(
            f"This image uses the colour mode {image.mode}, which we cannot convert to RGB. "
            f"Save it as an ordinary colour {FORMAT_LIST} photo."
        ) from None
    return np.array(rgb)  # np.array, not asarray: writable and C-contiguous


def _gray_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit or float grayscale to 8-bit, keeping the tones rather than clipping them.

    16-bit data has a known full scale (65535). For 32-bit integers and floats
    the file does not say, so the image's own range is stretched to 0-255.
    """
    values = np.asarray(image, dtype=np.float64)
    if image.mode.startswith("I;16"):
        low, high = 0.0, 65535.0
    else:
        low, high = float(values.min()), float(values.max())
    span = high - low if high > low else 1.0
    gray = np.rint((values - low) * (255.0 / span))
    return Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8))
