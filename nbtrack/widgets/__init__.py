"""Notebook widget panels (ipywidgets + plotly)."""
