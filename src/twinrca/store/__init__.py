"""TwinRCA store package."""
