"""P x K identity batch sampler, deterministic per (seed, epoch) and sharded across DDP ranks.

Each epoch: every identity's images are shuffled (drawn with replacement up to K when it has fewer)
and cut into full chunks of K; batches take one chunk from each of P distinct identities chosen at
random among those with chunks left, until fewer than P remain. The batch list is the same on every
rank; rank r keeps batches r, r + W, ... (truncated to a multiple of W so ranks step together).
Items are ``(image index, epoch, draw)`` keys: ``draw`` (the position in the epoch) seeds that
draw's augmentation and variant choice, so duplicates of one image still differ.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from dlcr_reid.errors import ReidInputError


class PKBatchSampler(Sampler[list[tuple[int, int, int]]]):
    def __init__(
        self,
        pids: Sequence[int],
        ids_per_batch: int,
        images_per_id: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        max_batches: int | None = None,
    ) -> None:
        self.images_by_pid: dict[int, list[int]] = defaultdict(list)
        for image_index, pid in enumerate(pids):
            self.images_by_pid[int(pid)].append(image_index)
        if len(self.images_by_pid) < ids_per_batch:
            raise ReidInputError(
                f"training.ids_per_batch={ids_per_batch} but the training split has only "
                f"{len(self.images_by_pid)} identities"
            )
        self.pid_order = sorted(self.images_by_pid)
        self.ids_per_batch, self.images_per_id = ids_per_batch, images_per_id
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.max_batches = max_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """All batches of ``epoch`` (every rank's), as lists of image indices."""
        rng = np.random.default_rng([self.seed, epoch])
        chunks_by_pid: dict[int, list[list[int]]] = {}
        for pid in self.pid_order:
            images = np.array(self.images_by_pid[pid])
            if len(images) < self.images_per_id:
                images = rng.choice(images, size=self.images_per_id, replace=True)
            else:
                images = rng.permutation(images)
            full = len(images) // self.images_per_id
            chunks_by_pid[pid] = [
                images[i * self.images_per_id : (i + 1) * self.images_per_id].tolist() for i in range(full)
            ]
        batches: list[list[int]] = []
        available = [pid for pid in self.pid_order if chunks_by_pid[pid]]
        while len(available) >= self.ids_per_batch:
            chosen = sorted(rng.choice(len(available), size=self.ids_per_batch, replace=False).tolist())
            batch: list[int] = []
            for position in chosen:
                batch.extend(chunks_by_pid[available[position]].pop())
            batches.append(batch)
            # drop exhausted identities (from the back so positions stay valid)
            for position in reversed(chosen):
                if not chunks_by_pid[available[position]]:
                    available.pop(position)
        return batches

    def rank_batches(self, epoch: int) -> list[list[tuple[int, int, int]]]:
        """This rank's batches of ``epoch`` as (image index, epoch, draw) keys."""
        batches = self.epoch_batches(epoch)
        usable = len(batches) - len(batches) % self.world_size
        keyed = []
        for number in range(self.rank, usable, self.world_size):
            base = number * self.ids_per_batch * self.images_per_id
            keyed.append([(index, epoch, base + slot) for slot, index in enumerate(batches[number])])
        if self.max_batches is not None:
            keyed = keyed[: self.max_batches]
        return keyed

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        return iter(self.rank_batches(self.epoch))

    def __len__(self) -> int:
        return len(self.rank_batches(self.epoch))
