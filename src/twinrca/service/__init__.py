"""TwinRCA service package."""
