"""Monitor page: train the siamese face-pair network and watch it learn, live."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from facedemo import config
from facedemo.errors import FaceDemoError
from facedemo.siamese import BEST_BY, PRESET_DESCRIPTIONS, PRESETS, TrainConfig, runs
from facedemo.siamese.plots import confusion_figure, learning_curve, roc_figure, space_figure
from facedemo.siamese.space import missing_space_note, space_map
from pages import common
from pages.common import ensure_app_navigation

REFRESH_SECONDS = 2
#: The run picker's key, and the URL parameter that names the run shown (``?run=``).
RUN_KEY = "run"
DEMO_SET = "The demo photos"
OWN_FOLDER = "A folder of my own"
EPOCH_COLUMN_LABELS = {
    "epoch": st.column_config.NumberColumn("Epoch"),
    "loss": st.column_config.NumberColumn("Loss", format="%.3f"),
    "accuracy": st.column_config.NumberColumn("Accuracy", format="percent"),
    "auc": st.column_config.NumberColumn("AUC", format="%.3f"),
    "seen_val_loss": st.column_config.NumberColumn("Seen people loss", format="%.3f"),
    "seen_val_accuracy": st.column_config.NumberColumn("Seen people accuracy", format="percent"),
    "seen_val_auc": st.column_config.NumberColumn("Seen people AUC", format="%.3f"),
    "val_loss": st.column_config.NumberColumn("New people loss", format="%.3f"),
    "val_accuracy": st.column_config.NumberColumn("New people accuracy", format="percent"),
    "val_auc": st.column_config.NumberColumn("New people AUC", format="%.3f"),
    "pairs_per_s": st.column_config.NumberColumn("Pairs / s", format="%.0f"),
    "best": st.column_config.CheckboxColumn("Best"),
}
STATE_SENTENCES = {
    "queued": "Starting up: loading Keras and the photos.",
    "running": "Training: the network looks at pairs of faces, guesses and corrects itself.",
    "testing": "Testing: training is over, and the best version is being scored on people it "
    "has never seen. Stop ends the test; Resume then runs it again.",
    "finished": "Finished: the best version was tested on people it has never seen.",
    "stopped": "Stopped on request",
    "failed": "Failed with the error below.",
    "interrupted": "Interrupted: its process ended unexpectedly",
    runs.UNREADABLE: "Unreadable: a file of this run is damaged (named below), so it can be "
    "neither shown nor resumed. The other runs are not affected; delete this run's folder or "
    "restore the file.",
}
NO_BETTER_THAN_CHANCE = (
    "**No better than guessing.** On people it has never seen, this network ranks "
    "same-person pairs above different-person pairs no more often than a coin would "
    "(AUC near 0.5, within the luck that this few test pairs allow). The likely "
    "reason: a dozen people are far too few to learn what makes faces differ in "
    "general, so it memorises its training people (training AUC climbs, validation "
    "AUC does not)."
)
WHOLE_PHOTO_REASON = (
    " And it trained on whole photos shrunk to {size} px, where the face is a small part of "
    "each picture (the CPU demo preset crops the faces first)."
)
REAL_RUN = (
    " The real run is LFW (5,749 people) on a GPU: the notebook reached a test AUC of "
    "0.95-0.97 there."
)
BETTER_THAN_CHANCE = (
    "Better than guessing: on {pairs} pairs of people it has never seen, an AUC of {auc:.3f} "
    "is further above a coin's 0.5 than luck explains."
)
REPEATED_PAIRS = (
    " ({distinct:,} of the {drawn:,} pairs drawn are different ones: so few people and "
    "photos repeat pairs, and a repeat adds no evidence.)"
)
EVERY_TEST_PAIR = (
    "Scored on every pair of its test people's photos, each pair once: {same:,} same-person "
    "and {different:,} different-person pairs (a run tests at most {most:,}, its test_pairs "
    "setting; beyond that, a sample)."
)
SAMPLED_TEST_PAIRS = (
    "Scored on {pairs:,} of the {available:,} distinct pairs of its test people's photos "
    "({same:,} same-person, {different:,} different-person), drawn at random without "
    "replacement: a run tests at most {most:,} pairs (its test_pairs setting)."
)
SPLIT_LABELS = {
    "train": "Training (it learns from their photos)",
    "validation": "Validation (they choose the epoch it keeps)",
    "test": "Test (never seen until the test)",
}
PHASE_LABELS = {
    "preparing": "loading the photos and building the network",
    "training": "epoch {p.epoch} of {p.epochs}, batch {p.step} of {p.steps_per_epoch}",
    "validating": "epoch {p.epoch} of {p.epochs}: validating on people kept out of training",
}
SPACE_CAPTION = (
    "Each dot is a photo of someone the network never trains on, placed by the 500 numbers "
    "its tower makes of it on one fixed PCA view: press play and watch whether each person's "
    "photos gather apart from the others' as the loss falls (the number beside it falls when "
    "they do; with the CPU demo's seven training people they barely do, since it memorises "
    "its own people rather than learning faces in general)."
)
SEPARATION_HELP = (
    "The mean distance between two photos of one person divided by the mean distance "
    "between photos of two different people, in the tower's full 500-value space (not on "
    "the 2-D picture): 1 means the people are mixed, lower means they stand apart."
)
PACE_HELP = (
    "Training pairs per second, as the epoch table and bench/bench_train.py count them: "
    "an epoch's pairs over the time from its start to its last batch (validation not "
    "included), the median of the recent epochs after the first (which compiles). During "
    "the first epoch: the recent batches."
)


def explain() -> None:
    """What the network does and what its three numbers mean, for students."""
    st.write(
        "Here a small neural network learns to tell whether two face photos show the same "
        "person. It sees a batch of pairs, guesses for each one, and adjusts itself a little "
        "after every batch; one epoch is a fixed number of batches. **Loss** measures how wrong "
        "its guesses are (lower is better), **accuracy** how often it is right, and **AUC** how "
        "well it ranks same-person pairs above different-person pairs (1 is perfect, 0.5 is "
        "guessing)."
    )
    st.write(
        "*Training* numbers come from the photos it learns from. *Seen people* numbers (CPU "
        "demo) come from photos of those same people that were kept out of training: can it "
        "recognise them in a new photo? *New people* (validation) numbers come from people it "
        "never trains on: has it learnt to compare faces in general? When training and seen "
        "people improve while new people stay near 0.5, the network is memorising its people "
        "instead of learning to compare faces."
    )


def start_form(runs_dir: Path) -> None:
    """Choose photos and settings, then start a run (the demo set is downloaded if missing)."""
    # Outside the form, so that the folder field appears as soon as it is chosen.
    source = st.radio("Photos", [DEMO_SET, OWN_FOLDER], key="monitor_source", horizontal=True)
    with st.form("monitor_start_form"):
        preset = st.radio(
            "Settings",
            list(PRESETS),
            key="monitor_preset",
            captions=[PRESET_DESCRIPTIONS[name] for name in PRESETS],
        )
        folder = ""
        if source == OWN_FOLDER:
            folder = st.text_input(
                "Folder (one sub-folder per person, Name_0001.jpg names or an identities.csv)",
                key="monitor_folder",
            ).strip()
        name = st.text_input("Run name (optional)", key="monitor_new_name")
        devices = st.text_input(
            "Devices",
            value="1",
            key="monitor_devices",
            help="How many GPUs to train on together (data parallel): a number, or 'all'. "
            "The preset's batch size must divide by it. Without a GPU, TensorFlow can split "
            "the CPU into a few devices to show data parallel training at work (never "
            "faster: they share the same cores). The Keras backend is the server's "
            "KERAS_BACKEND (tensorflow unless set).",
        )
        start = st.form_submit_button("Start training")
    if not start:
        return
    if source == OWN_FOLDER and not folder:
        st.error("Type the path of the folder with your photos first, or choose the demo photos.")
        return
    download = st.empty()

    def show_download(done: int, total: int, file: str) -> None:
        download.progress(done / total, text=f"Downloading the demo photos: {done} of {total}")

    try:
        with st.spinner("Starting the run…"):
            dataset, notes = runs.page_dataset(folder, st.get_option("server.address"))
            for note in notes:
                st.info(note)
            run_id = runs.start_preset(
                preset, dataset, runs_dir, name, devices, progress=show_download
            )
    except FaceDemoError as error:
        st.error(str(error))
    else:
        st.session_state[RUN_KEY] = run_id
        st.success(f"Started run {run_id}.")
    finally:
        download.empty()


def run_picker(runs_dir: Path) -> runs.RunStatus | None:
    """The run to show, newest first (a run just started is picked); None when there is none."""
    available = {run.run_id: run for run in runs.list_runs(runs_dir)}
    if not available:
        st.info(f"No training runs yet in {runs_dir}. Start one above.")
        return None
    asked = common.remember_link(RUN_KEY)
    if st.session_state.get(RUN_KEY) not in available and asked not in available:
        st.session_state[RUN_KEY] = next(iter(available))
    # Run names alone: Streamlit keeps showing a picked option's old label when it changes,
    # so the state is said in the heading below, which follows it. The run is the URL's
    # ``?run=`` (a link to it opens it) and stays chosen across a visit to another page.
    run_id = st.selectbox(
        "Run",
        list(available),
        index=None,  # no default: the URL always names the run shown, never "the newest"
        key=RUN_KEY,
        bind="query-params",
        persist_state="session",
    )
    common.say_if_link_not_followed("run", RUN_KEY, run_id)
    return available[run_id]


def show_pairs(pairs: runs.PairImages | None, empty: str) -> None:
    if pairs is None or not len(pairs.same):
        st.caption(empty)
    else:
        st.image(pairs.side_by_side(), caption=pairs.captions(), width=160)


def state_sentence(status: runs.RunStatus, settings: TrainConfig | None) -> str:
    """What the state means; for a run that can be resumed, what Resume would do."""
    sentence = STATE_SENTENCES[status.state]
    if status.state in ("stopped", "interrupted"):
        if settings is not None:
            return f"{sentence}: {runs.resume_would(status.run_dir, settings)}."
        return f"{sentence}."
    return sentence


def show_state(status: runs.RunStatus, settings: TrainConfig | None) -> None:
    """The state, its output when that says why, Stop and Resume (``settings``: None before
    the run has saved them)."""
    st.subheader(f"Run {status.run_id}: {status.state}")
    st.write(state_sentence(status, settings))
    if runs.output_tells_why(status):
        output = runs.read_log_tail(status.run_dir) or "(no output recorded)"
        if status.error:  # the sentence first; the output, which ends with it, on demand
            st.error(status.error)
            with st.expander("The trainer's output"):
                st.code(output, language=None)
        else:
            st.code(output, language=None)
    over = settings is not None and runs.training_over(status.run_dir, settings)
    testing = status.state == "testing" or (status.state == "queued" and over)
    if status.stopping:
        st.info("Stopping the test…" if testing else "Stopping at the next batch…")
    elif status.alive and st.button(
        "Stop testing" if testing else "Stop training", key="monitor_stop"
    ):
        runs.stop_run(status.run_dir)
        st.rerun(scope="app")
    if settings is None:
        if status.alive:
            st.caption("Its settings and progress appear once Keras has loaded.")
        else:
            st.warning(
                "This run ended before it saved its settings, so there is nothing to show or "
                "resume. Its output above says why; start a new run once that is fixed."
            )
    elif status.resumable and st.button(
        "Resume testing" if over else "Resume training", key="monitor_resume"
    ):
        runs.resume_run(status.run_dir)
        st.rerun(scope="app")


def show_progress(status: runs.RunStatus, settings: TrainConfig, metrics: pd.DataFrame) -> None:
    """Epoch, speed, time left, device and engine; the progress bar while it trains or tests."""
    progress = runs.progress(status, settings, metrics)
    columns = st.columns(4)
    columns[0].metric("Epoch", f"{progress.epoch} / {progress.epochs}")
    speed = "-" if progress.pairs_per_s is None else f"{progress.pairs_per_s:.0f}"
    columns[1].metric("Pairs per second", speed, help=PACE_HELP)
    columns[2].metric("Time left (at most)", progress.eta_text)
    columns[3].metric("Device", runs.describe_device(status.run_dir, metrics))
    st.caption(f"Computed with {runs.describe_engine(status.run_dir)}.")
    if status.state == "running":
        st.progress(progress.fraction, text=PHASE_LABELS[progress.phase].format(p=progress))
    elif status.state == "testing":
        st.progress(1.0, text=f"testing epoch {status.best_epoch} on its test people's pairs")


def show_learning(status: runs.RunStatus, settings: TrainConfig, metrics: pd.DataFrame) -> None:
    """The three learning curves, the epoch table and the training pairs it sees."""
    if metrics.empty:
        st.caption(
            "The learning curves appear with the first batches."
            if status.alive
            else "It trained no batch, so there are no learning curves."
        )
    else:
        curves = st.columns(3)
        for column, metric in zip(curves, ("loss", "accuracy", "auc"), strict=True):
            figure = learning_curve(metrics, metric, settings.steps_per_epoch, status.best_epoch)
            column.plotly_chart(figure, key=f"monitor_curve_{metric}")
        st.caption(
            "Faint line: the running average within each epoch, batch by batch (it starts "
            "again each epoch). Dots: the end of each epoch. The dashed line marks the epoch "
            f"with {BEST_BY[settings.best_by][0]}; that version of the network is the one kept "
            "and tested. A loss on new people that climbs while their AUC rises is no "
            "contradiction: the network grows sure of itself, and each confident mistake "
            "costs much loss, while AUC and accuracy count how often it is right."
        )
    show_space(status)
    st.dataframe(
        runs.epoch_table(metrics, status.best_epoch),
        hide_index=True,
        key="monitor_epochs",
        column_config=EPOCH_COLUMN_LABELS,
    )
    st.subheader("What the network sees")
    st.write(
        "A few training pairs, shrunk to the size the network works at and sometimes mirrored, "
        "so it learns that a face looks the same either way round."
    )
    show_pairs(
        runs.read_preview(status.run_dir),
        "The preview appears shortly." if status.alive else "It saved no preview.",
    )


def show_space(status: runs.RunStatus) -> None:
    """The validation faces in the tower's space, epoch by epoch, and how far apart the
    people are; a damaged space.npz is said here and hides nothing else."""
    try:
        space = runs.read_space(status.run_dir)
    except FaceDemoError as error:
        st.warning(str(error))
        return
    if space is None:
        note = missing_space_note(status.epoch, status.alive)
        if note:
            st.caption(note)
        return
    mapped = space_map(space)
    figure, number = st.columns([4, 1])
    figure.plotly_chart(space_figure(mapped), key="monitor_space")
    first, last = mapped.separation[0], mapped.separation[-1]
    number.metric(
        f"Within ÷ between distance, epoch {mapped.epochs[-1]}",
        "-" if np.isnan(last) else f"{last:.2f}",
        delta=None
        if np.isnan(first - last)
        else f"{last - first:+.2f} since epoch {mapped.epochs[0]}",
        delta_color="inverse",
        help=SEPARATION_HELP,
    )
    st.caption(SPACE_CAPTION)


def show_test(run_dir: Path, settings: TrainConfig) -> None:
    """Test accuracy and AUC, whether that beats guessing, ROC and confusion matrix, its
    worst mistakes; once tested."""
    evaluation = runs.read_eval(run_dir)
    if evaluation is None:
        return
    st.subheader("Test on people it has never seen")
    same, different = runs.test_pair_counts(evaluation)
    available = runs.available_test_pairs(evaluation)
    if available is not None:
        sentence = SAMPLED_TEST_PAIRS if available > evaluation["pairs"] else EVERY_TEST_PAIR
        counts = {"same": same, "different": different, "most": settings.test_pairs}
        st.caption(sentence.format(pairs=evaluation["pairs"], available=available, **counts))
    scores = st.columns(2)
    scores[0].metric("Test accuracy", f"{evaluation['accuracy']:.1%}")
    auc = evaluation["auc"]
    scores[1].metric("Test AUC", "-" if auc is None else f"{auc:.3f}")
    if runs.no_better_than_chance(evaluation):
        whole_photos = settings.framing == "photo"
        reason = WHOLE_PHOTO_REASON.format(size=settings.image_size) if whole_photos else ""
        st.warning(NO_BETTER_THAN_CHANCE + reason + REAL_RUN)
    elif auc is not None:
        distinct = same + different
        sentence = BETTER_THAN_CHANCE.format(pairs=f"{distinct:,}", auc=auc)
        if distinct < evaluation["pairs"]:
            sentence += REPEATED_PAIRS.format(distinct=distinct, drawn=evaluation["pairs"])
        st.success(sentence)
    if auc is None:
        st.caption("The test pairs are all of one kind, so there is no ROC curve to draw.")
    else:
        charts = st.columns(2)
        charts[0].plotly_chart(roc_figure(evaluation["roc"], auc), key="monitor_roc")
        matrix = confusion_figure(evaluation["confusion_matrix"], evaluation["threshold"])
        charts[1].plotly_chart(matrix, key="monitor_confusion")
    st.write("The test pairs it got most wrong:")
    show_pairs(runs.read_misclassified(run_dir), "It got every test pair right.")


def show_split(run_dir: Path) -> None:
    """Who is in which part of the split, once the trainer has split the photos."""
    parts = runs.read_split(run_dir)
    if not parts:
        return
    with st.expander("Who is in which part"):
        for part in parts:
            people = ", ".join(part.display_names)
            st.markdown(
                f"**{SPLIT_LABELS[part.part]}**: {len(part.people)} people, {part.images} "
                f"photos: {people}"
            )


def show_run(run_dir: Path, picked_state: str) -> None:
    """Everything about one run; a fragment, re-drawn every few seconds while it is alive."""
    try:
        status = runs.read_status(run_dir)
        if status.state != picked_state:
            st.rerun(scope="app")  # the self-refresh (set outside this fragment) follows it
        settings = runs.read_settings(run_dir) if runs.has_settings(run_dir) else None
        show_state(status, settings)
        if settings is None:
            return
        metrics = runs.read_metrics(run_dir)
        show_progress(status, settings, metrics)
        show_split(run_dir)
        show_learning(status, settings, metrics)
        show_test(run_dir, settings)
    except FaceDemoError as error:
        st.error(str(error))


ensure_app_navigation()
st.title("Training monitor")
explain()
runs_dir = config.runs_dir()
with st.expander("Start a new training run", expanded=not runs.list_runs(runs_dir)):
    start_form(runs_dir)
picked = run_picker(runs_dir)
if picked is None:
    st.stop()
refresh = REFRESH_SECONDS if picked.alive else None
st.fragment(show_run, run_every=refresh)(picked.run_dir, picked.state)
