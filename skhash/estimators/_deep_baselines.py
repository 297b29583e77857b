"""The base of the deep hashers on features: one network, one loss (unsupervised or supervised)."""

from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from ._base import BaseHasher
from ._deep_baselines_modules import FeatureMLP
from ._torch import (
    ArrayDataset,
    DeepHasherMixin,
    predict_in_batches,
    resolve_device,
    torch_rng,
    torch_seed,
)

__all__ = ["FeatureNetHasher"]


class FeatureNetHasher(DeepHasherMixin, BaseHasher):
    """A deep hasher: a :class:`FeatureMLP` on features trained by one loss.

    Subclasses set ``_tanh`` (whether the network ends in ``tanh``) and
    ``_batch_norm`` (a batch normalisation after the hash layer), and
    implement ``_criterion(X, Y, random_state)``, which returns the criterion
    class (``forward(h, targets) -> loss or (total, terms)``) and its
    parameters; they store the parameters below in ``__init__``. The targets
    are the batch's inputs, unless ``_targets(y, n_samples)`` returns
    per-sample targets ``Y`` (the supervised hashers' labels, see
    :mod:`skhash.estimators._supervised`); ``_extra_callbacks()`` adds the
    method's own skorch callbacks (HashNet's continuation). The network is
    trained by SGD with momentum and weight decay through the shared skorch
    plumbing of :mod:`skhash.estimators._torch`.

    With ``center=True`` the training features' mean ``mean_`` is subtracted
    from every input, at fit and at transform, before the network and before
    the feature similarities of the losses (and SSDH's thresholds): the
    criterion, the network and ``_criterion`` all see centred features. The
    centred features are one float32 copy of ``X`` (the precision the network
    computes in anyway), never a float64 one.

    With an ``extractor`` whose blocks train, the network is those blocks
    (their pooled output centred by ``mean_``) then the :class:`FeatureMLP`;
    the unsupervised losses compare the codes with the frozen (pretrained,
    centred) features, which are fixed targets.
    """

    _parameter_constraints: dict = {
        **BaseHasher._parameter_constraints,
        **DeepHasherMixin._deep_parameter_constraints,
        "hidden_sizes": [tuple, list],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "center": ["boolean"],
    }
    _tanh = False
    _batch_norm = False

    @abstractmethod
    def _criterion(self, X, Y, random_state):
        """``(criterion class, {parameter: value})`` for the training features ``X``.

        ``Y`` is what :meth:`_targets` made of ``y`` (``None`` for the
        unsupervised hashers, whose criterion gets the batch's inputs).
        """

    def _targets(self, y, n_samples):
        """Per-sample targets of the criterion made of ``y``; ``None``: the inputs."""
        return None

    def _extra_callbacks(self):
        """skorch callbacks of the method itself, run after the user's."""
        return []

    def _fit(self, X, y, random_state):
        Y = self._targets(y, X.shape[0])
        self.device_ = resolve_device(self.device)
        self.hidden_sizes_ = self._check_hidden_sizes()
        self.mean_ = X.mean(axis=0, dtype=np.float64) if self.center else None
        X = self._centred(X)
        criterion, criterion_params = self._criterion(X, Y, random_state)
        inputs, targets = self._net_inputs(X), Y
        if inputs is not X and Y is None:  # blocks train: the losses' features stay frozen
            targets = X
        seed = torch_seed(random_state)
        name = type(self).__name__
        self.net_ = self._make_net(
            FeatureMLP,
            criterion,
            seed=seed,
            optimizer=torch.optim.SGD,
            lr=self.lr,
            optimizer__momentum=self.momentum,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            divergence_hint=f"lr ({self.lr})",
            progress_desc=name,
            callbacks=[*(self.callbacks or []), *self._extra_callbacks()],
            mean=self.mean_,
            module__n_features=X.shape[1],
            module__n_bits=self.n_bits,
            module__hidden_sizes=self.hidden_sizes_,
            module__tanh=self._tanh,
            module__batch_norm=self._batch_norm,
            **{f"criterion__{key}": value for key, value in criterion_params.items()},
        )
        self._log(f"training on {len(X)} samples on {self.device_}")
        with torch_rng(seed, self.device_):
            self.net_.fit(ArrayDataset(inputs, targets, device=self.device_))
        return self

    def _check_hidden_sizes(self):
        sizes = tuple(self.hidden_sizes)
        if not all(isinstance(w, Integral) and not isinstance(w, bool) and w > 0 for w in sizes):
            raise ValueError(
                f"hidden_sizes must be a tuple of positive ints (the widths of the hidden "
                f"layers; () for none); got {self.hidden_sizes!r}."
            )
        return tuple(int(w) for w in sizes)

    def _centred(self, X):
        """``X - mean_`` as float32 (``X`` itself when ``center=False``)."""
        if self.mean_ is None:
            return X
        centred = np.array(X, dtype=np.float32)  # always a copy: never modify the caller's X
        centred -= self.mean_.astype(np.float32)
        return centred

    def _project(self, X):
        if self._fine_tuned():  # X: frozen outputs; the network centres its features
            return predict_in_batches(self.net_, X)
        return predict_in_batches(self.net_, self._centred(X))
