"""The pages of the dashboard; each module exposes ``page()`` (signs in, then renders)."""

from twinrca.dashboards.views import fmea, incident, overview, predictions, silences, twin_lab

__all__ = ["fmea", "incident", "overview", "predictions", "silences", "twin_lab"]
