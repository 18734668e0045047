"""Dagster definitions by domain, autoloaded by definitions.py: data, generation, reid."""
