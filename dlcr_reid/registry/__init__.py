"""The MLflow model registry: trained checkpoints as pyfunc embedders, versioned per dataset and mode."""
from dlcr_reid.registry.versions import CHAMPION, model_name, promote, register_checkpoint

__all__ = ["CHAMPION", "model_name", "promote", "register_checkpoint"]
