"""From streams to incidents: alarm grouping, KPI baselines and anomaly episodes,
incident detection."""

__all__: list[str] = []
