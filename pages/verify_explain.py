"""Verify's "see what the model sees" sections: which parts of the two faces decided the
pair (occlusion maps), and where a looked-up face sits among the gallery's (a 2-D map).
facedemo.explain computes both; these draw them."""

from __future__ import annotations

import streamlit as st

from facedemo import explain as explaining
from facedemo import faces, identify
from facedemo.plots.explain import gallery_map_figure, occlusion_figure
from pages.common import user_errors


def where_faces_live(result: identify.Identification) -> None:
    """The gallery's embeddings in two dimensions, with the face looked up among them."""
    st.subheader("Where faces live")
    method = st.radio(
        "Projection",
        explaining.METHODS,
        key="map_method",
        horizontal=True,
        format_func={"pca": "PCA (a fixed projection)", "tsne": "t-SNE (keeps neighbours)"}.get,
    )
    with user_errors():
        space = explaining.identification_map(result, method)
        st.plotly_chart(
            gallery_map_figure(
                space.x, space.y, space.people, space.files, space.probe, space.within_threshold
            ),
            key="gallery_map",
            width="stretch",
        )
        st.caption(space.caption())


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
        with st.spinner("Greying patches and measuring the distance again..."), user_errors():
            explanation = explaining.explain_faces(*crops, result.engine)
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
