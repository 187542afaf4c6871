"""Streamlit-only helpers shared by the pages (navigation, guards, charts, tables, formats)."""
