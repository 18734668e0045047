"""Dagster code location of DLCR: assets, checks, jobs, sensor, schedule and resources (no algorithms)."""
