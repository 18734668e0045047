"""Dagster code location of DLCR: assets, checks, jobs, sensor, schedule and resources (no algorithms)."""
import warnings

from dagster import BetaWarning, PreviewWarning

# Partitioned asset checks and MultiToSingleDimensionPartitionMapping are deliberate choices (the
# dataset x shard fan-out needs them); their beta/preview notices would bury every command's output.
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)
