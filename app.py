"""facedemo: the Streamlit entry point. Sets up navigation over the pages and nothing else."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The live camera's SRTP library must load before TensorFlow, which lends its own SSL
# library to every module loaded after it; pylibsrtp would crash the server on that one.
import pylibsrtp  # noqa: F401, I001

import streamlit as st

from facedemo import config
from pages.common import presenter_toggle, presenting

# The tab icon is a local SVG: a ":material/...:" page_icon is fetched from fonts.gstatic.com.
st.set_page_config(
    page_title="facedemo",
    page_icon=str(config.asset("favicon.svg")),
    layout="wide",
    initial_sidebar_state="collapsed" if presenting() else "auto",
)
config.install_offline_weights()
presenter_toggle()

navigation = st.navigation(
    [
        st.Page("pages/verify.py", title="Verify", icon=":material/how_to_reg:", default=True),
        st.Page("pages/explorer.py", title="Threshold explorer", icon=":material/tune:"),
        st.Page("pages/monitor.py", title="Training monitor", icon=":material/monitoring:"),
    ]
)
st.sidebar.caption("facedemo · face verification you can see, tune and train")
navigation.run()
