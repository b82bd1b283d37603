"""Verify: put two faces in, see whether the model thinks they are the same person, and why."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from facedemo import config, datasets, faces, plots
from facedemo.drawing import draw_faces
from facedemo.errors import FaceDemoError, NoFaceError
from facedemo.gallery import demo_gallery
from facedemo.siamese import evaluate, runs
from pages import live_camera
from pages.common import engine_picker, ensure_app_navigation, prepared, user_errors

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SLOTS = ("A", "B")
SOURCES = ("Demo gallery", "Upload", "Webcam")


def photo_slot(slot: str, gallery: list) -> tuple[bytes, str] | None:
    """One photo from the chosen source, as (bytes, name); None until the user gives one."""
    sources = SOURCES if gallery else SOURCES[1:]
    if slot == "B":
        sources = (*sources, live_camera.SOURCE)
    source = st.radio("Source", sources, key=f"source_{slot}", horizontal=True)
    if source == live_camera.SOURCE:
        st.caption("Photo A against the camera's live video: see below.")
        return None
    if source == "Upload":
        uploaded = st.file_uploader(
            f"Photo {slot}",
            key=f"upload_{slot}",
            help="JPEG, PNG, WebP, BMP, TIFF or GIF.",
        )
        return (uploaded.getvalue(), uploaded.name) if uploaded else None
    if source == "Webcam":
        snapshot = st.camera_input(f"Photo {slot}", key=f"camera_{slot}")
        return (snapshot.getvalue(), "webcam snapshot") if snapshot else None
    captions = [photo.caption for photo in gallery]
    choice = st.selectbox(
        f"Photo {slot}",
        range(len(gallery)),
        index=SLOTS.index(slot),
        key=f"gallery_{slot}",
        format_func=captions.__getitem__,
    )
    st.image(str(gallery[choice].path), width=160)
    return gallery[choice].path.read_bytes(), gallery[choice].path.name


def threshold_picker(engine: faces.Engine) -> float:
    """DeepFace's pre-tuned threshold unless the user (or the explorer) set another."""
    default = faces.default_threshold(engine.model, engine.metric)
    carried = st.session_state.get("carried_threshold")
    with st.sidebar:
        st.subheader("Threshold")
        if carried and carried["engine"] == engine.label:
            st.caption(f"From the threshold explorer: {carried['threshold']:.4f}")
            default = carried["threshold"]
        custom = st.toggle("Set my own threshold", key="custom_threshold")
        if not custom:
            st.caption(f"Using {default:.4f} (pre-tuned for {engine.model} + {engine.metric}).")
            return default
        upper = max(2.0 * default, 0.2) if engine.metric != "euclidean" else 2.0 * default
        return st.slider(
            "Same person if distance ≤",
            0.0,
            float(upper),
            float(default),
            step=float(upper) / 400,
            format="%.4f",
            key="threshold_value",
        )


def face_choice(slot: str, photo: faces.Photo) -> int:
    """Which face of a photo with several faces to use (0 = largest)."""
    if len(photo.faces) < 2:
        return 0
    return st.selectbox(
        f"Photo {slot} has {len(photo.faces)} faces: which one?",
        range(len(photo.faces)),
        format_func=lambda i: f"Face {i + 1}" + (" (largest)" if i == 0 else ""),
        key=f"face_{slot}",
    )


@st.cache_resource(max_entries=2, show_spinner="Loading the trained siamese model...")
def siamese_verifier(run_dir: str) -> evaluate.Verifier:
    return evaluate.load_verifier(Path(run_dir))


def siamese_picker() -> Path | None:
    """A finished training run to ask as well, or None."""
    finished = {
        f"Siamese: {run.run_id}": run.run_dir
        for run in runs.list_runs(config.runs_dir())
        if run.state == "finished"
    }
    if not finished:
        return None
    with st.sidebar:
        st.subheader("Trained model")
        choice = st.selectbox(
            "Also ask a siamese CNN from the Training monitor",
            ["none", *finished],
            key="siamese_run",
            help="It sees each face with its surroundings (LFW framing) and answers with "
            "the probability that both show the same person.",
        )
    return finished.get(choice)


def show_siamese(run_dir: Path, result: faces.Verification) -> None:
    crops = [
        faces.face_context(photo.image, face)
        for photo, face in zip(result.photos, result.faces, strict=True)
    ]
    probability = siamese_verifier(str(run_dir)).probability(*crops)
    verdict = "same person" if probability >= 0.5 else "different people"
    st.metric(
        f"Siamese: {run_dir.name} — same-person probability",
        f"{probability:.1%}",
        help="The trained network's own answer (same person at 50 % and above).",
    )
    st.caption(f"The siamese CNN says **{verdict}**; its input crops:")
    for column, crop in zip(st.columns(6)[:2], crops, strict=True):
        column.image(crop, width="stretch")


