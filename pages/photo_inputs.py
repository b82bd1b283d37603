"""Where Verify's photos come from: the demo gallery (picked by the photo, kept in the link),
an upload (kept for the session), a webcam snapshot, or the live camera."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from facedemo import images
from facedemo.gallery import GalleryPhoto
from pages import common, live_camera
from pages.common import preview

PHOTO_SOURCES = ("Demo gallery", "Upload", "Webcam")


@dataclass(frozen=True)
class PhotoKeys:
    """The widget keys of one photo input."""

    source: str
    upload: str
    camera: str
    gallery: str


def photo_input(
    label: str,
    keys: PhotoKeys,
    gallery: list[GalleryPhoto],
    live_note: str | None = None,
    gallery_index: int = 0,
) -> tuple[bytes | Path, str] | None:
    """One photo from the source the user picks (the demo gallery when there is one, an
    upload, a webcam snapshot, or, with ``live_note``, the live camera), as (its bytes or
    a gallery photo's path, its name); None until given, and for the live camera."""
    sources = PHOTO_SOURCES if gallery else PHOTO_SOURCES[1:]
    if live_note is not None:
        sources = (*sources, live_camera.SOURCE)
    with common.settings(keys.source):
        source = common.linked(st.radio, "source", keys.source, "Source", sources, horizontal=True)
    if source == live_camera.SOURCE:
        st.caption(live_note)
        return None
    if source == "Upload":
        return kept_upload(label, keys.upload)
    if source == "Webcam":
        st.caption(live_camera.SNAPSHOT_NEEDS)
        snapshot = st.camera_input(label, key=keys.camera)
        return (snapshot.getvalue(), "webcam snapshot") if snapshot else None
    # Picked by the photo (its caption in the link), not by its place in the list.
    by_name = gallery_by_name(gallery)
    names = list(by_name)
    with common.settings(keys.gallery):
        choice = common.linked(
            st.selectbox,
            "photo",
            keys.gallery,
            label,
            names,
            index=min(gallery_index, len(names) - 1),
            format_func=lambda name: by_name[name].caption,
        )
    st.image(preview(str(by_name[choice].path)))
    return by_name[choice].path, choice


def gallery_by_name(gallery: list[GalleryPhoto]) -> dict[str, GalleryPhoto]:
    """The gallery's photos by their path below the folder they share ("img1.jpg", or
    "ada/0001.jpg" where each person has a folder): two photos never share a name."""
    if len(gallery) == 1:
        return {gallery[0].path.name: gallery[0]}
    shared = Path(os.path.commonpath([photo.path for photo in gallery]))
    return {photo.path.relative_to(shared).as_posix(): photo for photo in gallery}


def kept_upload(label: str, key: str) -> tuple[bytes, str] | None:
    """An uploaded photo (its bytes, its name), kept for the session: Streamlit empties a
    file uploader that a visit to another page took off the screen, so the photo is kept
    here until the user removes it or uploads another."""
    kept = f"{key}__kept"
    uploaded = st.file_uploader(
        label,
        key=key,
        help=f"{images.FORMAT_LIST}.",
        on_change=lambda: st.session_state.pop(kept, None),  # removed or replaced
    )
    if uploaded:
        st.session_state[kept] = (uploaded.getvalue(), uploaded.name)
    elif kept in st.session_state:
        st.caption(
            f"Using {st.session_state[kept][1]}, uploaded earlier: upload another to replace it."
        )
    return st.session_state.get(kept)
