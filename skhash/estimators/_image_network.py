"""Deep hashers on images: the ``extractor`` parameter, the trainable top before the hash network.

A deep hasher given ``extractor=ImageFeatureExtractor(..., trainable_blocks=k)``
takes images as ``X`` (file paths or ``uint8`` arrays). At ``fit``,
:class:`ImageInputMixin` clones the extractor, computes the frozen part's
outputs once (cached on disk, :func:`skhash._finetune.frozen_outputs`) and
gives the hasher's own ``_fit`` the pretrained features (the pooled output of
the trainable top at its pretrained weights), so that everything the method
computes from features (graphs, thresholds, means, initial codes) is computed
as on the frozen path. The hasher's network is then trained on the frozen
outputs, wrapped by ``_make_net`` into a :class:`TrunkModule`: trainable
blocks -> pooling -> [centring] -> hash network. ``k=0`` is the frozen path
itself: the features, cached, and the hash network alone.
"""

import copy
from typing import Any

import numpy as np
import torch
from sklearn.base import clone

from ..codes import check_n_bits

__all__ = ["ImageInputMixin", "TrunkModule"]

# Rows of frozen outputs the trunk takes at once outside training (bounds its memory).
_EVAL_CHUNK = 256


class TrunkModule(torch.nn.Module):
    """``head(trunk(x) - mean)``: the trainable top of the image network, then a hash network.

    Parameters
    ----------
    trunk : torch.nn.Module
        Maps frozen outputs to pooled features; deep-copied, so that every
        initialisation starts from the pretrained weights.
    head : torch.nn.Module class or instance
        The hasher's network; a class is built with ``head_params``, an
        instance is deep-copied.
    head_params : dict, default=None
        Keyword arguments of ``head``.
    mean : array-like of shape (n_features,), default=None
        Subtracted from the pooled features (the hashers' centring).
    input_name : str, default="X"
        Keyword of the input when the module is called with keywords only
        (a dataset with per-sample side inputs).
    """

    def __init__(self, trunk, head, head_params=None, mean=None, input_name="X"):
        super().__init__()
        self.trunk = copy.deepcopy(trunk)
        self.head = head(**(head_params or {})) if isinstance(head, type) else copy.deepcopy(head)
        mean = None if mean is None else torch.as_tensor(np.asarray(mean), dtype=torch.float32)
        self.register_buffer("mean", mean)
        self.input_name = input_name

    def features(self, x):
        """Pooled (and centred) features of frozen outputs ``x``."""
        if torch.is_grad_enabled() or len(x) <= _EVAL_CHUNK:
            features = self.trunk(x)
        else:
            features = torch.cat([self.trunk(chunk) for chunk in x.split(_EVAL_CHUNK)])
        return features if self.mean is None else features - self.mean

    def forward(self, *args, **kwargs):
        if args:
            return self.head(self.features(args[0]), *args[1:], **kwargs)
        kwargs[self.input_name] = self.features(kwargs[self.input_name])
        return self.head(**kwargs)


