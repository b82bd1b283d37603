"""facedemo: the Streamlit entry point. Sets up navigation over the pages and nothing else."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st

from facedemo import config

# The tab icon is a local SVG: a ":material/...:" page_icon is fetched from fonts.gstatic.com.
FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.svg"
st.set_page_config(page_title="facedemo", page_icon=str(FAVICON), layout="wide")
config.install_offline_weights()

navigation = st.navigation(
    [
        st.Page("pages/verify.py", title="Verify", icon=":material/how_to_reg:", default=True),
        st.Page("pages/explorer.py", title="Threshold explorer", icon=":material/tune:"),
        st.Page("pages/monitor.py", title="Training monitor", icon=":material/monitoring:"),
    ]
)
st.sidebar.caption("facedemo · face verification you can see, tune and train")
navigation.run()
