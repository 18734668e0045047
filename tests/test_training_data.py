"""Pairing real images with generated variants, and the CAL augmentations."""
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader

from dlcr_reid.training.data import ReidTrainingSet, collate_pairs
from dlcr_reid.training.progressive import allowed_variant_count, variant_fraction
from dlcr_reid.training.sampler import PKBatchSampler
from dlcr_reid.training.transforms import TrainTransform
from training_support import make_index, make_manifest, tiny_params


def _data(tmp_path: Path, **overrides):
    index = make_index(tmp_path / "raw")
    manifest = make_manifest(index, tmp_path / "generated")
    params = tiny_params(**overrides)
    return index, manifest, params, ReidTrainingSet(index, manifest, params)


def test_generated_partner_is_a_variant_of_the_same_image_within_the_progressive_pool(tmp_path):
    index, manifest, params, train_set = _data(tmp_path, epochs=12, milestones=[4])
    ok = manifest[manifest["status"] == "ok"]
    for epoch in (0, 2, 3, 11):
        pool_size = allowed_variant_count(4, variant_fraction(params, epoch))
        seen = set()
        for image_index, path in enumerate(train_set.paths):
            for draw in range(6):
                generated = train_set.generated_path(image_index, epoch, draw)
                own = ok[ok["source_path"] == path].sort_values("variant")
                if own.empty:
                    assert generated is None
                    continue
                assert generated in set(own["path"].iloc[:pool_size]), (epoch, path, generated)
                seen.add(generated)
        # the pool grows: epoch 0 draws only variant 0 of each image, the last epoch from all 4
        with_variants = len(train_set) - train_set.images_without_variants
        if epoch == 0:
            assert pool_size == 1 and len(seen) == with_variants
        if epoch == 11:
            assert pool_size == 4 and len(seen) > 2 * with_variants
    assert train_set.images_without_variants == 3


def test_batches_keep_identity_and_carry_no_clothes_label_for_generated_half(tmp_path):
    _, _, params, train_set = _data(tmp_path)
    sampler = PKBatchSampler(train_set.pids, params.ids_per_batch, params.images_per_id, seed=params.seed)
    batch = next(iter(DataLoader(train_set, batch_sampler=sampler, collate_fn=collate_pairs)))
    assert batch["real"].shape == (4, 3, 32, 16)
    assert batch["clothes"].shape == (4,)  # clothes labels exist for the real half only
    assert batch["generated"].shape[0] == len(batch["generated_pids"]) == len(batch["generated_paths"])
    real_pid = dict(zip(batch["paths"], batch["pids"].tolist()))
    for source, generated, pid in zip(batch["generated_sources"], batch["generated_paths"], batch["generated_pids"].tolist()):
        assert Path(generated).stem.startswith(Path(source).stem + "-v")
        assert real_pid[source] == pid


def test_baseline_has_no_generated_half_and_failed_rows_are_never_drawn(tmp_path):
    index, manifest, params, train_set = _data(tmp_path)
    baseline = ReidTrainingSet(index, None, params)
    assert baseline[(0, 0, 0)]["generated"] is None and baseline.images_without_variants == 0
    failed = set(manifest.loc[manifest["status"] != "ok", "path"])
    drawn = {train_set.generated_path(i, 1, d) for i in range(len(train_set)) for d in range(20)}
    assert not drawn & failed


def test_labels_relabelled_and_positive_clothes_mask(tmp_path):
    _, _, _, train_set = _data(tmp_path)
    assert (train_set.num_ids, train_set.num_clothes) == (4, 8)
    mask = train_set.positive_clothes_mask()
    assert mask.sum().item() == 8 and mask[0, :2].all() and not mask[0, 2:].any()


def test_train_transform_is_deterministic_per_generator_and_augments():
    image = Image.new("RGB", (20, 40), (120, 40, 200))
    transform = TrainTransform(32, 16)
    first = transform(image, torch.Generator().manual_seed(7))
    again = transform(image, torch.Generator().manual_seed(7))
    assert first.shape == (3, 32, 16) and torch.equal(first, again)
    outputs = [transform(image, torch.Generator().manual_seed(s)) for s in range(20)]
    assert any(not torch.equal(outputs[0], other) for other in outputs[1:])  # random erasing varies
