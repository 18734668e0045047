"""The plan cache: a shard's generation plan saved beside the manifest, keyed by what shapes the plan.

Planning 2M images is seconds of Python per run; a rerun or a shard with the same inputs reads the
plan back instead. The key digests the columns of the index, masks and prompts tables that the
planner reads (content, via pandas' vectorised row hashes), the settings that shape the plan
(pool, variants_per_image, seed), the output folder, the dataset name and the shard: any change
makes the cache stale and the plan is rebuilt (and saved again). The file is
``<out_dir>/manifest/plan-<k>-of-<n>.parquet`` with the key in its metadata; written atomically.
A plan read back is a ``ColumnarPlan`` over the table (columnar.py): no object per image is built.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from dlcr_assets.fingerprint import fingerprint
from dlcr_assets.generation.columnar import SHARED, ColumnarPlan, gc_paused
from dlcr_assets.generation.columnar import COLUMNS as PLAN_COLUMNS
from dlcr_assets.generation.planning import PlannedImage, plan_generation
from dlcr_assets.params.generation import GenerationParams
from dlcr_reid.io import atomic_write

log = logging.getLogger(__name__)

PLAN_FORMAT = "plan/1"  # bump when planning changes what it plans for the same inputs
KEY = b"dlcr_plan_key"
# the columns planning reads from each table
COLUMNS = {"index": ["path", "pid", "clothes_id", "split"], "masks": ["path", "mask_path", "parsing_path", "status"],
           "prompts": ["outfit_key", "pid", "clothes_id", "prompt", "source"]}
STORED = [name for name in PLAN_COLUMNS if name != "fingerprint"]


def table_digest(table: pd.DataFrame, columns: list[str]) -> str:
    """A digest of ``columns`` of every row, in order (one vectorised hash per row, then one over them)."""
    present = [c for c in columns if c in table.columns]
    # dtypes matter too (int64 vs Int64 hash differently): a table read back from the same parquet
    # file has the same ones, and a mismatch only costs a replan
    rows = pd.util.hash_pandas_object(table[present], index=False).to_numpy()
    return f"{len(rows)}:{','.join(present)}:{hashlib.blake2b(rows.tobytes(), digest_size=8).hexdigest()}"


def plan_key(index, masks, prompts, params: GenerationParams, out_dir: Path, dataset: str, shard) -> str:
    return fingerprint({"format": PLAN_FORMAT, "index": table_digest(index, COLUMNS["index"]),
                        "masks": table_digest(masks, COLUMNS["masks"]),
                        "prompts": table_digest(prompts, COLUMNS["prompts"]), "pool": params.pool,
                        "variants_per_image": params.variants_per_image, "seed": params.seed,
                        "out_dir": str(Path(out_dir).resolve()), "dataset": dataset, "shard": list(shard)})


def plan_path(out_dir: Path, shard) -> Path:
    return Path(out_dir, "manifest", f"plan-{shard[0]}-of-{shard[1]}.parquet")


def cached_plan(index, masks, prompts, params: GenerationParams, out_dir: Path, dataset: str,
                shard=(0, 1)) -> Sequence[PlannedImage]:
    """``plan_generation(...)``: a ColumnarPlan read from the cache when its key matches, else planned and saved."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    key = plan_key(index, masks, prompts, params, out_dir, dataset, shard).encode()
    path = plan_path(out_dir, shard)
    if path.is_file():
        try:
            if (pq.read_schema(path).metadata or {}).get(KEY) == key:
                table = pq.read_table(path, columns=STORED, read_dictionary=SHARED)
                log.info("generation plan read from %s (%d images)", path, table.num_rows)
                return ColumnarPlan(table)
            log.info("generation plan cache %s is stale (inputs or settings changed): planning again", path)
        except (OSError, pa.ArrowException, KeyError) as error:
            log.warning("generation plan cache %s unreadable (%s): planning again", path, error)
    with gc_paused():
        plan = plan_generation(index, masks, prompts, params, out_dir, dataset, shard)
    table = pa.table({name: [getattr(job, name) for job in plan] for name in STORED})
    table = table.replace_schema_metadata({KEY: key})
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        pq.write_table(table, tmp)
    return plan


__all__ = ["cached_plan", "plan_key", "plan_path"]
