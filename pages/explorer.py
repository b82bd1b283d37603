"""Threshold explorer: every pair of an identity data set, live, and the threshold to defend."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from facedemo import (
    config,
    datasets,
    evaluation,
    faces,
    links,
    plots,
    thresholds,
)
from facedemo.cache import LruCache
from facedemo.embeddings import EmbeddingStore
from facedemo.siamese import runs
from pages import common, explorer_panels, explorer_quality, model_views
from pages.common import (
    engine_picker,
    ensure_app_navigation,
    prepared,
    progress_reporter,
    server_folder_dataset,
    show_thumbnail,
    user_errors,
    zip_dataset,
)

SOURCES = (
    "Demo set",
    "Folder on the server",
    "Upload a zip",
    "LFW (needs internet)",
    "A siamese run's test pairs",
    "Pairs CSV with scores",
)
THRESHOLD_KEY = "explorer_threshold"
TYPED_KEY = "explorer_threshold_typed"
RATE_LABELS = {
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "accuracy": "Accuracy",
    "far": "FAR",
    "frr": "FRR",
}
PAIRS_SOURCE = SOURCES[-1]
SIAMESE_SOURCE = SOURCES[-2]
SCORE_LABELS = {
    "auto": "detect",
    "lower": "lower = same person (distance)",
    "higher": "higher = same person (similarity, probability)",
}
WORST_PEOPLE = 5
STUDIES_KEPT = 8


@st.cache_resource(show_spinner=False)
def embedding_store() -> EmbeddingStore:
    """One store per server: every session and page shares the embeddings on disk."""
    return EmbeddingStore()


@st.cache_resource(show_spinner=False)
def studies() -> LruCache:
    """Pair studies by (data set, engine, sample size), shared by every session, the last
    few kept. A cache the page fills itself rather than a cached function, so the progress
    bar drawn while a study is computed is not replayed by Streamlit's cache."""
    return LruCache(STUDIES_KEPT)


def study_of(
    dataset: datasets.IdentityDataset,
    engine: faces.Engine,
    max_negatives: int,
    scheduler: str | None,
) -> tuple[evaluation.PairStudy, bool]:
    """The pair study, computed once per server with a progress bar, and whether this run
    made it. A new study's P(same) becomes the engine's (Verify uses it)."""
    key = (dataset.name, str(dataset.root), dataset.paths, engine, max_negatives)
    study = studies().get(key)
    if study is not None:
        study.keep_calibration()  # the study on screen is the one Verify uses
        return study, False
    bar, report = progress_reporter("Embedding each photo once")
    store = embedding_store()
    study = evaluation.study_dataset(
        dataset,
        engine,
        store,
        report,
        max_negatives=max_negatives,
        jobs=config.embedding_jobs(),
        scheduler=scheduler,
    )
    bar.empty()
    healed = store.take_healed()
    if healed:
        st.warning(healed)
    study.keep_calibration()
    return studies().put(key, study), True


@st.cache_resource(show_spinner="Reading LFW (downloads about 200 MB the first time)...")
def cached_lfw(min_faces: int) -> datasets.IdentityDataset:
    return datasets.load_lfw(min_faces)


def choose_dataset(source: str) -> datasets.IdentityDataset | datasets.PairsTable | None:
    """The data set the user picked, or None until they have given one."""
    if source == "Demo set":
        bar, report = progress_reporter("Downloading the demo photos")
        dataset = datasets.demo_dataset(report)
        bar.empty()
        return dataset
    if source == "Folder on the server":
        return server_folder_dataset("explorer_folder")
    if source == "Upload a zip":
        return zip_dataset("explorer_zip")
    if source == "LFW (needs internet)":
        min_faces = st.number_input(
            "At least this many photos per person",
            min_value=2,
            value=evaluation.EXPLORER_LFW_MIN_FACES,
            key="explorer_lfw_min_faces",
        )
        if st.button("Load LFW", key="explorer_lfw"):
            st.session_state["explorer_lfw_loaded"] = True
        if not st.session_state.get("explorer_lfw_loaded"):
            return None
        return cached_lfw(int(min_faces))
    if source == SIAMESE_SOURCE:
        tested = runs.runs_with_test_pairs(config.runs_dir())
        if not tested:
            st.info("No training run has finished its test yet: train one on the Training monitor.")
            return None
        path = st.selectbox(
            "Run", tested, format_func=lambda p: p.parent.name, key="explorer_siamese_run"
        )
        return datasets.load_pairs_csv(path)
    uploaded = st.file_uploader(
        "Pairs CSV",
        type=["csv"],
        key="explorer_pairs_csv",
        help="file_x,file_y,decision (Yes/No) and one or more score columns: distances "
        "(like face-recognition-pivot.csv) or similarities and probabilities (like a "
        "siamese run's test_pairs.csv).",
    )
    return datasets.load_pairs_csv(uploaded.getvalue()) if uploaded else None


