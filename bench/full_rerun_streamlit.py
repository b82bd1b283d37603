"""``streamlit`` with fragments switched off: every widget change re-runs the whole page.

The browser benchmark's baseline (how the explorer answered a slider move before its
panel became a fragment). Run as ``python bench/full_rerun_streamlit.py run app.py``.
"""

import sys

import streamlit
from streamlit.web import cli


def _whole_page(function=None, **_options):
    """``st.fragment`` that decorates nothing: the function runs as part of the page."""
    return function if function is not None else (lambda inner: inner)


streamlit.fragment = _whole_page
sys.exit(cli.main())
