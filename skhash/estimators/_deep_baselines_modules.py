"""Torch layers and losses of the unsupervised deep hashing baselines: SSDH, GreedyHash, Bi-half.

Each method is a network on pretrained features (:class:`FeatureMLP`) and a loss
whose ``forward(h, x)`` takes the network's real-valued output ``h`` and the
batch's input features ``x`` and returns the loss, or ``(total, terms)`` when it
has several terms (GreedyHash). The methods'
special layers (GreedyHash's sign with the straight-through backward, the
bi-half layer) are applied inside the losses, in training only: the codes are
``sign(h)`` in every method, as in the authors' code.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._wsih_modules import _WeightedLoss

__all__ = [
    "BiHalfLoss",
    "GreedyHashLoss",
    "FeatureMLP",
    "SSDHLoss",
    "bihalf",
    "greedy_sign",
    "half_pair_cosines",
    "half_pair_similarity_loss",
    "pairwise_cosine_distances",
    "ssdh_labels",
    "ssdh_loss",
    "ssdh_thresholds",
]


class FeatureMLP(nn.Module):
    """Hidden ``Linear -> ReLU`` layers, then a ``Linear`` layer of ``n_bits`` units.

    ``hidden_sizes=()`` is one linear layer: the hash layer the papers put on
    frozen pretrained features (GreedyHash and Bi-half train only it). With
    ``batch_norm=True`` the hash layer is followed by a
    :class:`torch.nn.BatchNorm1d` (OrthoHash's code balance).
    With ``tanh=True`` the output is squashed into (-1, 1) (SSDH's relaxation).
    ``forward(x)`` returns ``h`` of shape ``(n, n_bits)``; the codes are its signs.
    """

    def __init__(self, n_features, n_bits, hidden_sizes=(), tanh=False, batch_norm=False):
        super().__init__()
        layers, width = [], n_features
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, n_bits))
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_bits))
        if tanh:
            layers.append(nn.Tanh())
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


# -- SSDH ---------------------------------------------------------------------
def pairwise_cosine_distances(a):
    """``1 - cos(a_i, a_j)`` for every pair of rows of ``a`` (a batch: ``(n, n)``)."""
    a = F.normalize(a, dim=1)
    return 1 - (a @ a.T)


def ssdh_thresholds(X, alpha=2.0, beta=2.0, *, n_bins=100):
    """SSDH's distance thresholds ``(d_l, d_r)`` from a sample of features ``X``.

    The cosine distances of all pairs ``i < j`` of rows of ``X`` are
    histogrammed in ``n_bins`` equal bins between their minimum and maximum;
    the centre of the fullest bin is the mode ``m``. The distances at most ``m``
    are the left half of a Gaussian of mean ``m`` and standard deviation
    ``sigma_l = sqrt(mean((d - m)^2))``, those above ``m`` the right half of one
    with ``sigma_r`` likewise (the maximum-likelihood fit of a Gaussian to the
    half mirrored about ``m``). Pairs closer than ``d_l = m - alpha sigma_l``
    are similar, pairs farther than ``d_r = m + beta sigma_r`` dissimilar.

    ``X`` is a sample (the caller bounds its size): this function builds the
    ``len(X) x len(X)`` distance matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators._deep_baselines_modules import ssdh_thresholds
    >>> X = np.abs(np.random.default_rng(0).normal(size=(200, 16)))
    >>> d_l, d_r = ssdh_thresholds(X)
    >>> bool(0 < d_l < d_r)
    True
    """
    X = torch.as_tensor(np.asarray(X), dtype=torch.float64)
    n = len(X)
    if n < 2:
        raise ValueError(f"SSDH's thresholds need at least 2 samples; got {n}.")
    i, j = torch.triu_indices(n, n, offset=1)
    d = pairwise_cosine_distances(X)[i, j].numpy()
    counts, edges = np.histogram(d, bins=n_bins, range=(d.min(), d.max()))
    k = int(np.argmax(counts))
    mode = 0.5 * (edges[k] + edges[k + 1])
    left, right = d[d <= mode], d[d > mode]
    sigma_l = np.sqrt(np.mean((left - mode) ** 2)) if len(left) else 0.0
    sigma_r = np.sqrt(np.mean((right - mode) ** 2)) if len(right) else 0.0
    return float(mode - alpha * sigma_l), float(mode + beta * sigma_r)


def ssdh_labels(x, d_l, d_r):
    """SSDH's pair labels of a batch: +1 if ``d(x_i, x_j) <= d_l``, -1 if ``>= d_r``, else 0."""
    d = pairwise_cosine_distances(x)
    return (d <= d_l).to(x.dtype) - (d >= d_r).to(x.dtype)


def ssdh_loss(h, S):
    """SSDH's weighted pairwise loss ``sum_ij |S_ij| (h_i' h_j / k - S_ij)^2 / n^2``.

    ``h`` is the ``(n, k)`` relaxed (``tanh``) code batch and ``S`` its pair labels;
    unknown pairs (``S_ij = 0``) weigh nothing.
    """
    n, k = h.shape
    return (S.abs() * ((h @ h.T) / k - S).pow(2)).sum() / n**2


class SSDHLoss(nn.Module):
    """SSDH's loss on a batch: :func:`ssdh_loss` of ``h`` and the pair labels of ``x``.

    A single term, returned alone (it is the training loss of the history).
    """

    def __init__(self, d_l=0.0, d_r=1.0):
        super().__init__()
        self.d_l, self.d_r = d_l, d_r

    def forward(self, h, x):
        return ssdh_loss(h, ssdh_labels(x, self.d_l, self.d_r))


# -- GreedyHash -----------------------------------------------------------------
class _GreedySign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h):
        return torch.where(h >= 0, 1.0, -1.0).to(h.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad


def greedy_sign(h):
    """GreedyHash's hash layer: ``sign(h)`` forward (``sign(0) = +1``), identity backward.

    Examples
    --------
    >>> import torch
    >>> from skhash.estimators._deep_baselines_modules import greedy_sign
    >>> h = torch.tensor([-0.5, 0.0, 2.0], requires_grad=True)
    >>> b = greedy_sign(h)
    >>> b.tolist()
    [-1.0, 1.0, 1.0]
    >>> (3 * b).sum().backward()
    >>> h.grad.tolist()
    [3.0, 3.0, 3.0]
    """
    return _GreedySign.apply(h)


def half_pair_cosines(a):
    """``cos(a_i, a_{i+m})`` for ``i < m = n // 2``: the batch's first half against its second.

    The pairs of the authors' code of GreedyHash and Bi-half (a last odd row is unpaired).
    """
    m = len(a) // 2
    return F.cosine_similarity(a[:m], a[m : 2 * m], dim=1)


def half_pair_similarity_loss(b, x):
    """``mean_i (cos(b_i, b_{i+m}) - cos(x_i, x_{i+m}))^2``; 0 for a batch of one row."""
    if len(b) < 2:
        return b.sum() * 0
    return F.mse_loss(half_pair_cosines(b), half_pair_cosines(x))


class GreedyHashLoss(_WeightedLoss):
    """GreedyHash's unsupervised loss.

    ``MSE(cos(b_i, b_{i+m}), cos(x_i, x_{i+m})) + w ||h| - 1|^p`` (mean over
    entries), ``b = greedy_sign(h)``; ``||h| - 1| = |h - sign(h)|``.
    """

    names = ("similarity", "quantization")

    def __init__(self, similarity_weight=1.0, quantization_weight=0.1, p=3):
        super().__init__()
        self.similarity_weight = similarity_weight
        self.quantization_weight = quantization_weight
        self.p = p

    def forward(self, h, x):
        b = greedy_sign(h)
        similarity = half_pair_similarity_loss(b, x)
        quantization = (h.abs() - 1).abs().pow(self.p).mean()
        return self.combine([similarity, quantization])


# -- Bi-half --------------------------------------------------------------------
class _BiHalf(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, gamma):
        n = len(h)
        order = torch.sort(h, dim=0, descending=True, stable=True).indices
        ranked = torch.ones_like(h)
        ranked[n // 2 :] = -1
        b = torch.empty_like(h).scatter_(0, order, ranked)
        ctx.save_for_backward(h, b)
        ctx.gamma = gamma
        return b

    @staticmethod
    def backward(ctx, grad):
        h, b = ctx.saved_tensors
        return grad + ctx.gamma * (h - b) / h.numel(), None


def bihalf(h, gamma=6.0):
    """The bi-half layer: each bit's top half of the batch to +1, its bottom half to -1.

    Forward: for each column ``j`` of the ``(n, k)`` batch ``h``, the ``n // 2``
    largest entries become +1 and the others -1 (ties in row order), so every
    bit is +1 for half of the batch: the optimal transport of the batch onto a
    half-half Bernoulli distribution. Backward: ``g + gamma (h - b) / (n k)``,
    the straight-through gradient plus the gradient of
    ``gamma ||h - b||^2 / (2 n k)``.

    Examples
    --------
    >>> import torch
    >>> from skhash.estimators._deep_baselines_modules import bihalf
    >>> bihalf(torch.tensor([[0.3, -2.0], [0.1, -1.0], [0.2, -3.0], [0.0, -4.0]])).tolist()
    [[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]
    """
    return _BiHalf.apply(h, gamma)


class BiHalfLoss(nn.Module):
    """Bi-half's loss: ``MSE(cos(b_i, b_{i+m}), cos(x_i, x_{i+m}))``, ``b = bihalf(h, gamma)``.

    A single term, returned alone (it is the training loss of the history).
    """

    def __init__(self, gamma=6.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, h, x):
        return half_pair_similarity_loss(bihalf(h, self.gamma), x)
