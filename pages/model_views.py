"""The "see what the model sees" sections: which parts of the two faces decided Verify's
pair (occlusion maps), where a looked-up face sits among the gallery's, and where a whole
data set's faces live (the explorer). facedemo.explain computes them; these draw them."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from facedemo import datasets, faces, identify
from facedemo import explain as explaining
from facedemo.embeddings import EmbeddingStore
from facedemo.plots.explain import gallery_map_figure, occlusion_figure
from pages.common import panel_errors, show_thumbnail

#: How each projection is offered.
METHOD_NAMES = {"pca": "PCA (a fixed projection)", "tsne": "t-SNE (keeps neighbours)"}


def projection_choice(key: str) -> str:
    """PCA or t-SNE, for a map of where faces live."""
    return st.radio(
        "Projection", explaining.METHODS, key=key, horizontal=True, format_func=METHOD_NAMES.get
    )


def where_faces_live(result: identify.Identification) -> None:
    """The gallery's embeddings in two dimensions, with the face looked up among them."""
    st.subheader("Where faces live")
    method = projection_choice("map_method")
    with panel_errors():
        space = explaining.identification_map(result, method)
        picked = st.plotly_chart(
            gallery_map_figure(
                space.x, space.y, space.people, space.files, space.probe, space.within_threshold
            ),
            key="gallery_map",
            width="stretch",
            on_select="rerun",
            selection_mode=("points", "box", "lasso"),
        )
        st.caption(space.caption())
        show_picked_photos(picked, result.gallery.root, space.files)


#: Most photos shown under a map for the points picked on it.
PICKED_SHOWN = 8


def show_picked_photos(picked, root: Path, files: tuple[str, ...]) -> None:
    """The photos behind the points picked on a map (a click, a box or a lasso), as
    thumbnails: a Plotly hover label cannot show a picture. Only the map's own ``files``
    are shown (the selection comes from the browser)."""
    mapped = set(files)
    picked_files = dict.fromkeys(map(_file_of, picked.selection.points))
    chosen = [file for file in picked_files if file in mapped]
    if not chosen:
        st.caption("Click a point, or drag a box round several, to see their photos here.")
        return
    for column, file in zip(st.columns(PICKED_SHOWN), chosen[:PICKED_SHOWN], strict=False):
        show_thumbnail(column, root / file, file)
    if len(chosen) > PICKED_SHOWN:
        st.caption(f"The first {PICKED_SHOWN} of the {len(chosen)} photos picked.")


def _file_of(point: dict) -> str | None:
    """The photo behind a picked point (its customdata: one value, or a list of one)."""
    value = point.get("customdata")
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def why_same_or_different(result: faces.Verification) -> None:
    """The occlusion maps of the pair and their deletion check, made on demand (seconds)."""
    st.subheader("Why same / why different?")
    crops = [face.crop for face in result.faces]
    explanation = explaining.cached_explanation(*crops, result.engine)
    if explanation is None:
        st.caption(
            f"Greys each face a patch at a time and measures the distance again "
            f"({explaining.PASS_BUDGET} embeddings, a few seconds)."
        )
        if not st.button("Show which parts of the faces decided it", key="explain_pair"):
            return
        with st.spinner("Greying patches and measuring the distance again..."), panel_errors():
            explanation = explaining.explain_faces(*crops, result.engine)
        if explanation is None:  # said above
            return
    st.plotly_chart(
        occlusion_figure(explanation.crops, explanation.maps, ("Face A", "Face B")),
        key="occlusion_map",
        width="stretch",
    )
    st.caption(explaining.HOW_TO_READ)
    check = explanation.deletion_check
    columns = st.columns(3)
    columns[0].metric(f"Top {check.share:.0%} greyed", f"{check.top:+.4f}")
    columns[1].metric("Random sets greyed", f"{check.random:+.4f}")
    columns[2].metric(
        "Embeddings", f"{explanation.passes}", help=f"{explanation.seconds:.2f} s on this machine"
    )
    (st.success if check.passed else st.warning)(check.sentence())


def dataset_map_panel(
    dataset: datasets.IdentityDataset, engine: faces.Engine, store: EmbeddingStore
) -> None:
    """The explorer's "where faces live": a data set's photos in two dimensions, one colour
    a person. Its body runs only while it is open (a map of thousands costs seconds)."""
    with st.expander(
        "Where faces live: this data set's photos in two dimensions",
        key="explorer_map_open",
        on_change="rerun",
    ) as panel:
        if not panel.open:
            return
        method = projection_choice("explorer_map_method")
        space = None
        with panel_errors(), st.spinner("Placing the photos..."):
            gallery = identify.build_gallery(dataset, engine, store)  # the study's vectors
            space, total = explaining.dataset_map(gallery, engine, method)
        if space is None:  # said above
            return
        picked = st.plotly_chart(
            gallery_map_figure(space.x, space.y, space.people, space.files),
            key="explorer_map",
            width="stretch",
            on_select="rerun",
            selection_mode=("points", "box", "lasso"),
        )
        shown = "" if total == len(space) else f" (a sample of {len(space):,} of {total:,})"
        st.caption(f"Each dot a photo{shown}, one colour a person. {space.caption()}")
        show_picked_photos(picked, dataset.root, space.files)
