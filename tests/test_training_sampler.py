"""P x K identity sampler: batch structure, determinism, DDP sharding."""
from collections import Counter

import pytest

from dlcr_reid.errors import ReidInputError
from dlcr_reid.training.sampler import PKBatchSampler

# 6 identities with 2..7 images each
PIDS = [pid for pid in range(6) for _ in range(2 + pid)]


def test_batches_hold_p_identities_times_k_images():
    sampler = PKBatchSampler(PIDS, ids_per_batch=3, images_per_id=2, seed=1)
    batches = sampler.epoch_batches(0)
    assert batches
    for batch in batches:
        counts = Counter(PIDS[i] for i in batch)
        assert len(counts) == 3 and set(counts.values()) == {2}


def test_identity_with_fewer_than_k_images_is_drawn_with_replacement():
    sampler = PKBatchSampler([0, 1, 1, 1, 1, 2, 2, 2, 2], ids_per_batch=3, images_per_id=4, seed=0)
    batch = sampler.epoch_batches(0)[0]
    assert batch.count(0) == 4  # identity 0 has one image


def test_same_seed_same_epoch_same_batches_and_epochs_differ():
    first, second = PKBatchSampler(PIDS, 2, 2, seed=5), PKBatchSampler(PIDS, 2, 2, seed=5)
    assert first.epoch_batches(3) == second.epoch_batches(3)
    assert first.epoch_batches(3) != first.epoch_batches(4)


def test_ranks_get_disjoint_equal_shards_with_unique_draw_keys():
    ranks = [PKBatchSampler(PIDS, 2, 2, seed=2, rank=r, world_size=2) for r in range(2)]
    shards = [r.rank_batches(0) for r in ranks]
    assert len(shards[0]) == len(shards[1]) > 0
    draws = [key[2] for shard in shards for batch in shard for key in batch]
    assert len(draws) == len(set(draws))
    everything = PKBatchSampler(PIDS, 2, 2, seed=2).epoch_batches(0)
    assert [[k[0] for k in b] for b in shards[0]] == everything[0 : 2 * len(shards[0]) : 2]


def test_max_batches_and_too_few_identities():
    assert len(PKBatchSampler(PIDS, 2, 2, max_batches=1)) == 1
    with pytest.raises(ReidInputError, match="ids_per_batch"):
        PKBatchSampler([0, 0, 1], ids_per_batch=3, images_per_id=2)
