"""TwinRCA twin_replay package."""
