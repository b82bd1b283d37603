"""The threshold explorer's "why errors happen" panels: error versus discard for the
photos' quality measures, and error rates per group (facedemo.quality decides; these draw),
and the pairs CSV that carries both."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from facedemo import datasets, evaluation, plots
from facedemo.errors import DatasetError
from facedemo.quality import study as quality
from pages.common import show_thumbnail

#: Where the attributes table uploaded to the groups panel is kept for the pairs CSV.
ATTRIBUTES_KEPT_KEY = "explorer_attributes_table"


def pairs_csv(
    study: evaluation.PairStudy, dataset, threshold: float, uploaded_table: dict
) -> Callable[[], str]:
    """The pairs CSV, made only when the button is clicked (a slider move writes nothing),
    with the attributes table uploaded to the groups panel (``uploaded_table["table"]``,
    filled later in this run, or kept from an earlier one), else the data set's own."""
    remembered = st.session_state.get(ATTRIBUTES_KEPT_KEY)
    if remembered and remembered[0] == study_label(study):
        uploaded_table.setdefault("table", remembered[1])

    def make() -> str:
        chosen = uploaded_table.get("table")
        if chosen is None and isinstance(dataset, datasets.IdentityDataset):
            try:
                chosen = datasets.folder_attributes(dataset)
            except DatasetError:  # the groups panel says why
                chosen = None
        return quality.pairs_export(study, threshold, chosen).to_csv(index=False)

    return make


def study_label(study: evaluation.PairStudy) -> tuple[str, str]:
    return study.name, study.engine_label


def quality_panel(study: evaluation.PairStudy, dataset, threshold: float) -> None:
    """Error versus discard for the photos' quality measures at the slider's threshold. Its
    body runs only while it is open, so a closed panel costs a slider move nothing."""
    with st.expander(
        "Why errors happen (1): photo quality, error versus discard",
        key="explorer_quality_open",
        on_change="rerun",
    ) as panel:
        if not panel.open:
            return
        reason = quality.no_measures_reason(study)
        if reason:
            st.info(reason)
            return
        analysed = quality.study_quality(study)
        labels = {m.name: m.label for m in analysed.measures}
        chosen = st.multiselect(
            "Quality measures",
            list(labels),
            default=list(labels)[:1],
            format_func=labels.get,
            key="explorer_quality_measures",
            help="Each gets its own figure: discard the pairs whose worse photo scores lowest "
            "and see how many errors are left at this threshold.",
        )
        for name in chosen:
            show_edc(analysed, name, dataset, threshold)


def show_edc(analysed: quality.StudyQuality, name: str, dataset, threshold: float) -> None:
    """One measure's EDC: its figures of merit, the figure and caption, and the photos
    behind the wrong pairs."""
    edc = analysed.edc(name, threshold)
    halving = edc.fnmr.halving_fraction()
    start, halved, area = st.columns(3)
    start.metric(
        "FNMR · FMR, nothing discarded",
        f"{plots.percent(edc.at_zero.frr)} · {plots.percent(edc.at_zero.far)}",
        help="The explorer's FRR and FAR at this threshold: where both curves start.",
    )
    halved.metric(
        "Discarded to halve FNMR",
        "never" if halving is None else plots.percent(halving, 1),
        help="The smallest share of same-person pairs, lowest quality first, whose discard "
        "leaves at most half the false non-match rate.",
    )
    area.metric(
        f"Partial area to {plots.percent(edc.discard_limit, 0)}",
        f"{edc.fnmr.partial_area(edc.discard_limit):.3g}",
        help=f"Area under the FNMR curve up to {plots.percent(edc.discard_limit, 0)} "
        f"discarded (lower is better); a perfect measure: "
        f"{edc.fnmr.ideal_partial_area(edc.discard_limit):.3g}.",
    )
    st.plotly_chart(plots.edc_figure(edc), key=f"edc_{name}")
    st.caption(plots.edc_caption(edc))
    if edc.unmeasured:
        st.caption(
            f"{edc.unmeasured:,} pairs have a photo this measure could not rate; they count "
            "as the lowest quality and are discarded first."
        )
    culprits = analysed.culprits(name, threshold)
    if culprits.empty:
        return
    st.markdown("**Which photos drag it down**: the worse photo of the wrong pairs, lowest first")
    unit = analysed.measure(name).unit
    for column, row in zip(st.columns(len(culprits)), culprits.itertuples(), strict=True):
        if isinstance(dataset, datasets.IdentityDataset):
            show_thumbnail(column, dataset.root / row.file)
        value = "not measured" if pd.isna(row.quality) else f"{row.quality:.4g} {unit}".strip()
        column.caption(
            f"{datasets.display_name(row.identity)} · {value}  \n"
            f"{row.false_non_matches} own pairs rejected, {row.false_matches} stranger pairs "
            "accepted"
        )


