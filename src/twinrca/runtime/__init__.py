"""The ``twinrca serve`` process: the incident flow, the detection and forecasting
loops, delivery, health, jobs."""

__all__: list[str] = []
