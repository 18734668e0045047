"""params.yaml, the one configuration, parsed into typed and validated sections.

``load_params`` is the one loader: it layers defaults, the top-level ``profile``, the file and
overrides (dlcr_assets.params.layers) and turns any validation problem into a ``ParamsError``
whose message names the file, the key path (``training.lr``) and what is allowed there.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from dlcr_assets.params.descriptions import DescriptionsParams
from dlcr_assets.params.discriminator import DiscriminatorParams
from dlcr_assets.params.errors import ParamsError
from dlcr_assets.params.generation import GenerationParams
from dlcr_assets.params.layers import default_params_path, layered, parse_overrides, read_params_file, sources
from dlcr_assets.params.masks import MasksParams
from dlcr_assets.params.orchestration import OrchestrationParams
from dlcr_assets.params.profiles import DEFAULT_PROFILE, PROFILES
from dlcr_assets.params.prompts import PromptsParams
from dlcr_assets.params.quality import QualityParams
from dlcr_reid.params import (
    DatasetSpec,
    EvaluationParams,
    StrictModel,
    SyntheticParams,
    TrackingParams,
    TrainingParams,
    check_dataset_name,
)


class Params(StrictModel):
    # the profile whose values fill every key the file leaves unset (dlcr_assets.params.profiles)
    profile: str = DEFAULT_PROFILE
    data_dir: Path = Path("data")
    datasets: dict[str, DatasetSpec] = Field(default_factory=dict)
    synthetic: SyntheticParams = Field(default_factory=SyntheticParams)
    descriptions: DescriptionsParams = Field(default_factory=DescriptionsParams)
    prompts: PromptsParams = Field(default_factory=PromptsParams)
    masks: MasksParams = Field(default_factory=MasksParams)
    generation: GenerationParams = Field(default_factory=GenerationParams)
    discriminator: DiscriminatorParams = Field(default_factory=DiscriminatorParams)
    quality: QualityParams = Field(default_factory=QualityParams)
    training: TrainingParams = Field(default_factory=TrainingParams)
    evaluation: EvaluationParams = Field(default_factory=EvaluationParams)
    tracking: TrackingParams = Field(default_factory=TrackingParams)
    orchestration: OrchestrationParams = Field(default_factory=OrchestrationParams)

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(f"unknown profile {value!r}; allowed: {', '.join(sorted(PROFILES))}")
        return value

    @field_validator("datasets")
    @classmethod
    def _safe_names(cls, value: dict[str, DatasetSpec]) -> dict[str, DatasetSpec]:
        for name in value:
            check_dataset_name(name)
        return value

    def dataset(self, name: str) -> DatasetSpec:
        """The spec of a registered dataset, or a KeyError listing the registered names."""
        if name not in self.datasets:
            raise KeyError(f"dataset {name!r} is not in params.yaml datasets; registered: {sorted(self.datasets)}")
        return self.datasets[name]


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """Field names of the model that owns the key at ``loc`` (for 'unknown key' messages)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        else:  # dict[str, Model]: step over the key
            args = getattr(current, "__args__", ())
            current = args[-1] if args else None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return None


def format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid params ({error.error_count()} problem(s))"]
    for item in error.errors():
        loc = tuple(item["loc"])
        key = ".".join(str(p) for p in loc) or "<root>"
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(Params, loc)
            hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
            lines.append(f"  {key}: unknown key{hint}")
        else:
            lines.append(f"  {key}: {item['msg']} (got {item.get('input')!r})")
    return "\n".join(lines)


def _validate(data: dict[str, Any], source: str) -> Params:
    try:
        return Params.model_validate(data)
    except ValidationError as error:
        raise ParamsError(format_validation_error(error, source)) from None


def parse_params(data: dict[str, Any] | None, source: str = "params",
                 overrides: dict[str, Any] | None = None) -> Params:
    """Validate a params mapping (the content of a params file), profile applied."""
    merged, _ = layered(data or {}, overrides or {}, source)
    return _validate(merged, source)


def load_params(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Params:
    """Read and validate params.yaml (default: ``default_params_path()``), ``KEY=VALUE`` overrides on top."""
    path = Path(path) if path is not None else default_params_path()
    return parse_params(read_params_file(path), str(path), parse_overrides(overrides))


def resolve_params(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
                   ) -> tuple[dict[str, Any], dict[str, str]]:
    """The resolved configuration as plain data, and each leaf key's origin (for `dlcr params`)."""
    path = Path(path) if path is not None else default_params_path()
    merged, layers = layered(read_params_file(path), parse_overrides(overrides), str(path))
    resolved = _validate(merged, str(path)).model_dump(mode="json")
    return resolved, sources(resolved, layers)


__all__ = ["PROFILES", "Params", "ParamsError", "default_params_path", "load_params", "parse_params",
           "resolve_params"]
