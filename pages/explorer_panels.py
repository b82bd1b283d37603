"""The threshold explorer's panels below the slider's: a calibrated P(same person) at a
stated prior, and the data set studied again under other engine settings."""

from __future__ import annotations

import streamlit as st

from facedemo import calibration, config, datasets, evaluation, faces, plots
from facedemo.embeddings import EmbeddingStore
from pages.common import progress_reporter, user_errors


@st.fragment
def calibration_panel(study: evaluation.PairStudy) -> None:
    """P(same person) fitted on the study, out of fold, at a prior the analyst states."""
    fitted = study.calibration_or_why
    with st.expander("A calibrated probability of “same person”"), user_errors():
        if isinstance(fitted, str):
            st.caption(f"No calibrated probability for this study: {fitted}")
            return
        prior = st.slider(
            "Prior: share of comparisons that are one person",
            *calibration.PRIOR_RANGE,
            calibration.slider_prior(fitted.study_prior),
            key="explorer_prior",
            help="It changes the probability: a close pair among mostly strangers is less "
            f"likely one person. This study's own share is {plots.percent(fitted.study_prior)}.",
        )
        st.caption(
            f"Fitted by {calibration.METHOD_NAMES[fitted.method]} on {fitted.pairs:,} pairs; "
            "judged out of fold "
            f"({fitted.folds} folds of {fitted.folds_of}: no pair is predicted by a fit that "
            f"saw it{' or its first person' if fitted.folds_of == 'people' else ''}). "
            f"{fitted.judged()}"
            + (" The Verify page uses it for this engine." if study.engine else "")
        )
        st.dataframe(
            fitted.probability_table(*study.analysis.distance_range(), prior),
            hide_index=True,
            key="calibration_table",
            column_config={
                "distance": st.column_config.NumberColumn(format="%.4f"),
            },
        )
        st.plotly_chart(plots.reliability_figure(fitted.reliability), key="reliability")


def compare_panel(
    dataset: datasets.IdentityDataset,
    engine: faces.Engine,
    max_negatives: int,
    scheduler: str | None,
    store: EmbeddingStore,
) -> None:
    """The data set studied again under other engine settings, side by side."""
    with st.expander("Compare engine settings on this data set"):
        candidates = {other.label: other for other in faces.comparable_engines(engine)}
        chosen = st.multiselect(
            "Settings",
            list(candidates),
            key="compare_settings",
            default=[
                other.label
                for other in evaluation.comparison_defaults(engine)
                if other.label in candidates
            ],
            help="Each setting embeds every photo once (then the store remembers it).",
        )
        if st.button("Compare", key="compare_run") and chosen:
            with user_errors():
                bar, report = progress_reporter("Embedding")
                table = evaluation.compare_engines(
                    dataset,
                    [candidates[label] for label in chosen],
                    store,
                    report,
                    max_negatives,
                    jobs=config.embedding_jobs(),
                    scheduler=scheduler,
                )
                bar.empty()
            st.dataframe(
                table,
                hide_index=True,
                column_config={
                    "setting": st.column_config.TextColumn("Engine setting", pinned=True),
                    "different_pairs": st.column_config.NumberColumn(
                        "Different-person pairs", format="localized"
                    ),
                    "auc": st.column_config.NumberColumn("AUC", format="%.4f"),
                    "eer": st.column_config.NumberColumn("EER", format="percent"),
                    "best_accuracy": st.column_config.NumberColumn(
                        "Best accuracy", format="percent"
                    ),
                    "best_threshold": st.column_config.NumberColumn("at threshold", format="%.4f"),
                    "failed_images": st.column_config.NumberColumn("Photos without a face"),
                },
            )
            st.plotly_chart(plots.comparison_figure(table.to_dict("records")), key="comparison")
