"""facedemo: the Streamlit entry point. Sets up navigation over the pages and nothing else."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st

from facedemo import config

st.set_page_config(page_title="facedemo", page_icon="🙂", layout="wide")
config.install_offline_weights()

navigation = st.navigation(
    [
        st.Page("pages/verify.py", title="Verify", icon="🔍", default=True),
        st.Page("pages/explorer.py", title="Threshold explorer", icon="📊"),
        st.Page("pages/monitor.py", title="Training monitor", icon="📈"),
    ]
)
st.sidebar.caption("facedemo · face verification you can see, tune and train")
navigation.run()