def offer_demo_download() -> None:
    """No demo photos on this machine yet: offer to fetch them (61 photos, once)."""
    st.caption("The demo gallery is empty on this machine.")
    if st.button("Download the demo photos (61 photos of 13 people)", key="download_demo"):
        bar = st.progress(0.0, text="Downloading the demo photos")
        try:
            datasets.demo_dataset(
                lambda done, total, name: bar.progress(done / total, text=f"{done}/{total} {name}")
            )
        except FaceDemoError as error:
            bar.empty()
            st.error(str(error))  # the page goes on: upload and webcam still work
        else:
            st.rerun()


def explain() -> None:
    with st.expander("How does this work? (embedding, distance, threshold)"):
        st.image(str(ASSETS / "verification.svg"), width="stretch")
        st.markdown(
            "1. **Detect** — a detector finds each face and its landmarks; the face is "
            "turned upright and cropped the same way every time (*alignment*).\n"
            "2. **Embed** — a neural network turns the crop into an *embedding*: a list "
            "of numbers (128 for Dlib) chosen so that photos of the same person give "
            "similar lists.\n"
            "3. **Distance** — we measure how far apart the two lists are. Small means "
            "alike.\n"
            "4. **Threshold** — if the distance is at most the *threshold*, the verdict "
            "is *same person*. A lower threshold lets fewer strangers in but rejects more "
            "real matches; the Threshold explorer shows that trade-off."
        )


ensure_app_navigation()
st.title("Verify: same person or not?")
st.caption("Two photos in, one verdict out, with every step shown.")
explain()
engine = engine_picker()
threshold = threshold_picker(engine)
enforce = st.sidebar.toggle(
    "Require a face",
    value=True,
    key="enforce_detection",
    help="Off: when no face is found, the whole photo is used as the face.",
)
siamese_run = siamese_picker()
gallery = demo_gallery()
if not gallery:
    offer_demo_download()

inputs = {}
for slot, column in zip(SLOTS, st.columns(2), strict=True):
    with column:
        inputs[slot] = photo_slot(slot, gallery)
if st.session_state.get("source_B") == live_camera.SOURCE:
    live_camera.verify_live(inputs["A"], engine, threshold, enforce)
    st.stop()
if not all(inputs.values()):
    st.info("Add a photo on both sides to compare them.")
    st.stop()

with user_errors():
    prepared(engine)
    photos = {}
    with st.spinner("Finding and embedding the faces..."):
        for slot, (data, name) in inputs.items():
            try:
                photos[slot] = faces.analyse_photo(data, engine, enforce, name=name)
            except NoFaceError as error:
                st.error(f"Photo {slot}: {error}")
                st.button(
                    "Retry using the whole photo as the face",
                    key="retry_without_face",
                    on_click=st.session_state.update,
                    kwargs={"enforce_detection": False},
                )
                st.stop()
    columns = st.columns(2)
    indices = []
    for slot, column in zip(SLOTS, columns, strict=True):
        with column:
            indices.append(face_choice(slot, photos[slot]))
    result = faces.compare((photos["A"], photos["B"]), engine, threshold, tuple(indices))

verdict = "Same person" if result.verified else "Different people"
(st.success if result.verified else st.warning)(
    f"**{verdict}** — distance {result.distance:.4f} "
    f"{'≤' if result.verified else '>'} threshold {result.threshold:.4f}"
)
metric_columns = st.columns(4)
metric_columns[0].metric("Distance", f"{result.distance:.4f}")
metric_columns[1].metric("Threshold", f"{result.threshold:.4f}")
metric_columns[2].metric("Confidence", f"{result.confidence:.1f} %")
metric_columns[3].metric("Time", f"{result.timings['total'] * 1000:.0f} ms")
st.plotly_chart(
    plots.distance_gauge(result.distance, result.threshold), key="gauge", width="stretch"
)

for slot, face in zip(SLOTS, result.faces, strict=True):
    if face.whole_photo:
        st.info(f"No face was found in photo {slot}: the whole photo stood in for it.")
if siamese_run is not None:
    try:
        show_siamese(siamese_run, result)
    except FaceDemoError as error:
        st.error(f"The siamese model could not answer: {error}")

st.subheader("What the model saw")
for slot, column, photo, index in zip(
    SLOTS, st.columns(2), result.photos, result.face_indices, strict=True
):
    with column:
        st.image(draw_faces(photo.image, photo.faces, index), caption=f"Photo {slot}")
crop_columns = st.columns(4)
for slot, column, face in zip(SLOTS, crop_columns[1:3], result.faces, strict=True):
    column.image(face.crop, caption=f"Aligned face {slot}", width="stretch")

st.subheader("Timings")
st.dataframe(
    {"step": list(result.timings), "ms": [round(s * 1000, 1) for s in result.timings.values()]},
    hide_index=True,
)
st.caption(f"Engine: {engine.label}. A repeated photo is analysed once and reused.")
