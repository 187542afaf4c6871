"""Entry point: authenticate, then route to the pages of the current role.

Run with ``streamlit run Home.py`` (``make run`` does everything).
"""

import streamlit as st

from ui.navigation import pages_for

st.set_page_config(page_title="企业创新积分", page_icon=":material/insights:", layout="wide")

# Authentication (issue 3) decides the role; anonymous visitors see the public pages.
role: str | None = None

st.navigation(pages_for(role)).run()
