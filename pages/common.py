"""Widgets the pages share: the engine settings and error display.

Not a page itself: ``app.py`` lists the pages with ``st.navigation``.
Settings live in the URL (a link opens them) and survive a visit to a page that does not
draw them (Streamlit's ``bind="query-params"`` and ``persist_state="session"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import numpy as np
import streamlit as st
from PIL import Image, ImageOps

from facedemo import config, datasets, faces, images, links
from facedemo.errors import FaceDemoError
from facedemo.gallery import GalleryPhoto, demo_gallery

T = TypeVar("T")


def ensure_app_navigation() -> None:
    """Re-run through app.py when a page was opened without it.

    Until some run calls ``st.navigation``, Streamlit treats an app with a ``pages/``
    folder as an old-style multipage app: a bookmark such as ``/explorer`` on a fresh
    server runs the page alone (no page config, no navigation, stray "pages" in the
    sidebar). Clearing that flag and re-running lets app.py take over; the URL still
    names the page, so the user lands where the bookmark pointed.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


#: Presenter mode's look: the verdict and the key numbers large enough for the back row.
PRESENTER_CSS = """
<style>
[data-testid="stMetricValue"] { font-size: 2.6rem; }
[data-testid="stMetricLabel"] p { font-size: 1.1rem; }
[data-testid="stAlertContentSuccess"] p, [data-testid="stAlertContentWarning"] p
  { font-size: 1.5rem; }
div[class*="st-key-settings_"] { display: none; }
</style>
"""


def settings(name: str):
    """A container for choices that presenter mode hides (they stay set, and in the URL)."""
    return st.container(key=f"settings_{name}")


def presenting() -> bool:
    """Whether presenter mode is on: the toggle's value, or the URL's as the app opens
    (app.py asks before the toggle is drawn, to start with the settings folded away)."""
    asked = st.query_params.get(links.PRESENT, "false") == "true"
    return bool(st.session_state.get(links.PRESENT, asked))


def presenter_toggle() -> bool:
    """The sidebar's presenter toggle (``?present=true``): settings folded away in the
    collapsed sidebar, the verdict and key numbers enlarged. Kept in the URL for every page."""
    on = st.sidebar.toggle(
        "Presenter mode",
        key=links.PRESENT,
        bind="query-params",
        help="For a lecture: the sidebar starts folded away and the verdict and key numbers "
        "are large. The link keeps it on (?present=true).",
    )
    if on:
        st.html(PRESENTER_CSS)
    return on


def linked(
    widget: Callable[..., T], what: str, key: str, label: str, options: Sequence[T], **kwargs
) -> T:
    """``widget`` (a radio or a selectbox) keyed ``key``, its choice in the URL (``?key=…``,
    as the option is shown: Streamlit writes the ``format_func`` label) and kept across
    pages; a link it cannot follow is said (``what`` names the choice)."""
    remember_link(key)
    choice = widget(label, options, key=key, bind="query-params", persist_state="session", **kwargs)
    say_if_link_not_followed(what, key, kwargs.get("format_func", str)(choice))
    return choice


def say_if_link_not_followed(what: str, key: str, shown: object) -> None:
    """An info line when the URL's ``key`` asked for something the page could not show
    (Streamlit drops such a value from a bound widget silently)."""
    note = links.not_followed(what, st.session_state.get(f"{key}__asked"), shown)
    st.session_state.pop(f"{key}__asked", None)  # said once, on the run that opened the link
    if note:
        st.info(note)


def remember_link(key: str) -> str | None:
    """The URL's value for the bound widget ``key`` as the page opened (before the widget
    takes or drops it), kept for :func:`say_if_link_not_followed`."""
    asked = st.query_params.get(key)
    if asked is not None and key not in st.session_state:
        st.session_state[f"{key}__asked"] = asked
    return asked


def engine_select(label: str, options: list[T], key: str, default: T, **kwargs) -> T:
    """A selectbox of one engine setting, kept across pages and in the URL under its name
    in :data:`ENGINE_LINKS` (a link sets it; a choice updates the link); its value is
    mirrored in ``st.session_state[key]`` for the settings that follow from it."""
    link = ENGINE_LINKS[key]
    remember_link(link)
    choice = st.selectbox(
        label,
        options,
        index=options.index(default),  # the engine's own default: a link names only changes
        key=link,
        bind="query-params",
        persist_state="session",
        **kwargs,
    )
    say_if_link_not_followed(label.lower(), link, kwargs.get("format_func", str)(choice))
    st.session_state[key] = choice
    return choice