def show_overview(dataset: datasets.IdentityDataset) -> None:
    summary = datasets.overview(dataset)
    with st.expander(
        f"Data set: {summary.identities} people, {summary.images} photos, "
        f"{summary.positive_pairs:,} same-person and {summary.negative_pairs:,} "
        "different-person pairs"
    ):
        st.plotly_chart(
            plots.images_per_identity_figure(summary.images_per_identity), key="per_identity"
        )
        if summary.single_image_identities:
            st.caption(
                f"{len(summary.single_image_identities)} people have one photo: they appear "
                "only in different-person pairs."
            )
        samples = datasets.sample_paths(dataset, per_identity=1, limit=12)
        for column, (identity, path) in zip(st.columns(6) * 2, samples, strict=False):
            show_thumbnail(column, path, datasets.display_name(identity))


def set_threshold(value: float) -> None:
    st.session_state[THRESHOLD_KEY] = float(value)


def suggestion_buttons(suggestions: list[thresholds.Suggestion]) -> None:
    """One compact button per suggestion, side by side, wrapping where the page ends."""
    st.caption("Suggested thresholds (click to use; hover for how each is chosen):")
    with st.container(horizontal=True, gap="small"):
        for suggestion in suggestions:
            st.button(
                f"{thresholds.short_name(suggestion)} · {suggestion.threshold:.4f}",
                key=f"suggest_{suggestion.name}",
                help=f"**{suggestion.label}.** {thresholds.SUGGESTION_RULES[suggestion.name]}",
                on_click=set_threshold,
                args=(suggestion.threshold,),
                width="content",
            )


def set_typed_threshold() -> None:
    set_threshold(st.session_state[TYPED_KEY])


def threshold_slider(study: evaluation.PairStudy) -> float:
    """The threshold slider over the study's distances, reset when the study changes, and
    beside it a field to type an exact threshold."""
    low, high = study.slider_range
    step = evaluation.explorer_slider_step(low, high)
    asked = st.query_params.get(THRESHOLD_KEY)  # a link's threshold, for the first study
    if st.session_state.get("explorer_study") != (study.name, study.engine_label):
        first = "explorer_study" not in st.session_state
        st.session_state["explorer_study"] = (study.name, study.engine_label)
        st.session_state.pop(THRESHOLD_KEY, None)
        from_link, note = links.threshold_from(asked if first else None, low, high)
        if note:
            st.info(note)
        if from_link is not None:
            set_threshold(from_link)
    if THRESHOLD_KEY not in st.session_state or not low <= st.session_state[THRESHOLD_KEY] <= high:
        set_threshold(min(max(study.starting_threshold, low), high))
    slider_column, typed_column = st.columns([4, 1], vertical_alignment="bottom")
    threshold = slider_column.slider(
        "Threshold: same person if distance ≤",
        low,
        high,
        key=THRESHOLD_KEY,
        bind="query-params",  # ?explorer_threshold=0.07 (a link opens the study there)
        step=step,
        format="%.4f",
        help=f"Arrow keys move it by {step:g}. For an exact value, click a suggested "
        "threshold or type one in the field beside it.",
    )
    st.session_state[TYPED_KEY] = threshold  # the field shows what the slider holds
    typed_column.number_input(
        "Exact threshold",
        min_value=low,
        max_value=high,
        step=step,
        format="%.4f",
        key=TYPED_KEY,
        on_change=set_typed_threshold,
        help="Type a threshold to set the slider to exactly that value.",
    )
    return threshold


