"""All assets, grouped by domain: data, generation, reid."""
from dagster_project.assets.data import dataset_index, synthetic_dataset
from dagster_project.assets.generation import (
    clothing_descriptions,
    clothing_masks,
    clothing_prompts,
    generated_images,
    query_variants,
)
from dagster_project.assets.reid import comparison_report, evaluation_reports, reid_checkpoint_baseline, reid_checkpoint_dlcr

# per-dataset assets before generation (one run of the pipeline job per new dataset)
PREPARE_ASSETS = [dataset_index, clothing_descriptions, clothing_prompts, clothing_masks, query_variants, reid_checkpoint_baseline]
# after generation; the automation sensor runs them once their inputs exist
FINISH_ASSETS = [reid_checkpoint_dlcr, evaluation_reports, comparison_report]
ALL_ASSETS = [synthetic_dataset, *PREPARE_ASSETS, generated_images, *FINISH_ASSETS]
