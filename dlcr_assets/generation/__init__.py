"""Generation: the resumable, shardable inpainting engine, query variants and released-data interop."""
from dlcr_assets.generation.engine import generate_images, generate_query_variants, plan_generation
from dlcr_assets.generation.manifest import MANIFEST_COLUMNS, merge_manifest
from dlcr_assets.generation.released import export_released, import_released

__all__ = ["MANIFEST_COLUMNS", "export_released", "generate_images", "generate_query_variants",
           "import_released", "merge_manifest", "plan_generation"]
