"""HTTP routes served by the Streamlit process itself (serve.py mounts them with ``st.App``)."""
