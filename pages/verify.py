"""Verify: put two faces in, see whether the model thinks they are the same person, and why."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from facedemo import (
    calibration,
    config,
    datasets,
    decision,
    faces,
    identify,
    links,
    plots,
)
from facedemo.cache import LruCache
from facedemo.drawing import draw_faces
from facedemo.errors import FaceDemoError, NoFaceError
from facedemo.gallery import GalleryPhoto
from facedemo.siamese import runs, scoring
from pages import common, live_camera, model_views
from pages.common import (
    demo_photos,
    engine_picker,
    ensure_app_navigation,
    face_choice,
    prepared,
    progress_reporter,
    server_folder_dataset,
    show_thumbnail,
    user_errors,
    zip_dataset,
)
from pages.photo_inputs import PhotoKeys, photo_input

SLOTS = ("A", "B")


def photo_slot(slot: str, gallery: list[GalleryPhoto]) -> tuple[bytes | Path, str] | None:
    """Photo A or B of the pair (B may be the live camera instead)."""
    return photo_input(
        f"Photo {slot}",
        PhotoKeys(f"source_{slot}", f"upload_{slot}", f"camera_{slot}", f"gallery_{slot}"),
        gallery,
        "Photo A against the camera's live video: see below." if slot == "B" else None,
        gallery_index=SLOTS.index(slot),
    )


def threshold_picker(engine: faces.Engine) -> float:
    """DeepFace's pre-tuned threshold unless the explorer carried one (which can be turned
    off again) or the user sets their own."""
    default = faces.default_threshold(engine.model, engine.metric)
    origin = f"pre-tuned for {engine.model} + {engine.metric}"
    carried = st.session_state.get("carried_threshold")
    with st.sidebar:
        st.subheader("Threshold")
        if (
            carried
            and carried.applies_to(engine)
            and st.toggle(
                f"Use the explorer's {carried.threshold:.4f}",
                value=True,
                key="use_carried_threshold",
                help=f"Off: back to {default:.4f}, {origin}.",
            )
        ):
            default = carried.threshold
            origin = f"chosen in the threshold explorer on {carried.dataset}"
        custom = st.toggle(
            "Set my own threshold",
            key="custom_threshold",
            bind="query-params",
            persist_state="session",
        )
        if not custom:
            st.caption(f"Using {default:.4f} ({origin}).")
            return default
        top, step = faces.threshold_slider(default, engine.metric)
        if "threshold_value" not in st.session_state:  # a link's threshold, as the page opens
            _, note = links.threshold_from(st.query_params.get("threshold_value"), 0.0, top)
            if note:
                st.info(note)
        return st.slider(
            "Same person if distance ≤",
            0.0,
            float(top),
            float(default),
            step=float(step),
            format="%.4f",
            key="threshold_value",
            bind="query-params",
            persist_state="session",
        )


def prior_slider(engine: faces.Engine) -> float:
    """The prior P(same) is read at; without a calibration of the engine it is shown
    disabled, saying it has nothing to act on."""
    calibrated = calibration.load(engine.label) is not None
    prior = st.sidebar.slider(
        "Prior: share of comparisons that are one person",
        *calibration.PRIOR_RANGE,
        calibration.VERIFY_PRIOR,
        key="verify_prior",
        disabled=not calibrated,
        help="P(same person) depends on it: among mostly strangers, a close pair is less "
        "likely one person. It moves the even-odds mark on the distance gauge.",
    )
    if not calibrated:
        st.sidebar.caption(
            "No study has calibrated this engine yet, so the prior has nothing to act on: "
            "study a data set with it in the Threshold explorer."
        )
    return prior


def sidebar_settings(whole_photo_help: str) -> tuple[faces.Engine, float, bool]:
    """The engine, the threshold and whether a face is required, from the sidebar."""
    engine = engine_picker()
    threshold = threshold_picker(engine)
    # Set through Session State only (no default on the widget), so the "retry using the
    # whole photo" button can turn it off without Streamlit's default-and-state warning.
    st.session_state.setdefault("enforce_detection", True)
    enforce = st.sidebar.toggle("Require a face", key="enforce_detection", help=whole_photo_help)
    return engine, threshold, enforce


@st.cache_resource(max_entries=2, show_spinner="Loading the trained siamese model...")
def siamese_verifier(run_dir: str) -> scoring.Verifier:
    return scoring.load_verifier(Path(run_dir))


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
            persist_state="session",  # kept across pages (a link does not name a run of its own)
            help="It sees each face with its surroundings (LFW framing) and answers with "
            "the probability that both show the same person.",
        )
    return finished.get(choice)


def show_siamese(run_dir: Path, result: faces.Verification, identities: list[str]) -> None:
    """The trained network's answer on the same faces; a warning when it trained on one of
    the people (``identities``: those the gallery names)."""
    answer = siamese_verifier(str(run_dir)).answer(result)
    st.metric(
        f"Siamese: {run_dir.name} — same-person probability",
        f"{answer.probability:.1%}",
        help="The trained network's own answer (same person at "
        f"{scoring.DECISION_THRESHOLD:.0%} and above).",
    )
    seen = runs.trained_on_warning(run_dir, identities)
    if seen:
        st.warning(seen)
    st.caption(f"The siamese CNN says **{answer.verdict}**; its input crops:")
    for column, crop in zip(st.columns(6)[:2], answer.crops, strict=True):
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
        st.image(str(config.asset("verification.svg")), width="stretch")
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


# --- identify mode: one face against a gallery of known people ----------------------------

MODES = ("Verify two photos", "Who is this? (identify)")
GALLERY_SOURCES = ("Demo set", "Folder on the server", "Upload a zip")
GALLERIES_KEPT = 4
#: Width, in pixels, at which an identify answer shows the aligned face it searched with.
ALIGNED_FACE_WIDTH = 112


def mode_switch() -> str:
    """Verify (two photos) or identify (one photo against a gallery)."""
    with common.settings("mode"):
        return common.linked(
            st.radio,
            "mode",
            "verify_mode",
            "What do you want to do?",
            MODES,
            horizontal=True,
            help="Verify compares two faces; identify looks one face up in a gallery of people.",
        )


def explain_identify() -> None:
    with st.expander("How does identify work? (one face against a whole gallery)"):
        st.markdown(
            "Verify asks *are these two faces the same person?* Identify asks *who is this?* "
            "and answers by asking the Verify question many times at once.\n\n"
            "1. **A gallery of known people** — a data set of labelled photos. Each photo is "
            "turned into an embedding once and kept, so every later question is quick. "
            "Photos in which no face is found are skipped.\n"
            "2. **One face in** — the photo's largest face is found and embedded, exactly "
            "as in Verify.\n"
            "3. **Distance to everyone** — we measure the distance from this face to every "
            "photo in the gallery. A person counts with their closest photo, so people with "
            "many photos get no extra votes.\n"
            "4. **Rank and decide** — people are listed closest first. The closest person is "
            "the answer only if their distance is within the threshold; otherwise the answer "
            "is **unknown**: the face is probably nobody the gallery knows. A gallery always "
            "has *someone* closest, which is why the threshold matters.\n\n"
            "The bigger the gallery, the more strangers get a chance to look alike by "
            "accident, so a big gallery needs a stricter (lower) threshold than one pair."
        )


def identify_photo(gallery: list[GalleryPhoto]) -> tuple[bytes | Path, str] | None:
    """The photo to look up (or the live camera, each of its faces looked up: see below)."""
    return photo_input(
        "Photo to identify",
        PhotoKeys("identify_source", "identify_upload", "identify_camera", "identify_demo_photo"),
        gallery,
        "Every face of the camera's live video, looked up in the gallery: see below.",
    )


def identify_dataset(demo_photos: list) -> datasets.IdentityDataset | None:
    """The data set of known people the user chose (the demo set first); None until given."""
    source = common.linked(
        st.radio, "gallery", "identify_gallery_source", "Gallery of known people", GALLERY_SOURCES
    )
    if source == "Demo set":
        if not demo_photos:
            offer_demo_download()
            return None
        return datasets.demo_dataset()
    if source == "Folder on the server":
        return server_folder_dataset("identify_folder")
    return zip_dataset("identify_zip")


@st.cache_resource(show_spinner=False)
def identify_galleries() -> LruCache:
    """Galleries by (data set, embedding settings), shared by every session, the last few kept.

    Our own cache rather than a cached function, so the progress bar drawn while a gallery
    is embedded is not replayed by Streamlit's cache.
    """
    return LruCache(GALLERIES_KEPT)


def gallery_of(dataset: datasets.IdentityDataset, engine: faces.Engine) -> identify.Gallery:
    """The data set as a gallery, embedded once per server (the store keeps it across restarts)."""

    def embed_gallery() -> identify.Gallery:
        bar, report = progress_reporter("Embedding the gallery once")
        gallery = identify.build_gallery(
            dataset,
            engine,
            progress=report,
            jobs=config.embedding_jobs(),
            scheduler=config.dask_scheduler(),
        )
        bar.empty()
        return gallery

    key = (dataset.name, str(dataset.root), dataset.paths, engine.embedding_key)
    return identify_galleries().get_or_make(key, embed_gallery)


def show_identification(result: identify.Identification) -> None:
    """The answer, the face looked up, and the ranked people with their closest photos."""
    best, gallery = result.candidates[0], result.gallery
    if result.identity is not None:
        st.success(
            f"**{datasets.display_name(result.identity)}** — closest photo at distance "
            f"{best.distance:.4f} ≤ threshold {result.threshold:.4f}"
        )
    else:
        st.warning(
            f"**Unknown** — nobody in the gallery is within the threshold "
            f"{result.threshold:.4f}; the closest, {datasets.display_name(best.identity)}, is at "
            f"distance {best.distance:.4f}."
        )
    # The name gets half the row, so a full name such as "Angelina Jolie" stays whole.
    columns = st.columns([3, 1, 1, 1])
    columns[0].metric("Answer", datasets.display_name(result.identity or identify.UNKNOWN))
    columns[1].metric("Closest distance", f"{best.distance:.4f}")
    columns[2].metric("Threshold", f"{result.threshold:.4f}")
    columns[3].metric(
        "Search time",
        f"{result.timings['search'] * 1000:.2f} ms",
        help="Comparing the embedded face with every photo of the gallery at once.",
    )
    searched = f"Compared with {len(gallery)} photos of {gallery.people} people in '{gallery.name}'"
    if result.left_out is not None:
        searched += f"; {gallery.relative(result.left_out)} itself is left out of the gallery"
    st.caption(searched + ".")
    if gallery.skipped:
        with st.expander(f"{len(gallery.skipped)} gallery photos without a face were skipped"):
            st.dataframe(
                [{"file": gallery.relative(p), "reason": why} for p, why in gallery.skipped],
                hide_index=True,
            )

    face_column, list_column = st.columns([1, 3])
    with face_column:
        st.subheader("The face")
        if result.photo is not None:
            photo = result.photo
            st.image(draw_faces(photo.image, photo.faces, result.face_index), width="stretch")
        st.image(result.face.crop, caption="Aligned face", width=ALIGNED_FACE_WIDTH)
        if result.face.whole_photo:
            st.info("No face was found: the whole photo stood in for it.")
    with list_column:
        st.subheader("Closest people")
        for rank, candidate in enumerate(result.candidates, start=1):
            picture, text = st.columns([1, 5])
            show_thumbnail(picture, candidate.path)
            sign, verdict = ("≤", "match") if candidate.matches else (">", "no match")
            text.markdown(
                f"**{rank}. {datasets.display_name(candidate.identity)}** — distance "
                f"{candidate.distance:.4f} {sign} {result.threshold:.4f}: **{verdict}**  \n"
                f"closest of their {candidate.photos} photo(s): "
                f"{gallery.relative(candidate.path)}"
            )
    st.caption(f"Engine: {result.engine.label}. The gallery is embedded once and reused.")


def identify_mode() -> None:
    """The page in identify mode: pick a face and a gallery, see who it is. Ends the run."""
    st.title("Identify: who is this?")
    st.caption("One face in, the closest people of a gallery out, or *unknown*.")
    explain_identify()
    engine, threshold, enforce = sidebar_settings(
        "Off: when no face is found in the photo, the whole photo is used as the face "
        "(gallery photos without a face are always skipped)."
    )
    gallery = demo_photos()
    photo_column, gallery_column = st.columns(2)
    with photo_column:
        query = identify_photo(gallery)
    with gallery_column, user_errors():
        dataset = identify_dataset(gallery)
    if st.session_state.get("identify_source") == live_camera.SOURCE and dataset is not None:
        with user_errors():
            prepared(engine)
            live_camera.identify_live(gallery_of(dataset, engine), engine, threshold)
        st.stop()
    if query is None or dataset is None:
        st.info("Add a photo and choose a gallery of known people to ask who it is.")
        st.stop()
    source, name = query
    with user_errors():
        prepared(engine)
        gallery = gallery_of(dataset, engine)
        with st.spinner("Finding and embedding the face..."):
            photo = faces.analyse_photo(source, engine, enforce, name=name)
        index = face_choice(photo, "This photo has {count} faces: which one?", "identify_face")
        result = identify.identify(
            source, gallery, engine, threshold, face_index=index, enforce_detection=enforce
        )
    show_identification(result)
    model_views.where_faces_live(result)
    st.stop()


ensure_app_navigation()
if mode_switch() == MODES[1]:
    identify_mode()  # the page in identify mode; it ends the run
st.title("Verify: same person or not?")
st.caption("Two photos in, one verdict out, with every step shown.")
engine, threshold, enforce = sidebar_settings(
    "Off: when no face is found, the whole photo is used as the face."
)
prior = prior_slider(engine)
siamese_run = siamese_picker()
gallery = demo_photos()
if not gallery:
    offer_demo_download()

inputs = {}
for slot, column in zip(SLOTS, st.columns(2), strict=True):
    with column:
        inputs[slot] = photo_slot(slot, gallery)
# The verdict right under the two photos (they share a 1280 × 720 view); the explanation
# below it, drawn now so that it is there whatever the run ends with.
verdict_area = st.container()
explain()
if st.session_state.get("source_B") == live_camera.SOURCE:
    with verdict_area:
        live_camera.verify_live(inputs["A"], engine, threshold, enforce)
    st.stop()
if not all(inputs.values()):
    verdict_area.info("Add a photo on both sides to compare them.")
    st.stop()

with verdict_area, user_errors():
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
            indices.append(
                face_choice(
                    photos[slot], f"Photo {slot} has {{count}} faces: which one?", f"face_{slot}"
                )
            )
    result = faces.compare((photos["A"], photos["B"]), engine, threshold, tuple(indices))

with verdict_area:
    verdict = "Same person" if result.verified else "Different people"
    (st.success if result.verified else st.warning)(
        f"**{verdict}** — distance {result.distance:.4f} "
        f"{'≤' if result.verified else '>'} threshold {result.threshold:.4f}"
    )
    answer = decision.decide(
        result.distance, result.threshold, result.verified, engine.label, prior, result.confidence
    )
    metric_columns = st.columns(4)
    metric_columns[0].metric("Distance", f"{result.distance:.4f}")
    metric_columns[1].metric("Threshold", f"{result.threshold:.4f}")
    metric_columns[2].metric(answer.label, answer.value, help=answer.explanation())
    metric_columns[3].metric("Time", f"{result.timings['total'] * 1000:.0f} ms")
    if answer.conflict():
        st.info(answer.conflict(), icon="⚖️")
    st.caption(answer.explanation())
    st.plotly_chart(
        plots.distance_gauge(
            result.distance,
            result.threshold,
            even_odds=answer.even_odds_distance,
            prior=prior,
            p_same_at_threshold=answer.p_same_at_threshold_text,
        ),
        key="gauge",
        width="stretch",
    )

for slot, face in zip(SLOTS, result.faces, strict=True):
    if face.whole_photo:
        st.info(f"No face was found in photo {slot}: the whole photo stood in for it.")
if siamese_run is not None:
    try:
        named = {photo.path: photo.identity for photo in gallery}
        people = [named.get(data, "") for data, _ in inputs.values() if isinstance(data, Path)]
        show_siamese(siamese_run, result, people)
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


model_views.why_same_or_different(result)

st.subheader("Timings")
st.dataframe(
    {"step": list(result.timings), "ms": [round(s * 1000, 1) for s in result.timings.values()]},
    hide_index=True,
)
st.caption(f"Engine: {engine.label}. A repeated photo is analysed once and reused.")