def show_metrics(metrics: thresholds.Metrics) -> None:
    """The six rates, three to a row: a value such as 100.00% stays whole at 1280 px."""
    rates = list(RATE_LABELS.items())
    for row in (rates[:3], rates[3:]):
        for column, (name, label) in zip(st.columns(3), row, strict=True):
            column.metric(label, plots.percent(getattr(metrics, name)))


def show_intervals(study: evaluation.PairStudy, threshold: float) -> None:
    """How sure each rate is: resampling people against counting pairs as independent."""
    if not study.knows_people:
        st.caption("No intervals: a pairs file does not say who is in each photo.")
        return
    intervals = study.intervals(threshold)
    with st.expander("How sure are these rates? 95 % intervals", expanded=True):
        for rate in intervals.rates:
            st.markdown(f"- {rate.sentence}")
        st.caption(
            f"*Resampling people* draws the {study.by_person.people} people with replacement "
            f"{intervals.resamples:,} times and recomputes each rate, so pairs that share a "
            "person move together, as they do when new people come. *Counting pairs* "
            "(Wilson) treats every pair as independent: narrower, and too optimistic."
        )


def show_misclassified(study: evaluation.PairStudy, dataset, metrics: thresholds.Metrics) -> None:
    threshold = metrics.threshold
    wrong = study.misclassified(threshold, limit=12)
    st.subheader(f"Misclassified pairs at {threshold:.4f}: {metrics.fp + metrics.fn}")
    if wrong.empty:
        st.success("Every pair is decided correctly at this threshold.")
        return
    if not isinstance(dataset, datasets.IdentityDataset):
        st.dataframe(wrong, hide_index=True)
        return
    for _, row in wrong.iterrows():
        kind = "same person judged different" if row.same_person else "strangers judged same"
        left, right, text = st.columns([1, 1, 3])
        show_thumbnail(left, dataset.root / row.file_x, row.file_x)
        show_thumbnail(right, dataset.root / row.file_y, row.file_y)
        text.markdown(
            f"**distance {row.distance:.4f}** — {kind}  \n"
            f"{datasets.display_name(row.identity_x)} · {datasets.display_name(row.identity_y)}"
        )


def show_people_errors(study: evaluation.PairStudy, dataset, threshold: float) -> None:
    """The few people behind most errors at ``threshold``, with a photo each."""
    if not study.knows_people:
        return
    table = study.per_identity(threshold)
    worst = table[table.errors > 0]
    st.subheader(f"Who causes the errors at {threshold:.4f}")
    if worst.empty:
        st.caption("Nobody: every pair is decided correctly.")
        return
    shown = worst.head(WORST_PEOPLE)
    involving, wrong = study.by_person.wrong_pairs_involving(threshold, shown.identity)
    st.caption(
        f"{len(worst)} of {len(table)} people are in a wrong decision; the {len(shown)} below "
        f"are in {involving:,} of the {wrong:,} wrong decisions "
        f"({plots.percent(involving / wrong, 0)}). In the counts per person, a false accept "
        "counts for both its people."
    )
    for column, row in zip(st.columns(WORST_PEOPLE), shown.itertuples(), strict=False):
        name = datasets.display_name(row.identity)
        show_thumbnail(column, dataset.root / row.photo, name)
        column.markdown(
            f"{row.false_rejects} of {row.same_pairs} own pairs rejected  \n"
            f"{row.false_accepts} of {row.different_pairs:,} stranger pairs accepted"
        )
    with st.expander("Every person"):
        st.dataframe(
            table.drop(columns=["photo"]),
            hide_index=True,
            key="per_identity_table",
            column_config={"identity": st.column_config.TextColumn("identity", pinned=True)},
        )


def operating_points(study: evaluation.PairStudy) -> pd.DataFrame:
    """The study's operating points with their target FMR as text: "—" where a point has
    none (ZeroFNMR), rather than a raw None."""
    frame = study.operating_points_frame()
    frame["target_fmr"] = [
        "—" if pd.isna(target) else plots.percent(target) for target in frame["target_fmr"]
    ]
    return frame


