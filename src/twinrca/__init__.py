"""TwinRCA."""
