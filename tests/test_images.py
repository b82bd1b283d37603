"""images.py on real photos: every format, EXIF orientation, colour modes, bad inputs, downscale.

Inputs are generated here from one shared photo; no binary files live in the repo.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import signal
import socket
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facedemo.errors import ImageError
from facedemo.images import (
    MAX_BYTES,
    MIN_SIDE,
    SUPPORTED_FORMATS,
    downscale,
    load_image,
    square_thumbnail,
)

# How each supported format is written, and the mean per-pixel error allowed on reading back.
ENCODINGS: dict[str, tuple[str, dict, float]] = {
    "JPEG": (".jpg", {"quality": 95}, 3.0),
    "PNG": (".png", {}, 0.0),
    "WebP": (".webp", {"lossless": True}, 0.0),
    "BMP": (".bmp", {}, 0.0),
    "TIFF": (".tif", {"compression": "tiff_deflate"}, 0.0),
    "GIF": (".gif", {}, 12.0),  # 256-colour palette; frame 2 (the negative) would be ~100 off
}


@pytest.fixture(scope="module")
def photo(shared_images: Path) -> np.ndarray:
    """A real upright photo, landscape 192×144, as RGB uint8 (decoded by Pillow, not by us)."""
    with Image.open(shared_images / "img2.jpg") as image:
        return np.array(image.convert("RGB").reduce(8))


def encode(image: Image.Image | np.ndarray, fmt: str, **options) -> bytes:
    """The bytes of ``image`` saved as ``fmt`` (a Pillow format name)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def encode_supported(photo: np.ndarray, fmt: str) -> bytes:
    """``photo`` in one of SUPPORTED_FORMATS; a GIF gets a second, different frame."""
    _, options, _ = ENCODINGS[fmt]
    if fmt == "GIF":
        negative = Image.fromarray(255 - photo)
        options = {"save_all": True, "append_images": [negative]}
    return encode(photo, fmt.upper(), **options)


