"""TwinRCA predict package."""
