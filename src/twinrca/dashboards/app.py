"""The TwinRCA dashboard (Streamlit): ``streamlit run src/twinrca/dashboards/app.py``.

Normally started by :func:`twinrca.dashboards.launch.launch` (``twinrca dashboard``),
which sets the ``TWINRCA_DASHBOARD_*`` variables (see :mod:`twinrca.dashboards.config`).
"""

from __future__ import annotations

import streamlit as st

from twinrca.dashboards import nav

__all__ = ["main"]


def main(default: str = "overview") -> None:
    """Page set-up and navigation; ``default`` is the page opened first (tests use it)."""
    st.set_page_config(page_title="TwinRCA", page_icon=":material/cell_tower:", layout="wide")
    st.navigation(nav.pages(default), position="sidebar").run()


if __name__ == "__main__":
    main()
