"""The pages of the app (one place, so pages can link to each other)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

__all__ = ["PAGE_NAMES", "page", "pages"]

PAGE_NAMES = ("overview", "incident", "predictions", "fmea", "twin_lab", "silences")
_TITLES = {
    "overview": ("Overview", ":material/map:"),
    "incident": ("Incident", ":material/emergency:"),
    "predictions": ("Predictions", ":material/timeline:"),
    "fmea": ("FMEA", ":material/table_chart:"),
    "twin_lab": ("Twin lab", ":material/science:"),
    "silences": ("Silences", ":material/notifications_off:"),
}


def _renderer(name: str) -> Callable[[], None]:
    from twinrca.dashboards import views

    return getattr(views, name).page


def page(name: str, *, default: bool = False) -> st.Page:
    title, icon = _TITLES[name]
    return st.Page(_renderer(name), title=title, icon=icon, url_path=name, default=default)


def pages(default: str = "overview") -> list[st.Page]:
    return [page(n, default=n == default) for n in PAGE_NAMES]
