"""How params.yaml becomes one configuration: four layers, each winning over the one before.

1. ``default``: the section models' field defaults;
2. ``profile:<name>``: the value sets of the top-level ``profile`` (dlcr_assets.params.profiles);
3. ``params.yaml``: the keys the file sets;
4. ``override``: ``KEY=VALUE`` pairs (``dlcr --set training.lr=1e-3``), values parsed as YAML.

The file is read when a caller asks (``default_params_path`` is looked up at call time, honouring
``$DLCR_PARAMS``), never at import, so the result does not depend on where a module was imported.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import yaml

from dlcr_assets.params.errors import ParamsError
from dlcr_assets.params.profiles import DEFAULT_PROFILE, profile_layer

# keys that used to live in a section; naming the new place beats "unknown key"
# (section, old key) -> where it went; {value} is the value found under the old key
_PROFILE_MOVED = "the top-level `profile` (one profile sets every section), e.g. `profile: {value}` at the top of params.yaml"
MOVED_KEYS = {
    ("generation", "profile"): _PROFILE_MOVED,
    ("training", "profile"): _PROFILE_MOVED,
    ("descriptions", "parsing_dir"): "descriptions.parsing_root: {value} must then mirror the dataset's image paths "
                                     "with .png label maps, as masks.parsing_root does (maps are no longer found by file stem)",
    ("orchestration", "regeneration_cron"): "orchestration.generated_images_cron, e.g. `generated_images_cron: '{value}'`",
}


def default_params_path() -> Path:
    """$DLCR_PARAMS if set, else ./params.yaml (relative to the working directory at call time)."""
    return Path(os.environ.get("DLCR_PARAMS") or "params.yaml")


def read_params_file(path: str | Path) -> dict[str, Any]:
    """The raw mapping of a params file, or a ParamsError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML: {error}") from None
    if data is not None and not isinstance(data, dict):
        raise ParamsError(f"{path}: top level must be a mapping of sections, got {type(data).__name__}")
    return data or {}


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """``["training.lr=1e-3", "evaluation.refinement.views=2"]`` as a nested mapping."""
    tree: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
            raise ParamsError(f"override {pair!r}: expected KEY=VALUE with a dotted key, e.g. training.lr=1e-3")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ParamsError(f"override {pair!r}: value is not valid YAML: {error}") from None
        node = tree
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ParamsError(f"override {pair!r}: {part} is already set to a value, not a section")
            node = child
        node[parts[-1]] = value
    return tree


def merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``: mappings merge key by key, any other value replaces."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def check_moved(layer: dict[str, Any], source: str) -> None:
    for (section, key), where in MOVED_KEYS.items():
        if isinstance(layer.get(section), dict) and key in layer[section]:
            raise ParamsError(f"{source}: {section}.{key} has moved: set {where.format(value=layer[section][key])}")


def layered(file_data: dict[str, Any], overrides: dict[str, Any], source: str) -> tuple[dict[str, Any], list]:
    """The merged raw mapping and its layers ``[(origin, mapping), ...]``, lowest first."""
    check_moved(file_data, source)
    check_moved(overrides, "override")
    name = overrides.get("profile", file_data.get("profile", DEFAULT_PROFILE))
    if not isinstance(name, str):
        raise ParamsError(f"{source}: profile: expected a profile name, got {name!r}")
    layers = [(f"profile:{name}", profile_layer(name, source)), ("params.yaml", file_data), ("override", overrides)]
    merged: dict[str, Any] = {}
    for _, layer in layers:
        merged = merge(merged, layer)
    merged["profile"] = name
    # the training section records its profile (checkpoints, MLflow tags); not a key users set
    if isinstance(merged.get("training"), dict):
        merged["training"] = {**merged["training"], "profile": name}
    return merged, layers


def _has(tree: Any, path: tuple[str, ...]) -> bool:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return False
        tree = tree[part]
    return True


def _leaves(tree: Any, prefix: tuple[str, ...] = ()) -> Iterable[tuple[str, ...]]:
    if isinstance(tree, dict) and tree:
        for key, value in tree.items():
            yield from _leaves(value, (*prefix, str(key)))
    else:
        yield prefix


def sources(resolved: dict[str, Any], layers: list) -> dict[str, str]:
    """For every leaf key of ``resolved`` (dotted), the origin of its value: the highest layer setting it."""
    origins = {}
    for path in _leaves(resolved):
        origin = "default"
        for name, layer in layers:
            if _has(layer, path):
                origin = name
        origins[".".join(path)] = origin
    return origins
