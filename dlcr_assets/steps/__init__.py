"""One call per pipeline step: what the `dlcr` commands (so DVC) and the Dagster assets both call.

Each function takes the loaded params and a dataset name (+ shard / mode / device), resolves every
argument in one place (paths from ``DatasetPaths``, the dataset's root and format, the shard),
calls the step's library function and writes its files. A command and an asset therefore hand
the library the same arguments; they differ only in what they print or record.
"""
from dlcr_assets.steps.common import (StepRun, check_mode, check_shard, dataset_format, dataset_root, dataset_spec,
                                      layout, load_input, parse_shard)
from dlcr_assets.steps.data import (clothing_descriptions, clothing_masks, clothing_prompts, dataset_index,
                                    synthetic_dataset)
from dlcr_assets.steps.generation import (discriminator, generated_images, guided, guided_images, query_variants,
                                          unguided)
from dlcr_assets.steps.quality import generation_quality, kept_variants, reference_checkpoint
from dlcr_assets.steps.reid import comparison_report, evaluation_reports, reid_checkpoint

__all__ = ["StepRun", "check_mode", "check_shard", "clothing_descriptions", "clothing_masks", "clothing_prompts",
           "comparison_report", "dataset_format", "dataset_index", "dataset_root", "dataset_spec", "discriminator",
           "evaluation_reports", "generated_images", "generation_quality", "guided", "guided_images", "kept_variants",
           "layout", "load_input", "parse_shard", "query_variants", "reference_checkpoint", "reid_checkpoint",
           "synthetic_dataset", "unguided"]
