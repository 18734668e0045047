"""Tiny saved models placed where the Hugging Face hub cache would hold a production model id.

With the cache pointed here in offline mode, ``from_pretrained("<org>/<name>")`` loads the tiny
model through the same code path a user's real checkpoint takes.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


def install_in_hf_cache(folder: Path, hub_cache: Path, model_id: str) -> Path:
    """Copy a saved model folder into ``hub_cache`` as ``model_id``: models--ORG--NAME/snapshots/<sha>/ + refs/main."""
    repo_folder = Path(hub_cache) / ("models--" + model_id.replace("/", "--"))
    sha = hashlib.sha1(model_id.encode()).hexdigest()
    snapshot = repo_folder / "snapshots" / sha
    if snapshot.exists():
        shutil.rmtree(snapshot)
    shutil.copytree(folder, snapshot)
    (repo_folder / "refs").mkdir(parents=True, exist_ok=True)
    (repo_folder / "refs" / "main").write_text(sha)
    return snapshot


def use_offline_cache(monkeypatch, hub_cache: Path) -> None:
    """Point this process and its children at ``hub_cache`` in offline mode.

    The hub libraries copy these settings into module constants at import time, so the constants
    are patched as well as the environment.
    """
    hub_cache = Path(hub_cache)
    settings = {"HF_HOME": str(hub_cache.parent), "HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1"}
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setattr(hub_constants, "HF_HOME", str(hub_cache.parent))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    for module_name in ("diffusers.utils.constants", "transformers.utils.hub", "diffusers.utils.hub_utils",
                        "diffusers.pipelines.pipeline_utils", "diffusers.models.modeling_utils"):
        try:
            module = __import__(module_name, fromlist=["_"])
        except ImportError:
            continue
        for attr, value in (("HF_HUB_OFFLINE", True), ("HF_HUB_CACHE", str(hub_cache)),
                            ("HUGGINGFACE_HUB_CACHE", str(hub_cache)), ("DIFFUSERS_CACHE", str(hub_cache))):
            if hasattr(module, attr):
                monkeypatch.setattr(module, attr, value)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
