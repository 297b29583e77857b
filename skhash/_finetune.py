"""The image network split for fine-tuning: a frozen part cached on disk, a trainable top.

``ImageFeatureExtractor(trainable_blocks=k)`` splits EfficientNet-Lite0 in two:
the frozen part (preprocessing, stem, the first ``16 - k`` MBConv blocks), whose
outputs :func:`frozen_outputs` computes once and caches with
:class:`joblib.Memory`, and the trainable top (:class:`Trunk`: the last ``k``
blocks, the head convolution and the global mean pooling), which a deep hasher
trains with its hash network (see :mod:`skhash.estimators._image_network`).
"""

import os

import numpy as np
import torch

from ._efficientnet import N_BLOCKS, _load_model
from .features import (
    _CHUNK_SIZE,
    _FEATURES_VERSION,
    _PIXEL_MEAN,
    _PIXEL_STD,
    ImageFeatureExtractor,
    _check_image_files,
    _default_cache_dir,
    _pixel_batches,
    cached_features,
)

__all__ = ["Trunk", "frozen_outputs", "split_point"]

# Bumped whenever the frozen outputs for given (images, image_size, split) change.
_FROZEN_VERSION = (_FEATURES_VERSION, 1)


def split_point(trainable_blocks):
    """Where the network is split: ``"features"`` (nothing trains), ``"pixels"`` (all), or
    the number of frozen MBConv blocks (``16 - trainable_blocks``)."""
    if trainable_blocks == "all":
        return "pixels"
    if trainable_blocks == 0:
        return "features"
    return N_BLOCKS - int(trainable_blocks)


def frozen_outputs(extractor, X, name="X"):
    """Outputs of the frozen part of a fitted extractor's network on images ``X``, cached.

    Returns float32 features ``(n, 1280)`` when ``trainable_blocks=0``, the
    ``uint8`` preprocessed pixels ``(n, size, size, 3)`` when it is ``"all"``,
    else the float32 activations ``(n, channels, height, width)`` entering
    the first trainable block. Chunks of 2,000 images are cached in
    ``extractor.cache_dir``; the key is the images (absolute, resolved paths,
    or the array's bytes), the model, `image_size`, the split point and the
    version of the computation.
    """
    from joblib import Memory

    kind, images = _check_image_files(X, name)
    split = split_point(extractor.trainable_blocks)
    cache_dir = os.fspath(extractor.cache_dir or _default_cache_dir())
    size, batch_size, verbose = extractor.image_size, extractor.batch_size, extractor.verbose
    if kind == "paths":
        images = [os.path.realpath(path) for path in images]
        if split == "features":  # the cache of cached_features, shared with it
            return cached_features(
                images, image_size=size, cache_dir=cache_dir, batch_size=batch_size,
                verbose=verbose,
            )  # fmt: skip
    compute = Memory(location=cache_dir, verbose=0).cache(
        _frozen_chunk, ignore=["batch_size", "device", "verbose"]
    )
    chunks = [
        compute(
            images[start : start + _CHUNK_SIZE],
            extractor.model,
            int(size),
            split,
            _FROZEN_VERSION,
            batch_size=batch_size,
            device=extractor.device_,
            verbose=verbose,
        )  # fmt: skip
        for start in range(0, len(images), _CHUNK_SIZE)
    ]
    return np.concatenate(chunks)


def _frozen_chunk(
    images, model, image_size, split, version, batch_size=64, device="cpu", verbose=0
):
    """The frozen outputs of one chunk of images (the function :func:`frozen_outputs` caches).

    Its arguments except `batch_size`, `device` and `verbose` are the cache
    key; keep its code unchanged, since joblib invalidates the entries when it
    changes.
    """
    kind = "array" if isinstance(images, np.ndarray) else "paths"
    if split == "features":
        extractor = ImageFeatureExtractor(
            model=model, image_size=image_size, batch_size=batch_size, verbose=verbose
        )
        return extractor.fit(images).transform(images)
    batches = _pixel_batches(kind, images, image_size, batch_size)
    if split == "pixels":
        return np.concatenate([pixels for _, _, pixels in batches])
    net = _load_model(model, image_size, device)
    chunks = []
    with torch.inference_mode():
        for _, _, pixels in batches:
            x = _stem(net._conv_stem, torch.from_numpy(pixels).to(device))
            for block in net._blocks[:split]:
                x = block(x)
            chunks.append(x.contiguous().cpu().numpy())
    return np.concatenate(chunks)


def _stem(conv, pixels):
    """The stem on NHWC pixel values: scaling, convolution (batch norm folded), ReLU6."""
    x = pixels.permute(0, 3, 1, 2).float().sub(_PIXEL_MEAN).div(_PIXEL_STD)
    return torch.nn.functional.relu6(conv(x.contiguous(memory_format=torch.channels_last)))


class Trunk(torch.nn.Module):
    """The trainable top of EfficientNet-Lite0: ``[stem] -> blocks -> head -> mean pool``.

    Built from the pretrained weights, batch normalisation folded into the
    convolutions (frozen statistics), the "same" paddings as separate layers
    (no grown kernel, so every weight trained is one of the network's).
    ``forward`` takes what :func:`frozen_outputs` returns for the same split
    and gives the pooled features ``(n, 1280)``.

    Parameters
    ----------
    model : str
        The network, ``"efficientnet-lite0"``.
    image_size : int
        Side of the network's input.
    split : int or "pixels"
        The number of frozen MBConv blocks, or ``"pixels"``: every layer trains.
    """

    def __init__(self, model, image_size, split):
        super().__init__()
        net = _load_model(model, image_size, "cpu", pad_in_conv=False)
        self.stem = net._conv_stem if split == "pixels" else None
        self.blocks = torch.nn.ModuleList(net._blocks[0 if split == "pixels" else split :])
        self.head = net._conv_head
        for parameter in self.parameters():  # folding leaves the new biases frozen
            parameter.requires_grad_(True)

    def forward(self, x):
        if self.stem is not None:
            x = _stem(self.stem, x)
        x = x.contiguous(memory_format=torch.channels_last)
        for block in self.blocks:
            x = block(x)
        return torch.nn.functional.relu6(self.head(x)).mean(dim=(2, 3))