def _offline_label(check: Callable[[str], faces.Availability]) -> Callable[[str], str]:
    def label(name: str) -> str:
        return name if check(name).offline else f"{name} (needs a download)"

    return label


def offline_summary() -> str:
    """What works offline, as short markdown lines that a narrow sidebar shows whole."""
    entries = faces.catalogue()
    ready = {
        kind: ", ".join(e.name for e in entries if e.kind == kind and e.offline) or "none"
        for kind in ("model", "detector")
    }
    summary = f"**Offline now**  \nModels: {ready['model']}  \nDetectors: {ready['detector']}"
    missing = [f"- {e.name} ({e.kind}): {', '.join(e.missing)}" for e in entries if not e.offline]
    if missing:
        summary += "\n\n**Needs a download**\n\n" + "\n".join(missing)
    return summary


#: Each engine setting's session key and its widget's key, which is its name in the URL.
ENGINE_LINKS = {
    "engine_model": "model",
    "engine_detector": "detector",
    "engine_alignment": "alignment",
    "engine_metric": "metric",
    "engine_max_side": "detection_size",
}


def _bring_model_settings() -> None:
    """A newly chosen model brings its own detector and alignment (``faces.engine_for``)."""
    default = faces.DEFAULT_ENGINE
    current = faces.Engine(
        detector=st.session_state.get("engine_detector", default.detector),
        alignment=st.session_state.get("engine_alignment", default.alignment),
    )
    engine = faces.engine_for(st.session_state[ENGINE_LINKS["engine_model"]], current)
    chosen = {"engine_detector": engine.detector, "engine_alignment": engine.alignment}
    for key, value in chosen.items():
        st.session_state[key] = value
        st.session_state[ENGINE_LINKS[key]] = value  # the widget, and so the link, follows


def engine_picker(container=st.sidebar) -> faces.Engine:
    """Model, detector, metric and alignment, defaulting to the most accurate offline set."""
    default = faces.DEFAULT_ENGINE
    with container:
        st.subheader("Engine")
        model = engine_select(
            "Recognition model",
            list(faces.MODEL_WEIGHTS),
            "engine_model",
            default.model,
            format_func=_offline_label(faces.model_availability),
            on_change=_bring_model_settings,
            help="The network that turns a face into an embedding (a list of numbers). "
            "Choosing one also chooses the detector and alignment it works best with.",
        )
        detector = engine_select(
            "Face detector",
            list(faces.DETECTOR_WEIGHTS),
            "engine_detector",
            default.detector,
            format_func=_offline_label(faces.detector_availability),
            help="Finds the faces in a photo. 'skip' uses the whole photo as the face.",
        )
        alignment = engine_select(
            "Alignment",
            list(faces.ALIGNMENTS),
            "engine_alignment",
            default.alignment,
            format_func=faces.ALIGNMENT_NAMES.__getitem__,
            help="How the face is turned and cropped before the model sees it:\n\n"
            + "\n".join(
                f"- **{faces.ALIGNMENT_NAMES[name]}**: {description}"
                for name, description in faces.ALIGNMENTS.items()
            ),
        )
        metric = engine_select(
            "Distance metric",
            list(faces.METRICS),
            "engine_metric",
            default.metric,
            help="How two embeddings are compared: smaller means more alike.",
        )
        max_side = engine_select(
            "Detection size (long side, px)",
            sorted({*config.DETECTION_SIZES, default.max_side}),
            "engine_max_side",
            default.max_side,
            help="Photos are shrunk to this before face detection: smaller is faster, "
            "tiny faces in big group photos may need more.",
        )
        with st.expander("What works offline here"):
            st.markdown(offline_summary())
    return faces.Engine(model, detector, metric, alignment, max_side)


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a :class:`FaceDemoError` as ``st.error`` and stop this run; bugs still raise."""
    try:
        yield
    except FaceDemoError as error:
        st.error(str(error))
        st.stop()


@contextmanager
def panel_errors() -> Iterator[None]:
    """A :class:`FaceDemoError` as ``st.error`` that ends only this section of the page: what
    follows it is still drawn (``user_errors`` stops the whole run)."""
    try:
        yield
    except FaceDemoError as error:
        st.error(str(error))


def demo_photos() -> list[GalleryPhoto]:
    """The demo gallery; empty, with a warning saying why, when its folder is damaged (the
    page still takes uploads and the camera)."""
    try:
        return demo_gallery()
    except FaceDemoError as error:
        st.warning(f"The demo gallery cannot be shown: {error}")
        return []


@st.cache_resource(show_spinner="Loading the model (once per server)...")
def prepared(engine: faces.Engine) -> faces.Engine:
    """Build the engine's model and detector once per server process."""
    faces.prepare(engine)
    return engine