def attributes_table(
    study: evaluation.PairStudy, dataset, uploaded_table: dict
) -> tuple[datasets.AttributesTable | None, str]:
    """The attributes table the groups come from, and where it came from: an upload (also
    kept in ``uploaded_table`` and the session for the pairs CSV), else the data set's own
    attributes.csv. A bad table is said in one sentence and left out."""
    uploaded = st.file_uploader(
        "Attributes table (CSV)",
        type=["csv"],
        key="explorer_attributes",
        help="An identity column and up to 8 label columns (camera, site, age band …), one "
        "row per person; without one, the groups are the photos' quality bands.",
    )
    known = study.person_index[0]
    st.session_state.pop(ATTRIBUTES_KEPT_KEY, None)
    uploaded_table.pop("table", None)
    try:
        if uploaded is not None:
            table = datasets.load_attributes_csv(uploaded.getvalue(), known, what=uploaded.name)
            st.session_state[ATTRIBUTES_KEPT_KEY] = (study_label(study), table)
            uploaded_table["table"] = table
            return table, uploaded.name
        if isinstance(dataset, datasets.IdentityDataset):
            table = datasets.folder_attributes(dataset)
            return table, f"{datasets.ATTRIBUTES_CSV} of {dataset.name}"
    except DatasetError as error:
        st.error(f"{error} The groups below come from quality bands instead.")
    return None, ""


def groups_panel(
    study: evaluation.PairStudy, dataset, threshold: float, uploaded_table: dict
) -> None:
    """Error rates per group at the slider's threshold, as NIST's report cards give them.
    Its body runs only while it is open."""
    with st.expander(
        "Why errors happen (2): error rates per group",
        key="explorer_groups_open",
        on_change="rerun",
    ) as panel:
        if not panel.open:
            return
        if not study.knows_people:
            st.info(quality.groups_note(study, None))
            return
        table, source = attributes_table(study, dataset, uploaded_table)
        analysed = quality.study_quality(study)
        if table is not None:
            for note in table.notes:
                st.info(note)
            st.caption(f"Groups from {source}: one global threshold, {threshold:.4f}.")
            reports = analysed.groups(threshold, table)
        elif analysed.measures:
            labels = {m.name: m.label for m in analysed.measures}
            band = st.selectbox(
                "No attributes table: group the photos by their band of",
                list(labels),
                format_func=labels.get,
                key="explorer_band_measure",
                help="Each photo's measure cut at its tertiles: low, medium and high. A pair "
                "counts for a band when both its photos are in it.",
            )
            reports = analysed.groups(threshold, band_measure=band)
        else:
            st.info(quality.groups_note(study, None))
            return
        for report in reports:
            show_group_report(report)


def show_group_report(report) -> None:
    """One attribute's groups: summaries, warnings, the table and the heat map."""
    st.markdown(f"**By {report.attribute}.** {report.differentials.sentence}")
    for column, (label, value) in zip(
        st.columns(3), quality.differential_figures(report.differentials).items(), strict=True
    ):
        column.metric(label, value)
    for group in report.groups:
        if group.warning:
            st.warning(group.warning)
    st.dataframe(
        quality.group_table(report),
        hide_index=True,
        key=f"groups_{report.attribute}",
        column_config={
            "group": st.column_config.TextColumn("group", pinned=True),
            "positives": st.column_config.NumberColumn("same-person pairs"),
            "negatives": st.column_config.NumberColumn("different-person pairs"),
            "fmr": st.column_config.NumberColumn("FMR", format="percent"),
            "fmr_people": st.column_config.TextColumn("FMR 95 % (resampling people)"),
            "fmr_pairs": st.column_config.TextColumn("FMR 95 % (counting pairs)"),
            "fnmr": st.column_config.NumberColumn("FNMR", format="percent"),
            "fnmr_people": st.column_config.TextColumn("FNMR 95 % (resampling people)"),
            "fnmr_pairs": st.column_config.TextColumn("FNMR 95 % (counting pairs)"),
            "too_few": st.column_config.CheckboxColumn("too few to say"),
        },
    )
    if report.per_photo and report.mixed_same_pairs:
        st.caption(
            f"{report.mixed_same_pairs:,} same-person pairs have their photos in two groups "
            "and count for no group's FNMR."
        )
    st.plotly_chart(
        plots.cross_group_figure(report.cross, report.attribute),
        key=f"cross_{report.attribute}",
    )
    st.caption(plots.cross_group_caption(report.cross, report.differentials))