@st.fragment
def threshold_panel(study: evaluation.PairStudy, dataset) -> None:
    """Everything the slider drives; a fragment, so a slider move re-runs only this. The
    slider, its numbers and the histogram come first and fit one 1280 × 720 view, so what
    a move changes is on screen when it is made; the intervals and curves follow."""
    analysis = study.analysis
    suggestion_buttons(study.suggestions)
    threshold = threshold_slider(study)
    metrics = analysis.at(threshold)
    show_metrics(metrics)
    left, right = st.columns([2, 1])
    left.plotly_chart(plots.distance_histogram(analysis, threshold), key="histogram")
    right.plotly_chart(plots.confusion_matrix_figure(metrics), key="confusion")
    show_intervals(study, threshold)
    roc_curve, det_curve, pr_curve = study.curves
    det, roc, pr = st.tabs(["DET", "ROC", "Precision-recall"])
    roc.plotly_chart(plots.roc_figure(roc_curve, metrics), key="roc")
    det.plotly_chart(plots.det_figure(det_curve, metrics, study.operating_points), key="det")
    pr.plotly_chart(plots.pr_figure(pr_curve, metrics), key="pr")
    st.caption(
        f"AUC {roc_curve.auc:.4f} · {study.eer.sentence()}: the EER button's threshold · "
        f"decidability d′ {analysis.d_prime():.2f}"
    )
    with st.expander("Operating points, as biometric reports give them"):
        st.dataframe(
            operating_points(study),
            hide_index=True,
            key="operating_points",
            column_config={
                "name": st.column_config.TextColumn("point", pinned=True),
                "target_fmr": st.column_config.TextColumn("Target FMR"),
                "threshold": st.column_config.NumberColumn("Threshold", format="%.4f"),
                "fmr": st.column_config.NumberColumn("FMR", format="percent"),
                "fnmr": st.column_config.NumberColumn("FNMR", format="percent"),
            },
        )
        st.caption(
            "FMR (false match rate) = FAR, FNMR (false non-match rate) = FRR. FMR100 and "
            "FMR1000: the highest threshold whose FMR is at most 1 % / 0.1 %; ZeroFMR: no "
            "different-person pair accepted; ZeroFNMR: every same-person pair accepted."
        )

    st.subheader("Thresholds compared")
    table = study.thresholds_table(threshold)
    held_out = study.held_out_default
    if isinstance(held_out, str):
        st.caption(f"No held-out figures: {held_out}")
    else:
        scored = held_out[0].metrics
        st.caption(
            "**In-sample** columns score each rule on the very pairs that chose its threshold. "
            f"**Held out** columns split the people into {len(held_out[0].thresholds)} groups: "
            "each rule chooses its threshold on the pairs of the other groups' people and is "
            "scored on the pairs within the group it did not see, pooled over the groups "
            f"({scored.tp + scored.fn:,} same-person and {scored.tn + scored.fp:,} "
            "different-person pairs). Pairs across groups are never scored, so that mix holds "
            "fewer strangers: held-out F1 and accuracy are stated at this study's own mix "
            f"({plots.percent(study.same_share)} same-person pairs), from the held-out FAR and "
            "FRR, and compare with the in-sample ones. *Spread* is how far the chosen "
            "threshold moved between groups. Trust a rule whose held-out rates stay close to "
            "its in-sample ones."
        )
    st.dataframe(
        table,
        hide_index=True,
        key="thresholds_table",
        column_config={
            "name": st.column_config.TextColumn("name", pinned=True),
            "threshold": st.column_config.NumberColumn(format="%.4f"),
            **{
                name: st.column_config.NumberColumn(f"{label} (in-sample)", format="percent")
                for name, label in RATE_LABELS.items()
            },
            **{
                column: st.column_config.NumberColumn(
                    f"{RATE_LABELS[field_name]} (held out)", format="percent"
                )
                for column, field_name in evaluation.HELD_OUT_COLUMNS.items()
            },
            "threshold_spread": st.column_config.NumberColumn("Spread", format="%.4f"),
        },
    )
    downloads = st.columns(3)
    uploaded_table: dict = {}  # the groups panel's upload, for the pairs CSV
    downloads[0].download_button(
        "Pairs with distances (CSV)",
        explorer_quality.pairs_csv(study, dataset, threshold, uploaded_table),
        file_name=f"{study.name}-pairs.csv",
        mime="text/csv",
        key="download_pairs",
        help="Every pair with its distance and the decision at this threshold, each pair's "
        "quality per measure (its worse photo's) and, with an attributes table, each "
        "photo's group. Written when you click.",
    )
    downloads[1].download_button(
        "Thresholds table (CSV)",
        table.to_csv(index=False),
        file_name=f"{study.name}-thresholds.csv",
        mime="text/csv",
        key="download_table",
    )
    if study.engine is not None and downloads[2].button(
        "Use this threshold on the Verify page", key="carry_threshold"
    ):
        st.session_state["carried_threshold"] = study.chosen(threshold)
        st.success(f"The Verify page now uses {threshold:.4f} for {study.engine_label}.")
    show_people_errors(study, dataset, threshold)
    show_misclassified(study, dataset, metrics)
    explorer_quality.quality_panel(study, dataset, threshold)
    explorer_quality.groups_panel(study, dataset, threshold, uploaded_table)