#: Side of the square thumbnails the pages show (people, pairs, candidates), in pixels.
THUMBNAIL_SIDE = 160


@st.cache_data(max_entries=256, show_spinner=False)
def thumbnail(path: str) -> np.ndarray:
    """A photo as a square thumbnail, made once per photo and server."""
    return images.square_thumbnail(images.load_image(path), THUMBNAIL_SIDE)


def show_thumbnail(container, path: Path, caption: str | None = None) -> None:
    """``path``'s thumbnail in ``container``; a photo removed or changed since its study was
    made is said in the caption instead (the rest of the page stays)."""
    try:
        container.image(thumbnail(str(path)), caption=caption)
    except FaceDemoError as error:
        container.caption(f"{caption or path.name}: cannot be shown ({error})")


#: Side of the box a photo preview fits in (Verify's inputs), in pixels: small enough that
#: photo A, photo B and the verdict under them share one 1280 × 720 view.
PREVIEW_SIDE = 140


@st.cache_data(max_entries=64, show_spinner=False)
def preview(path: str) -> np.ndarray:
    """A whole photo shrunk to fit a PREVIEW_SIDE square, nothing cut off."""
    image = Image.fromarray(images.load_image(path))
    return np.asarray(
        ImageOps.contain(image, (PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    )


@st.cache_resource(max_entries=4, show_spinner="Unpacking the zip...")
def unpacked_zip(upload_id: str, name: str, _data: bytes) -> datasets.IdentityDataset:
    """One unpacking per upload (the library reuses the folder of identical content)."""
    return datasets.load_zip_dataset(_data, Path(name).stem)


def with_notes_said(dataset: datasets.IdentityDataset) -> datasets.IdentityDataset:
    """``dataset``, after saying what its layout left out or merged (its notes)."""
    for note in dataset.notes:
        st.info(note)
    return dataset


def server_folder_dataset(key: str) -> datasets.IdentityDataset | None:
    """An identity data set from a folder on the server, typed in; None until given. Beyond
    localhost only under ``FACEDEMO_FOLDER_ROOT`` (the library decides)."""
    folder = st.text_input(
        "Folder",
        key=key,
        help="identities.csv (file,identity), one sub-folder per person, "
        "or LFW-style names such as Ada_Lovelace_0001.jpg.",
    )
    address = st.get_option("server.address")
    return with_notes_said(datasets.load_server_folder(folder, address)) if folder else None


def zip_dataset(key: str) -> datasets.IdentityDataset | None:
    """An identity data set from an uploaded zip; None until given."""
    uploaded = st.file_uploader("Zip of a data set", type=["zip"], key=key)
    if not uploaded:
        return None
    dataset = unpacked_zip(uploaded.file_id, uploaded.name, uploaded.getvalue())
    if not datasets.mark_used(dataset):  # removed meanwhile to make room for other uploads
        unpacked_zip.clear()
        st.info("Its unpacked copy was removed to make room for other uploads: unpacked again.")
        dataset = unpacked_zip(uploaded.file_id, uploaded.name, uploaded.getvalue())
    return with_notes_said(dataset)


def face_choice(photo: faces.Photo, question: str, key: str) -> int:
    """Which face of a photo with several faces to use (0 = largest)."""
    if len(photo.faces) < 2:
        return 0
    return st.selectbox(
        question.format(count=len(photo.faces)),
        range(len(photo.faces)),
        format_func=lambda i: f"Face {i + 1}" + (" (largest)" if i == 0 else ""),
        key=key,
    )


def progress_reporter(label: str):
    """A progress bar and the callback that moves it (``datasets.Progress``)."""
    bar = st.progress(0.0, text=label)

    def report(done: int, total: int, name: str) -> None:
        bar.progress(done / max(total, 1), text=f"{label} {done}/{total} · {name}")

    return bar, report
