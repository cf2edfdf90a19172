"""Twin runs that train the diagnoser and the fault-risk models (cached)."""

__all__: list[str] = []
