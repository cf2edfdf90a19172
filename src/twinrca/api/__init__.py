"""The HTTP API (FastAPI)."""

__all__: list[str] = []
