"""A page with a bug, for tests/e2e/test_faults.py: the one error boundary (ui/errors.py) answers it."""

import streamlit as st

from ui.errors import install

install()
st.title("有缺陷的页面")
if st.button("出错"):
    raise ValueError("a bug whose text names postgresql://innovation:secret@db-host/innovation")