class ImageInputMixin:
    """The ``extractor`` parameter of the deep hashers (mixed in by ``DeepHasherMixin``).

    Overrides ``BaseHasher``'s input validation: with an extractor, ``X`` is
    images; ``fit`` sets ``extractor_`` (the fitted clone) and, while it runs,
    ``_activations`` (the frozen outputs of the training images, when blocks
    train) and ``_trunk`` (the module to train). The hasher then feeds
    :meth:`_net_inputs` of its features to its network, builds the network
    with ``_make_net`` (which wraps it in a :class:`TrunkModule` while
    blocks train) and projects frozen outputs in ``_project`` when
    :meth:`_fine_tuned`.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skhash import SSDHHasher
    >>> from skhash.features import ImageFeatureExtractor
    >>> images = np.random.default_rng(0).integers(0, 256, (16, 40, 50, 3), dtype=np.uint8)
    >>> extractor = ImageFeatureExtractor(
    ...     image_size=64, trainable_blocks=1, cache_dir=tempfile.mkdtemp(), device="cpu"
    ... )
    >>> hasher = SSDHHasher(n_bits=8, max_epochs=1, extractor=extractor, random_state=0)
    >>> hasher.fit(images).transform(images[:3]).shape
    (3, 1)
    >>> len(hasher.net_.module_.trunk.blocks)  # block 16 (and the head) trained
    1
    """

    _activations = None
    _trunk = None
    # set by the hasher's __init__ (declared for the type checker)
    extractor: Any
    n_bits: int

    def _fine_tuned(self):
        """Whether the fitted network starts with trainable blocks of the image network."""
        extractor = getattr(self, "extractor_", None)
        return extractor is not None and extractor.trainable_blocks != 0

    def _validate_fit_input(self, X, min_samples=2) -> np.ndarray:
        self._activations = self._trunk = None
        if getattr(self, "extractor", None) is None:
            self.extractor_ = None
            return super()._validate_fit_input(X, min_samples)  # type: ignore[misc]
        from .._finetune import Trunk, frozen_outputs, split_point
        from ..features import ImageFeatureExtractor

        if not isinstance(self.extractor, ImageFeatureExtractor):
            raise TypeError(
                "extractor must be an ImageFeatureExtractor or None; got "
                f"{type(self.extractor).__name__}."
            )
        check_n_bits(self.n_bits)
        extractor = clone(self.extractor)
        extractor._validate_params()  # the hasher's fit skips nested validation
        extractor.fit(X)
        inputs = frozen_outputs(extractor, X)
        if len(inputs) < min_samples:
            raise ValueError(
                f"{type(self).__name__} needs at least {min_samples} training images; got "
                f"{len(inputs)}."
            )
        self.extractor_ = extractor
        if hasattr(self, "n_features_in_"):  # set by an earlier fit on features
            del self.n_features_in_
        self._n_features_out = self.n_bits // 8
        if extractor.trainable_blocks == 0:
            return inputs
        split = split_point(extractor.trainable_blocks)
        self._trunk = Trunk(extractor.model, extractor.image_size, split)
        self._activations = inputs
        return self._pretrained_features(inputs)

    def _pretrained_features(self, inputs):
        """The trunk's pooled features of frozen outputs at its pretrained weights."""
        device = self.extractor_.device_
        module = TrunkModule(self._trunk, torch.nn.Identity).to(device).eval()
        chunks = []
        with torch.no_grad():
            for start in range(0, len(inputs), _EVAL_CHUNK):
                batch = torch.as_tensor(inputs[start : start + _EVAL_CHUNK], device=device)
                chunks.append(module.features(batch.float()).cpu().numpy())
        return np.concatenate(chunks)

    def _validate_transform_input(self, X):
        if getattr(self, "extractor_", None) is None:
            return super()._validate_transform_input(X)
        from .._finetune import frozen_outputs

        return frozen_outputs(self.extractor_, X)

    def _image_features(self, X, name):
        """The fitted extractor's (frozen, cached) features of images ``X``."""
        from .._finetune import frozen_outputs

        extractor = clone(self.extractor_).set_params(trainable_blocks=0).fit(X)
        return frozen_outputs(extractor, X, name)

    def _net_inputs(self, X):
        """What the network takes for the training features ``X``: the frozen outputs while
        blocks train, else ``X`` itself."""
        return X if self._activations is None else self._activations

    def _wrap_module(self, module, kwargs, *, mean=None, input_name="X"):
        """``(module, kwargs)`` for ``make_net``: a :class:`TrunkModule` while blocks train."""
        if self._trunk is None:
            return module, kwargs
        head_params = {k[8:]: v for k, v in kwargs.items() if k.startswith("module__")}
        kwargs = {k: v for k, v in kwargs.items() if not k.startswith("module__")}
        kwargs.update(
            module__trunk=self._trunk,
            module__head=module,
            module__head_params=head_params,
            module__mean=mean,
            module__input_name=input_name,
        )
        return TrunkModule, kwargs

    def _hash_module(self):
        """The fitted hash network (without the trainable blocks before it)."""
        module = self.net_.module_
        return module.head if isinstance(module, TrunkModule) else module

    def _end_fit(self):
        """Drop what the fit alone needed (the training images' frozen outputs)."""
        self._activations = self._trunk = None

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_activations", None)
        state.pop("_trunk", None)
        return state
