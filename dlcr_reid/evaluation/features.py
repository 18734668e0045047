"""Test-time feature extraction: f(x) + f(flipped x), L2-normalised; videos as the mean of clip features.

Images are resized to the model's input size and normalised with the ImageNet mean/std (the
torchvision backbones' convention, also the training transform's). Videos (CCVID rows with a
``frames`` list) are cut into clips (``video_clips``); a clip's feature is the mean of its frames'
features (the model is an image model), a video's feature the mean of its clips', then normalised.
Frames are read once each and streamed: video features accumulate batch by batch, so memory holds
one batch of frames and the video features, never every frame's feature.

A missing or corrupt image (or frame) raises ``ReidInputError`` naming the file, also from a
DataLoader worker. Evaluation has no skip policy: leaving out a query or gallery image would change
what the metrics measure, so a report is over the whole split or not written. Training checks its
test images once before the first epoch (``check_test_images``), so an unreadable one cannot stop
a run after an epoch's training, before that epoch's checkpoint.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import sparse
from torch.utils.data import DataLoader, Dataset
from dlcr_reid.progress import progress

from dlcr_reid.datasets.table import TEST_SPLITS
from dlcr_reid.errors import ReidInputError
from dlcr_reid.io import read_rgb, unreadable_files

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageFiles(Dataset):
    """Image files as normalised [3, height, width] tensors."""

    def __init__(self, paths: Sequence[str], height: int, width: int) -> None:
        self.paths = [str(p) for p in paths]
        self.size = (width, height)  # PIL's order
        self.mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, item: int) -> torch.Tensor:
        image = read_rgb(self.paths[item], "evaluation image")
        pixels = np.asarray(image.resize(self.size, Image.BILINEAR), dtype=np.float32)
        tensor = torch.from_numpy(pixels / 255.0).permute(2, 0, 1)
        return (tensor - self.mean) / self.std


def _batches(paths: Sequence[str], height: int, width: int, batch_size: int, num_workers: int) -> DataLoader:
    return DataLoader(
        ImageFiles(paths, height, width), batch_size=batch_size, shuffle=False, num_workers=num_workers
    )


@torch.no_grad()
def _embed(model: torch.nn.Module, images: torch.Tensor, flip: bool, device: str) -> torch.Tensor:
    images = images.to(device)
    features = model(images).float()
    if flip:
        features = features + model(torch.flip(images, dims=[3])).float()
    return features.cpu()


def extract_image_features(
    model: torch.nn.Module,
    paths: Sequence[str],
    *,
    height: int,
    width: int,
    batch_size: int = 64,
    flip: bool = True,
    device: str = "cpu",
    num_workers: int = 0,
    desc: str = "features",
) -> torch.Tensor:
    """[N, D] float32 L2-normalised features of image files, in the order given."""
    model.eval()
    chunks = [
        _embed(model, images, flip, device)
        for images in progress(_batches(paths, height, width, batch_size, num_workers), desc=desc, leave=False)
    ]
    if not chunks:
        raise ReidInputError("no images to extract features from")
    return F.normalize(torch.cat(chunks), dim=1)


def video_clips(num_frames: int, clip_len: int = 8, stride: int = 4) -> list[list[int]]:
    """Frame indices of a tracklet's test clips: clip_len frames taken every `stride` frames.

    Every frame lands in a clip. Each full block of clip_len * stride frames gives `stride`
    interleaved clips (block frames j, j+stride, ...). A shorter tail of r frames gives r // clip_len
    interleaved clips with a smaller step, and any frames still left are covered by one clip of the
    last clip_len frames. A tracklet shorter than clip_len is one clip, its last frame repeated.
    """
    if num_frames < 1:
        return []
    clips: list[list[int]] = []
    block = clip_len * stride
    full_blocks = num_frames // block
    for start in range(0, full_blocks * block, block):
        clips.extend([start + j + k * stride for k in range(clip_len)] for j in range(stride))
    tail_start = full_blocks * block
    tail = num_frames - tail_start
    step = tail // clip_len
    clips.extend([tail_start + j + k * step for k in range(clip_len)] for j in range(step))
    if tail % clip_len:
        last = list(range(max(0, num_frames - clip_len), num_frames))
        clips.append(last + [num_frames - 1] * (clip_len - len(last)))
    return clips


def _frame_paths(row_path: str, frames) -> list[str]:
    if frames is None or len(frames) == 0:
        raise ReidInputError(f"tracklet {row_path} has no frames (run `dlcr check-dataset`)")
    return [f if Path(f).is_absolute() else str(Path(row_path) / f) for f in frames]


def extract_video_features(
    model: torch.nn.Module,
    tracklet_paths: Sequence[str],
    frame_lists: Sequence[Sequence[str]],
    *,
    height: int,
    width: int,
    clip_len: int = 8,
    stride: int = 4,
    batch_size: int = 64,
    flip: bool = True,
    device: str = "cpu",
    num_workers: int = 0,
    desc: str = "video features",
) -> torch.Tensor:
    """[N, D] float32 L2-normalised video features: mean over clips of the mean over clip frames."""
    frame_paths: list[str] = []
    weight_rows, weight_cols, weights = [], [], []
    for video, (row_path, frames) in enumerate(zip(tracklet_paths, frame_lists)):
        paths = _frame_paths(row_path, frames)
        offset = len(frame_paths)
        frame_paths.extend(paths)
        clips = video_clips(len(paths), clip_len, stride)
        for clip in clips:  # a frame's weight = how often it appears, over clip_len * num_clips
            weight_rows.extend([video] * len(clip))
            weight_cols.extend(offset + f for f in clip)
            weights.extend([1.0 / (len(clip) * len(clips))] * len(clip))
    # duplicate (video, frame) entries are summed by the sparse constructor
    weight = sparse.csc_matrix(
        (weights, (weight_rows, weight_cols)), shape=(len(tracklet_paths), len(frame_paths)), dtype=np.float64
    )
    model.eval()
    videos = None
    done = 0
    for images in progress(_batches(frame_paths, height, width, batch_size, num_workers), desc=desc, leave=False):
        features = _embed(model, images, flip, device).double().numpy()
        part = weight[:, done : done + len(features)] @ features
        videos = part if videos is None else videos + part
        done += len(features)
    if videos is None:
        raise ReidInputError("no video frames to extract features from")
    return F.normalize(torch.from_numpy(np.asarray(videos)).float(), dim=1)


def check_test_images(index: pd.DataFrame, workers: int = 4) -> None:
    """Raise naming the query/gallery images (or tracklet frames) of ``index`` that cannot be read."""
    test = index[index["split"].isin(TEST_SPLITS)]
    paths: list[str] = []
    for row in test.itertuples():
        frames = getattr(row, "frames", None)
        is_video = isinstance(frames, (list, tuple, np.ndarray)) and len(frames) > 0
        paths.extend(_frame_paths(row.path, frames) if is_video else [str(row.path)])
    bad = unreadable_files(paths, workers)
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ReidInputError(f"{len(bad)} evaluation image(s) cannot be read: {shown}; fix or remove their index rows")


__all__ = ["ImageFiles", "check_test_images", "extract_image_features", "extract_video_features", "video_clips"]
