"""Generation: the resumable, shardable inpainting engine, query variants and released-data interop."""
from dlcr_assets.generation.engine import generate_images, generate_query_variants
from dlcr_assets.generation.manifest import MANIFEST_COLUMNS, merge_manifest
from dlcr_assets.generation.planning import PlannedImage, plan_generation, plan_query_variants, shard_rows
from dlcr_assets.generation.released import export_released, import_released

__all__ = ["MANIFEST_COLUMNS", "PlannedImage", "export_released", "generate_images", "generate_query_variants",
           "import_released", "merge_manifest", "plan_generation", "plan_query_variants", "shard_rows"]