def mean_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def assert_rgb_array(image: np.ndarray) -> None:
    assert image.dtype == np.uint8
    assert image.ndim == 3 and image.shape[2] == 3
    assert image.flags.c_contiguous and image.flags.writeable


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width×height pixels but holds no pixel data: a free decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = [chunk(b"IHDR", header), chunk(b"IDAT", zlib.compress(b"")), chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


# --- every supported format, from every kind of source --------------------------------------


@pytest.mark.parametrize("source_kind", ["bytes", "path", "file"])
@pytest.mark.parametrize("fmt", SUPPORTED_FORMATS)
def test_every_format_loads_from_every_source(
    photo: np.ndarray, tmp_path: Path, fmt: str, source_kind: str
) -> None:
    suffix, _, tolerance = ENCODINGS[fmt]
    data = encode_supported(photo, fmt)
    path = tmp_path / f"photo{suffix}"
    path.write_bytes(data)
    source = {"bytes": data, "path": path, "file": io.BytesIO(data)}[source_kind]

    loaded = load_image(source)

    assert_rgb_array(loaded)
    assert loaded.shape == photo.shape
    assert mean_error(loaded, photo) <= tolerance


def test_gif_gives_its_first_frame(photo: np.ndarray) -> None:
    loaded = load_image(encode_supported(photo, "GIF"))
    assert mean_error(loaded, photo) < mean_error(loaded, 255 - photo) / 5


def test_path_given_as_string(photo: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(encode(photo, "PNG"))
    np.testing.assert_array_equal(load_image(str(path)), photo)


# --- EXIF orientation ------------------------------------------------------------------------

# The stored pixel layout for each EXIF orientation of an upright image: the camera stores
# the sensor rows, and the tag says how to turn them to view the photo upright.
STORED_LAYOUT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda upright: upright[:, ::-1],  # mirrored left-right
    3: lambda upright: upright[::-1, ::-1],  # upside down
    4: lambda upright: upright[::-1],  # mirrored top-bottom
    5: lambda upright: upright.transpose(1, 0, 2),  # mirrored along the main diagonal
    6: lambda upright: np.rot90(upright, 1),  # needs 90° clockwise to view (phone held upright)
    7: lambda upright: np.rot90(upright, 2).transpose(1, 0, 2),  # mirrored along the anti-diagonal
    8: lambda upright: np.rot90(upright, -1),  # needs 90° counter-clockwise to view
}


def with_orientation(stored: np.ndarray, orientation: int, fmt: str, **options) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    return encode(np.ascontiguousarray(stored), fmt, exif=exif.tobytes(), **options)


@pytest.mark.parametrize("orientation", sorted(STORED_LAYOUT))
def test_exif_orientation_turns_png_upright_exactly(photo: np.ndarray, orientation: int) -> None:
    stored = STORED_LAYOUT[orientation](photo)
    loaded = load_image(with_orientation(stored, orientation, "PNG"))
    np.testing.assert_array_equal(loaded, photo)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_of_phone_jpeg(photo: np.ndarray, orientation: int) -> None:
    stored = STORED_LAYOUT[orientation](photo)
    assert (stored.shape == photo.shape) == (orientation == 3)
    loaded = load_image(with_orientation(stored, orientation, "JPEG", quality=95))
    assert loaded.shape == photo.shape
    assert mean_error(loaded, photo) < 3.0


def test_orientation_1_changes_nothing(photo: np.ndarray) -> None:
    np.testing.assert_array_equal(load_image(with_orientation(photo, 1, "PNG")), photo)


# --- colour modes and bit depths -------------------------------------------------------------


def test_alpha_is_flattened_onto_white(photo: np.ndarray) -> None:
    height, width, _ = photo.shape
    alpha = np.full((height, width), 255, np.uint8)
    alpha[:, : width // 3] = 0  # fully transparent
    alpha[:, width // 3 : 2 * width // 3] = 128  # half transparent
    rgba = np.dstack([photo, alpha])

    loaded = load_image(encode(rgba, "PNG"))

    transparent, half, opaque = np.split(loaded.astype(float), [width // 3, 2 * width // 3], 1)
    assert (transparent == 255).all()
    expected_half = photo[:, width // 3 : 2 * width // 3] / 255 * 128 + 255 * 127 / 255
    assert np.abs(half - expected_half).max() <= 1
    np.testing.assert_array_equal(opaque, photo[:, 2 * width // 3 :])


def test_gray_with_alpha_is_flattened_onto_white(photo: np.ndarray) -> None:
    gray = np.array(Image.fromarray(photo).convert("L"))
    alpha = np.where(np.arange(gray.shape[1]) < 50, 0, 255).astype(np.uint8)
    la = Image.fromarray(np.dstack([gray, np.broadcast_to(alpha, gray.shape)]), "LA")

    loaded = load_image(encode(la, "PNG"))

    assert (loaded[:, :50] == 255).all()
    for channel in range(3):
        np.testing.assert_array_equal(loaded[:, 50:, channel], gray[:, 50:])


def test_palette_transparency_becomes_white(photo: np.ndarray) -> None:
    palette_image = Image.fromarray(photo).quantize(16)
    indices = np.array(palette_image)
    transparent_index = int(indices[0, 0])
    palette_image.info["transparency"] = transparent_index

    loaded = load_image(encode(palette_image, "PNG", transparency=transparent_index))

    colours = np.array(palette_image.convert("RGB"))
    expected = np.where((indices == transparent_index)[..., None], 255, colours)
    np.testing.assert_array_equal(loaded, expected)
    assert (indices == transparent_index).any() and (indices != transparent_index).any()


def test_palette_without_transparency(photo: np.ndarray) -> None:
    palette_image = Image.fromarray(photo).quantize(64)
    loaded = load_image(encode(palette_image, "BMP"))
    np.testing.assert_array_equal(loaded, np.array(palette_image.convert("RGB")))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_grayscale_becomes_three_equal_channels(photo: np.ndarray, fmt: str) -> None:
    gray = np.array(Image.fromarray(photo).convert("L"))
    loaded = load_image(encode(gray, fmt))
    assert_rgb_array(loaded)
    assert (loaded[..., 0] == loaded[..., 1]).all() and (loaded[..., 1] == loaded[..., 2]).all()
    assert mean_error(loaded[..., 0], gray) < 4.0


@pytest.mark.parametrize(("fmt", "tolerance"), [("TIFF", 0.0), ("JPEG", 4.0)])
def test_cmyk_is_converted(photo: np.ndarray, fmt: str, tolerance: float) -> None:
    cmyk = Image.fromarray(photo).convert("CMYK")
    assert mean_error(load_image(encode(cmyk, fmt)), photo) <= tolerance


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_gray_is_scaled_not_clipped(photo: np.ndarray, fmt: str) -> None:
    gray = np.array(Image.fromarray(photo).convert("L"))
    deep = Image.fromarray(gray.astype(np.uint16) * 257)  # the same tones at 16 bits
    assert deep.mode == "I;16"

    loaded = load_image(encode(deep, fmt))

    np.testing.assert_array_equal(loaded[..., 0], gray)
    assert loaded.min() < 50 and loaded.max() > 200  # clipping would make it all 255


def test_16_bit_full_range_maps_to_full_8_bit_range() -> None:
    ramp = np.linspace(0, 65535, 64 * 64).round().astype(np.uint16).reshape(64, 64)
    loaded = load_image(encode(ramp, "PNG"))[..., 0].ravel()
    assert loaded[0] == 0 and loaded[-1] == 255
    assert (np.diff(loaded.astype(int)) >= 0).all()
    assert len(np.unique(loaded)) == 256


def test_float_gray_is_stretched_to_8_bit() -> None:
    ramp = np.linspace(0.0, 1.0, 64 * 64, dtype=np.float32).reshape(64, 64)
    loaded = load_image(encode(Image.fromarray(ramp, "F"), "TIFF"))[..., 0].ravel()
    assert loaded[0] == 0 and loaded[-1] == 255
    assert (np.diff(loaded.astype(int)) >= 0).all()


def test_one_bit_image(photo: np.ndarray) -> None:
    bilevel = Image.fromarray(photo).convert("1")
    loaded = load_image(encode(bilevel, "PNG"))
    assert set(np.unique(loaded)) == {0, 255}


# --- arrays ----------------------------------------------------------------------------------


def test_rgb_array_comes_back_equal_as_a_copy(photo: np.ndarray) -> None:
    loaded = load_image(photo)
    np.testing.assert_array_equal(loaded, photo)
    assert not np.shares_memory(loaded, photo)
    assert_rgb_array(loaded)


def test_non_contiguous_array(photo: np.ndarray) -> None:
    mirrored = photo[:, ::-1]
    loaded = load_image(mirrored)
    assert_rgb_array(loaded)
    np.testing.assert_array_equal(loaded, mirrored)


@pytest.mark.parametrize("shape", ["gray", "gray with channel axis"])
def test_gray_array(photo: np.ndarray, shape: str) -> None:
    gray = photo[..., 1] if shape == "gray" else photo[..., 1:2]
    loaded = load_image(gray)
    np.testing.assert_array_equal(loaded, np.repeat(photo[..., 1:2], 3, axis=2))


def test_rgba_array_is_flattened(photo: np.ndarray) -> None:
    alpha = np.zeros(photo.shape[:2], np.uint8)
    alpha[:, 100:] = 255
    loaded = load_image(np.dstack([photo, alpha]))
    assert (loaded[:, :100] == 255).all()
    np.testing.assert_array_equal(loaded[:, 100:], photo[:, 100:])


# --- bad inputs: each kind with its own message ----------------------------------------------


def huge_sparse_file(tmp_path: Path) -> Path:
    path = tmp_path / "huge.jpg"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: nothing is written to disk
    return path


def written(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def symlink_loop(tmp_path: Path) -> Path:
    path = tmp_path / "loop.jpg"
    path.symlink_to(path.name)  # a link to itself
    return path


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a photo")
    return buffer.getvalue()


NOISE = random.Random(7).randbytes(4096)
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
HTML = b"<!DOCTYPE html>\n<html><body><img src='face.jpg'></body></html>"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
AVIF = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(64)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"

# Each kind: (make the input from the photo and a temporary folder, a phrase its message holds).
BAD_INPUTS: dict[str, tuple[Callable[[np.ndarray, Path], object], str]] = {
    "empty bytes": (lambda photo, tmp: b"", "is empty (0 bytes)"),
    "empty file": (lambda photo, tmp: written(tmp, "empty.jpg", b""), "is empty (0 bytes)"),
    "text file": (lambda photo, tmp: b"file,identity\nalice.jpg,Alice\n", "is a text file"),
    "random bytes": (lambda photo, tmp: NOISE, "is not an image file we can read"),
    "zip archive": (lambda photo, tmp: zip_archive(), "is not an image file we can read"),
    "icon (format not accepted)": (
        lambda photo, tmp: encode(photo, "ICO"),
        "is not an image file we can read",
    ),
    "pdf": (lambda photo, tmp: PDF, "is a PDF document"),
    "svg": (lambda photo, tmp: SVG, "is an SVG drawing"),
    "html": (lambda photo, tmp: HTML, "is a web page (HTML)"),
    "heic": (lambda photo, tmp: HEIC, "is a HEIC photo"),
    "avif": (lambda photo, tmp: AVIF, "is an AVIF image"),
    "truncated jpeg": (
        lambda photo, tmp: (data := encode(photo, "JPEG"))[: len(data) // 2],
        "is damaged or incomplete",
    ),
    "truncated png": (
        lambda photo, tmp: (data := encode(photo, "PNG"))[: len(data) // 2],
        "is damaged or incomplete",
    ),
    "truncated gif": (
        lambda photo, tmp: (data := encode(photo, "GIF"))[: len(data) // 2],
        "is damaged or incomplete",
    ),
    "decompression bomb (Pillow's own limit)": (
        lambda photo, tmp: png_header(30_000, 30_000),
        "megapixel limit",
    ),
    "too many pixels (our limit)": (
        lambda photo, tmp: png_header(8_000, 7_000),
        "has too many pixels (8000×7000 pixels, over the 50 megapixel limit)",
    ),
    "tiny image": (
        lambda photo, tmp: encode(photo[:10, :10], "PNG"),
        "is only 10×10 pixels: too small to contain a face",
    ),
    "thin image": (
        lambda photo, tmp: encode(photo[: MIN_SIDE - 1], "PNG"),
        f"is only 192×{MIN_SIDE - 1} pixels: too small",
    ),
    "too many bytes": (lambda photo, tmp: bytes(MAX_BYTES + 1), "is larger than the 25 MB"),
    "too large file": (lambda photo, tmp: huge_sparse_file(tmp), "is larger than the 25 MB"),
    "too large stream": (
        lambda photo, tmp: io.BytesIO(bytes(MAX_BYTES + 1)),
        "is larger than the 25 MB",
    ),
    "missing path": (lambda photo, tmp: tmp / "no-such-photo.jpg", "There is no file at"),
    "symbolic link loop": (
        lambda photo, tmp: symlink_loop(tmp),
        "could not be read (Too many levels of symbolic links)",
    ),
    "name too long": (
        lambda photo, tmp: tmp / ("a" * 300 + ".jpg"),
        "could not be read (File name too long)",
    ),
    "directory": (lambda photo, tmp: tmp, "is a folder, not a photo"),
    "array of wrong shape": (lambda photo, tmp: photo[..., :2], "has shape (144, 192, 2)"),
    "array with 4 dimensions": (lambda photo, tmp: photo[None], "has shape (1, 144, 192, 3)"),
    "array of floats": (lambda photo, tmp: photo / 255.0, "holds float64 values"),
    "array of zero size": (lambda photo, tmp: photo[:0], "array is empty"),
    "tiny array": (lambda photo, tmp: photo[:20, :20], "The image array is only 20×20"),
}


@pytest.mark.parametrize("kind", BAD_INPUTS)
def test_bad_input_gets_its_own_message(photo: np.ndarray, tmp_path: Path, kind: str) -> None:
    make_input, phrase = BAD_INPUTS[kind]
    with pytest.raises(ImageError, match=re.escape(phrase)) as caught:
        load_image(make_input(photo, tmp_path))
    message = str(caught.value)
    assert message.endswith("."), message  # a sentence, with what to do next
    assert "Traceback" not in message


def test_bad_input_kinds_are_many_and_distinct() -> None:
    assert len(BAD_INPUTS) >= 15
    assert len({phrase for _, phrase in BAD_INPUTS.values()}) >= 15


def test_messages_name_the_file(photo: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=re.escape("'selfie.heic' is a HEIC photo")):
        load_image(HEIC, name="selfie.heic")
    path = written(tmp_path, "notes.txt", b"hello")
    with pytest.raises(ImageError, match=re.escape(f"'{path}' is a text file")):
        load_image(path)
    upload = io.BytesIO(b"")
    upload.name = "upload.jpg"  # as Streamlit's UploadedFile has
    with pytest.raises(ImageError, match=re.escape("'upload.jpg' is empty")):
        load_image(upload)
    with pytest.raises(ImageError, match=r"^This file is empty"):
        load_image(b"")


def test_messages_list_the_supported_formats() -> None:
    with pytest.raises(ImageError) as caught:
        load_image(NOISE)
    assert all(fmt in str(caught.value) for fmt in SUPPORTED_FORMATS)


def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.jpg"
    os.mkfifo(path)
    return path


def socket_file(tmp_path: Path) -> Path:
    path = tmp_path / "s.jpg"  # short: a socket's path has a length limit
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.close()  # the socket file stays
    return path


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail, rather than hang, when the block runs longer than ``seconds``."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    "make_path",
    [fifo, socket_file, lambda tmp: Path("/dev/zero"), lambda tmp: Path("/dev/null")],
    ids=["fifo", "socket", "endless device", "empty device"],
)
def test_special_files_are_refused_before_opening(
    tmp_path: Path, make_path: Callable[[Path], Path]
) -> None:
    """A pipe waits for a writer and /dev/zero never ends: both are refused at once."""
    path = make_path(tmp_path)
    with deadline(5), pytest.raises(ImageError, match=re.escape("is not an ordinary file")):
        load_image(path)


def test_a_link_to_a_photo_is_followed(photo: np.ndarray, tmp_path: Path) -> None:
    target = written(tmp_path, "photo.png", encode(photo, "PNG"))
    link = tmp_path / "link.png"
    link.symlink_to(target)
    np.testing.assert_array_equal(load_image(link), photo)


def mutant(data: bytes, rng: random.Random) -> bytes:
    """``data`` cut, with bytes overwritten, inserted, deleted or a block repeated."""
    damaged = bytearray(data[: rng.randrange(1, len(data))] if rng.random() < 0.3 else data)
    for _ in range(rng.randrange(1, 12)):
        at = rng.randrange(len(damaged))
        action = rng.random()
        if action < 0.6:
            damaged[at] = rng.randrange(256)
        elif action < 0.75:
            damaged.insert(at, rng.randrange(256))
        elif action < 0.9 and len(damaged) > 1:
            del damaged[at]
        else:
            damaged[at:at] = damaged[at : at + rng.randrange(1, 64)]
    return bytes(damaged)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's notes on damaged files
@pytest.mark.parametrize("fmt", SUPPORTED_FORMATS)
def test_damaged_files_raise_only_image_error(photo: np.ndarray, fmt: str) -> None:
    """Seeded mutants of real files either load as RGB or raise ImageError with a sentence,
    never anything raw; the budget is a second or so per format."""
    data = encode_supported(photo, fmt)
    rng = random.Random(fmt)
    started = time.monotonic()
    for _ in range(150):
        try:
            assert_rgb_array(load_image(mutant(data, rng)))
        except ImageError as error:
            assert str(error).endswith("."), error
    assert time.monotonic() - started < 20


def test_unsupported_source_type_is_a_bug_not_a_user_error() -> None:
    with pytest.raises(TypeError):
        load_image(42)  # type: ignore[arg-type]


# --- downscale -------------------------------------------------------------------------------


def test_downscale_keeps_aspect_ratio_and_reports_scale(photo: np.ndarray) -> None:
    small, scale = downscale(photo, 96)
    assert small.shape == (72, 96, 3) and small.dtype == np.uint8
    assert scale == 0.5
    # Area-like averaging: each pixel is close to the mean of the 2×2 block it replaces.
    block_means = photo.reshape(72, 2, 96, 2, 3).mean(axis=(1, 3))
    assert mean_error(small, block_means.round().astype(np.uint8)) < 6


def test_downscale_of_a_full_size_shared_photo(shared_images: Path) -> None:
    with Image.open(shared_images / "img2.jpg") as image:
        full = np.array(image.convert("RGB"))  # 1536×1152
    small, scale = downscale(full, 640)
    assert small.shape == (480, 640, 3)
    assert scale == pytest.approx(640 / 1536)
    # A point found on the small image maps back by dividing by the scale.
    assert 320 / scale == pytest.approx(768)


@pytest.mark.parametrize("max_side", [192, 193, 4000])
def test_downscale_never_upscales(photo: np.ndarray, max_side: int) -> None:
    same, scale = downscale(photo, max_side)
    assert same is photo and scale == 1.0


def test_downscale_of_portrait_limits_the_height(photo: np.ndarray) -> None:
    portrait = np.ascontiguousarray(np.rot90(photo))  # 192 high, 144 wide
    small, scale = downscale(portrait, 64)
    assert small.shape == (64, 48, 3)
    assert scale == pytest.approx(1 / 3)


def test_downscale_rejects_a_nonsense_size(photo: np.ndarray) -> None:
    with pytest.raises(ValueError):
        downscale(photo, 0)


def test_square_thumbnail_is_a_centred_square(shared_images: Path) -> None:
    photo = load_image(shared_images / "img3.jpg")  # a portrait photo
    thumbnail = square_thumbnail(photo, 96)
    assert thumbnail.shape == (96, 96, 3) and thumbnail.dtype == np.uint8
    height, width = photo.shape[:2]
    centre = photo[height // 2, width // 2].astype(int)
    assert np.abs(thumbnail[48, 48].astype(int) - centre).max() < 40
