"""The server entry point: the Streamlit app (Home.py) plus the HTTP routes of api/routes.py, in one
process — ``streamlit run serve.py`` (Streamlit finds the ``st.App`` below and serves it on its own
Starlette server: the pages' websocket and ``/api/v1/…``, ``/healthz`` share one port)."""

import streamlit as st

from api.routes import ROUTES

app = st.App("Home.py", routes=ROUTES)
