"""The server entry point: the Streamlit app (Home.py) plus the HTTP routes of api/routes.py, in one
process — ``streamlit run serve.py`` (Streamlit finds the ``st.App`` below and serves it on its own
Starlette server: the pages' websocket and ``/api/v1/…``, ``/healthz`` share one port)."""

import streamlit as st
from streamlit import net_util

from api.routes import ROUTES

# Streamlit 1.67 asks checkip.amazonaws.com for the machine's public address whenever a WebSocket arrives
# from a page of another origin (any site an officer has open can send one), blocking the server for up to
# two seconds each time; a government intranet has no internet. "" is its remembered "no public address".
# (Its start-up banner's lookup is switched off by browser.serverAddress in .streamlit/config.toml.)
net_util._external_ip = ""

app = st.App("Home.py", routes=ROUTES)
