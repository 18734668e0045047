"""The one error of the params package: params.yaml (or an override) is wrong; the message says where."""
from __future__ import annotations


class ParamsError(ValueError):
    """params.yaml is missing, not YAML, or fails validation; the message says where."""
