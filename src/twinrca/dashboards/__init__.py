"""TwinRCA dashboards package."""
