"""TwinRCA ingest package."""
