"""ReID evaluation: features, cosine distances, the field's metrics, per-dataset protocols,
test-time prediction refinement and reports."""
from dlcr_reid.evaluation.distance import cosine_distance, cosine_similarity
from dlcr_reid.evaluation.evaluate import evaluate_checkpoint, evaluate_model, input_size_from_meta
from dlcr_reid.evaluation.features import extract_image_features, extract_video_features, video_clips
from dlcr_reid.evaluation.metrics import MODES, evaluate
from dlcr_reid.evaluation.protocols import PROTOCOLS, Protocol, dataset_format, protocols_for
from dlcr_reid.evaluation.refinement import refine_distances, select_variant_rows, stack_views
from dlcr_reid.evaluation.report import markdown_table, write_report

__all__ = [
    "MODES",
    "PROTOCOLS",
    "Protocol",
    "cosine_distance",
    "cosine_similarity",
    "dataset_format",
    "evaluate",
    "evaluate_checkpoint",
    "evaluate_model",
    "extract_image_features",
    "extract_video_features",
    "input_size_from_meta",
    "markdown_table",
    "protocols_for",
    "refine_distances",
    "select_variant_rows",
    "stack_views",
    "video_clips",
    "write_report",
]
