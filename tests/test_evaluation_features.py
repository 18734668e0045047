"""Feature extraction: flip augmentation, normalisation, video clips and clip averaging."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from dlcr_reid.evaluation.features import ImageFiles, extract_image_features, extract_video_features, video_clips

HEIGHT, WIDTH = 16, 8


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    # no pooling symmetry: a flattened small map keeps left/right apart, so flipping matters
    return nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten()).eval()


def write_images(folder, count, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{i:03d}.png"
        Image.fromarray(rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def raw_feature(model, path, flip=True):
    image = ImageFiles([path], HEIGHT, WIDTH)[0][None]
    with torch.no_grad():
        feature = model(image)
        if flip:
            feature = feature + model(torch.flip(image, dims=[3]))
    return feature[0]


def test_image_features_flip_and_normalise(tmp_path):
    model, paths = tiny_model(), write_images(tmp_path / "img", 5)
    features = extract_image_features(model, paths, height=HEIGHT, width=WIDTH, batch_size=2)
    expected = F.normalize(torch.stack([raw_feature(model, p) for p in paths]), dim=1)
    torch.testing.assert_close(features, expected, atol=1e-5, rtol=0)
    assert torch.allclose(features.norm(dim=1), torch.ones(5), atol=1e-5)
    no_flip = extract_image_features(model, paths, height=HEIGHT, width=WIDTH, flip=False)
    torch.testing.assert_close(no_flip[0], F.normalize(raw_feature(model, paths[0], flip=False), dim=0), atol=1e-5, rtol=0)
    assert not torch.allclose(no_flip, features, atol=1e-3)


def test_video_clips_cover_every_frame():
    assert video_clips(32, 8, 4) == [[j + 4 * k for k in range(8)] for j in range(4)]
    # 40 frames: one block of 32 (4 clips) + a tail of 8 frames (1 clip, step 1)
    assert video_clips(40, 8, 4)[-1] == list(range(32, 40))
    # shorter than a clip: one clip, last frame repeated
    assert video_clips(3, 8, 4) == [[0, 1, 2, 2, 2, 2, 2, 2]]
    # 10 frames: tail step 1 gives frames 0..7, the last 8 frames cover 8 and 9
    assert video_clips(10, 8, 4) == [list(range(8)), list(range(2, 10))]
    for frames in (1, 7, 9, 33, 70, 100):
        assert set().union(*map(set, video_clips(frames))) == set(range(frames))


def test_video_feature_is_mean_of_clip_means(tmp_path):
    model = tiny_model()
    tracklets = {"t0": 3, "t1": 10, "t2": 40}
    paths, frame_lists = [], []
    for seed, (name, count) in enumerate(tracklets.items()):
        frames = write_images(tmp_path / name, count, seed)
        paths.append(str(tmp_path / name))
        # relative frame names are resolved against the tracklet folder
        frame_lists.append([f.split("/")[-1] for f in frames] if name == "t1" else frames)
    features = extract_video_features(
        model, paths, frame_lists, height=HEIGHT, width=WIDTH, clip_len=8, stride=4, batch_size=7
    )
    for video, (name, count) in enumerate(tracklets.items()):
        frame_features = torch.stack([raw_feature(model, str(tmp_path / name / f"{i:03d}.png")) for i in range(count)])
        clip_means = torch.stack([frame_features[clip].mean(0) for clip in video_clips(count, 8, 4)])
        expected = F.normalize(clip_means.mean(0), dim=0)
        torch.testing.assert_close(features[video], expected, atol=1e-5, rtol=0)
