"""Alerts to NOC tools: formats, subscriptions, outbox delivery."""

__all__: list[str] = []