ensure_app_navigation()
st.title("Threshold explorer")
st.caption(
    "Every same-person and every different-person pair of a data set. Move the threshold "
    "and watch who gets in: strangers accepted (FAR) against real matches rejected (FRR)."
)
source = common.linked(
    st.radio, "data set", "explorer_source", "Data set", SOURCES, horizontal=True
)
scores_from_elsewhere = source in (PAIRS_SOURCE, SIAMESE_SOURCE)
if scores_from_elsewhere:
    st.sidebar.caption("A pairs file brings its own scores: no engine runs on this page.")
else:
    engine = engine_picker()
    max_negatives = st.sidebar.selectbox(
        "Sample different-person pairs above",
        evaluation.MAX_NEGATIVES_CHOICES,
        index=evaluation.MAX_NEGATIVES_CHOICES.index(evaluation.DEFAULT_MAX_NEGATIVES),
        format_func="{:,}".format,
        key="explorer_max_negatives",
        help="Beyond this many, a seeded sample of different-person pairs is used.",
    )
    scheduler = st.sidebar.text_input(
        "Dask scheduler (optional)",
        value=config.dask_scheduler() or "",
        key="explorer_scheduler",
        placeholder="tcp://host:8786",
        help="Embed the photos on a Dask cluster (see docs/parallel.md). Empty: every core "
        "of this machine.",
    ).strip()

with user_errors():
    dataset = choose_dataset(source)
    if dataset is None:
        st.info("Choose a data set to start.")
        st.stop()
    if isinstance(dataset, datasets.PairsTable):
        column = st.selectbox("Score column", dataset.distance_columns, key="explorer_column")
        if source == SIAMESE_SOURCE:  # a probability of "same": never guessed
            scores = runs.TEST_PAIRS_SCORES
        else:
            scores = st.radio(
                "Which way do the scores point?",
                evaluation.SCORE_DIRECTIONS,
                key="explorer_scores",
                horizontal=True,
                format_func=SCORE_LABELS.get,
                help="A distance is lower for one person; a similarity is higher. Automatic "
                "picks the reading that ranks the pairs better.",
            )
        study = evaluation.study_pairs_table(dataset, column, scores)
        made_now = True
        st.caption(f"Scores: {study.score_note}.")
    else:
        show_overview(dataset)
        prepared(engine)
        study, made_now = study_of(dataset, engine, int(max_negatives), scheduler or None)

photos = f"{study.embedded_now + study.embedded_before} photos"
made = (
    f"{study.embedded_now} embedded now, {study.embedded_before} reused from the store, "
    f"{study.seconds:.1f} s"
    if made_now
    else f"studied earlier on this server in {study.seconds:.1f} s, reused"
)
st.caption(
    f"{study.analysis.positives:,} same-person and {study.analysis.negatives:,} "
    f"different-person pairs · {study.engine_label}"
    + ("" if scores_from_elsewhere else f" · {photos}: {made}")
)
if study.failed_images:
    with st.expander(f"{len(study.failed_images)} photos gave no face and are left out"):
        st.dataframe(pd.DataFrame(study.failed_images, columns=["file", "why"]), hide_index=True)
threshold_panel(study, dataset)
explorer_panels.calibration_panel(study)
if isinstance(dataset, datasets.IdentityDataset):
    model_views.dataset_map_panel(dataset, engine, embedding_store())
    explorer_panels.compare_panel(
        dataset, engine, int(max_negatives), scheduler or None, embedding_store()
    )
