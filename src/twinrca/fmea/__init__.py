"""TwinRCA fmea package."""
