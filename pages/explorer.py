"""Threshold explorer (being built): every pair of an identity data set and the threshold."""

import streamlit as st

st.title("Threshold explorer")
st.info(
    "Coming next: every same-person and different-person pair of a data set, live "
    "histograms of their distances and a threshold slider with every metric."
)
