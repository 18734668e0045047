"""Two CPU processes (gloo) train with DistributedDataParallel and end with identical weights."""
import os
import socket
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from dlcr_reid.params import EvaluationParams, TrackingParams
from dlcr_reid.training import ReidTrainer
from training_support import make_index, make_manifest, tiny_params


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rank_main(rank: int, world_size: int, port: int, root: str) -> None:
    # what torchrun sets for each process
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    import pandas as pd

    index = pd.read_parquet(Path(root) / "index.parquet")
    manifest = pd.read_parquet(Path(root) / "manifest.parquet")
    tracking = TrackingParams(uri=f"sqlite:///{Path(root) / 'mlflow.db'}")
    trainer = ReidTrainer(index, manifest, tiny_params(epochs=1), EvaluationParams(), tracking,
                          Path(root) / "out", "dlcr", device="cpu")
    assert dist.get_backend() == "gloo" and trainer.dist.world_size == 2
    batches = [[key[0] for key in batch] for batch in trainer.sampler.rank_batches(0)]
    # keep the process group alive after fit to gather what each rank saw
    trainer.dist.owns_group = False
    trainer.fit()
    state = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    state.update({f"clothes.{k}": v.clone() for k, v in trainer.clothes_classifier.state_dict().items()})
    torch.save({"state": state, "batches": batches}, Path(root) / f"rank{rank}.pt")
    dist.destroy_process_group()


def test_two_gloo_ranks_hold_identical_weights(tmp_path):
    index = make_index(tmp_path / "raw")
    make_manifest(index, tmp_path / "generated").to_parquet(tmp_path / "manifest.parquet")
    index.to_parquet(tmp_path / "index.parquet")
    mp.spawn(_rank_main, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert ranks[0]["batches"] and ranks[0]["batches"] != ranks[1]["batches"]  # each rank its own shard
    for name, value in ranks[0]["state"].items():
        assert torch.equal(value, ranks[1]["state"][name]), name
    # rank 0 alone wrote the checkpoint
    assert sorted(p.name for p in (tmp_path / "out").glob("*.safetensors")) == ["best.safetensors", "epoch-001.safetensors"]
