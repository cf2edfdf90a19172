"""TwinRCA causal package."""
