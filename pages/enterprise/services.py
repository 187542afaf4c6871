"""Enterprise page (work in progress)."""

import streamlit as st

from ui.guards import require_role

actor = require_role("enterprise")
st.info("建设中")
