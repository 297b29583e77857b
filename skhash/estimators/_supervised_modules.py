"""Torch losses of the supervised deep hashers: DPSH, HashNet, DSH, CSQ and OrthoHash.

Every loss takes ``(h, Y)``: the network's real-valued outputs ``h`` of a
mini-batch (``n x k``; the codes are ``sign(h)``) and the batch's rows of the
label indicator ``Y`` (``n x c``, 0/1, float). Two samples are similar when
they share a label: ``s_ij = [y_i' y_j > 0]``. The pairwise losses (DPSH,
HashNet, DSH) average over the ``n (n - 1)`` ordered pairs ``i != j`` of the
batch, so memory is ``O(n^2)`` for a batch of ``n``, never for the training
set. CSQ and OrthoHash compare each sample with ``c`` fixed codes (hash
centres, one a label).
"""

import numpy as np
import torch
import torch.nn.functional as F
from scipy.linalg import hadamard
from torch import nn

from ._wsih_modules import _WeightedLoss

__all__ = [
    "CSQLoss",
    "DPSHLoss",
    "DSHLoss",
    "HashNetLoss",
    "OrthoHashLoss",
    "hash_centres",
    "hashnet_scale",
    "label_centroids",
    "pair_similarity",
    "sign_pm1",
]


def sign_pm1(h):
    """``+1`` where ``h >= 0``, else ``-1`` (skhash's sign: ``sign(0) = +1``), no gradient."""
    return torch.where(h >= 0, 1.0, -1.0).to(h.dtype)


def pair_similarity(Y):
    """``s_ij = 1`` if rows ``i`` and ``j`` of the indicator ``Y`` share a label, else 0."""
    return ((Y @ Y.T) > 0).to(Y.dtype)


def _off_diagonal(n, device):
    return ~torch.eye(n, dtype=torch.bool, device=device)


def _pair_mean(values):
    """Mean of an ``n x n`` matrix over its off-diagonal entries (0 for a batch of one)."""
    n = len(values)
    if n < 2:
        return values.sum() * 0
    return values[_off_diagonal(n, values.device)].mean()


def _likelihood(theta, S):
    """``-log p(s | theta) = log(1 + exp(theta)) - s theta`` (``p(1 | theta) = sigmoid(theta)``)."""
    return F.softplus(theta, threshold=50) - S * theta


# -- DPSH -----------------------------------------------------------------------------
class DPSHLoss(_WeightedLoss):
    """DPSH: pairwise likelihood of the labels, plus the quantization error.

    ``mean_{i != j} [log(1 + e^theta_ij) - s_ij theta_ij] + eta mean (h - sign(h))^2``
    with ``theta_ij = h_i' h_j / 2``; ``eta`` is ``quantization_weight``.
    """

    names = ("likelihood", "quantization")

    def __init__(self, quantization_weight=0.1):
        super().__init__()
        self.likelihood_weight = 1.0
        self.quantization_weight = quantization_weight

    def forward(self, h, Y):
        theta = (h @ h.T) / 2
        likelihood = _pair_mean(_likelihood(theta, pair_similarity(Y)))
        quantization = (h - sign_pm1(h.detach())).pow(2).mean()
        return self.combine([likelihood, quantization])


# -- HashNet --------------------------------------------------------------------------
def hashnet_scale(epoch, step):
    """HashNet's continuation: ``beta = sqrt(1 + epoch // step)`` at (0-based) ``epoch``.

    Examples
    --------
    >>> from skhash.estimators._supervised_modules import hashnet_scale
    >>> [round(hashnet_scale(e, 10), 3) for e in (0, 9, 10, 30)]
    [1.0, 1.0, 1.414, 2.0]
    """
    return float(np.sqrt(1 + epoch // step))


class HashNetLoss(nn.Module):
    """HashNet: weighted pairwise likelihood of ``tanh(beta h)``.

    ``sum_{i != j} w_ij [log(1 + e^theta_ij) - s_ij theta_ij] / |S|`` with
    ``theta_ij = alpha z_i' z_j``, ``z = tanh(beta h)``, ``|S|`` the number of
    pairs and ``w_ij = |S| / |S_1|`` for similar pairs, ``|S| / |S_0|`` for
    dissimilar ones: the mean over similar pairs plus the mean over
    dissimilar pairs. ``beta`` is set per epoch by the hasher (continuation).
    A single term, returned alone.
    """

    def __init__(self, alpha=0.3125, beta=1.0):
        super().__init__()
        self.alpha = alpha
        self.beta = beta

    def forward(self, h, Y):
        n = len(h)
        if n < 2:
            return h.sum() * 0
        z = torch.tanh(self.beta * h)
        S = pair_similarity(Y)
        theta = self.alpha * (z @ z.T)
        loss = _likelihood(theta, S)
        off = _off_diagonal(n, h.device)
        similar = (S > 0) & off
        dissimilar = (S == 0) & off
        n_pairs = n * (n - 1)
        n_similar = similar.sum().to(h.dtype).clamp(min=1)
        n_dissimilar = dissimilar.sum().to(h.dtype).clamp(min=1)
        weights = torch.where(similar, n_pairs / n_similar, n_pairs / n_dissimilar)
        return (weights * loss)[off].sum() / n_pairs


# -- DSH ------------------------------------------------------------------------------
class DSHLoss(_WeightedLoss):
    """DSH: contrastive loss with a margin, plus the regulariser towards ``{-1, +1}``.

    Per pair: ``s_ij d_ij / 2 + (1 - s_ij) max(m - d_ij, 0) / 2
    + alpha (|| |h_i| - 1 ||_1 + || |h_j| - 1 ||_1)`` with ``d_ij = ||h_i - h_j||^2``,
    averaged over pairs ``i != j``; the regulariser's average is ``2 mean_i || |h_i| - 1 ||_1``.
    """

    names = ("contrastive", "regularization")

    def __init__(self, margin=64.0, regularization_weight=0.01):
        super().__init__()
        self.contrastive_weight = 1.0
        self.margin = margin
        self.regularization_weight = regularization_weight

    def forward(self, h, Y):
        S = pair_similarity(Y)
        squared = (h * h).sum(1)
        d = (squared[:, None] + squared[None, :] - 2 * (h @ h.T)).clamp(min=0)
        contrastive = _pair_mean(0.5 * S * d + 0.5 * (1 - S) * (self.margin - d).clamp(min=0))
        regularization = 2 * (h.abs() - 1).abs().sum(1).mean()
        return self.combine([contrastive, regularization])


# -- hash centres: CSQ and OrthoHash --------------------------------------------------------
def _is_power_of_two(n):
    return n > 0 and n & (n - 1) == 0


def hash_centres(n_centres, n_bits, random_state, *, method="auto", negated=True):
    """``n_centres`` binary codes (+-1) of ``n_bits``, far apart: CSQ's hash centres.

    ``method="auto"``: rows of the Sylvester Hadamard matrix ``H`` of order
    ``n_bits`` when ``n_bits`` is a power of two and they suffice (any two at
    Hamming distance ``n_bits / 2``), with ``negated=True`` the rows of
    ``[H; -H]`` (up to ``2 n_bits`` centres, each at distance ``n_bits / 2``
    or ``n_bits`` from the others); otherwise, or with
    ``method="bernoulli"``, each bit drawn +-1 with probability 1/2 from
    ``random_state`` (a ``RandomState``; untouched by Hadamard centres).

    Returns
    -------
    centres : ndarray of shape (n_centres, n_bits), dtype float32

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators._supervised_modules import hash_centres
    >>> hash_centres(3, 8, np.random.RandomState(0)).astype(int)
    array([[ 1,  1,  1,  1,  1,  1,  1,  1],
           [ 1, -1,  1, -1,  1, -1,  1, -1],
           [ 1,  1, -1, -1,  1,  1, -1, -1]])
    """
    capacity = (2 if negated else 1) * n_bits
    if method == "auto" and _is_power_of_two(n_bits) and n_centres <= capacity:
        H = hadamard(n_bits)
        rows = np.concatenate([H, -H]) if negated else H
        return rows[:n_centres].astype(np.float32)
    bits = random_state.randint(2, size=(n_centres, n_bits))
    return (2 * bits - 1).astype(np.float32)


def label_centroids(Y, centres, tie_breaker):
    """Each sample's hash centre: ``sign(sum of its labels' centres)``, ties from ``tie_breaker``.

    A sample with one label gets that label's centre; with several, the
    centroid of theirs, whose zero sums are set to the bits of
    ``tie_breaker`` (one fixed random code). ``Y`` is ``n x c`` (0/1),
    ``centres`` ``c x k``.
    """
    total = Y @ centres
    return torch.where(total == 0, tie_breaker.expand_as(total), sign_pm1(total))


class CSQLoss(_WeightedLoss):
    """CSQ: binary cross-entropy between the codes and their hash centres, plus quantization.

    ``mean_ij BCE((z_ij + 1) / 2, (c_ij + 1) / 2) + lambda mean (|z| - 1)^2``
    with ``z = tanh(h)`` and ``c`` each sample's centre (:func:`label_centroids`).
    ``(tanh(h) + 1) / 2 = sigmoid(2 h)``, so the first term is computed from
    the logits ``2 h`` (the same value, without ``log(0)``).
    """

    names = ("center", "quantization")

    def __init__(self, centres=None, tie_breaker=None, quantization_weight=1e-4):
        super().__init__()
        self.center_weight = 1.0
        self.quantization_weight = quantization_weight
        self.register_buffer("centres", torch.as_tensor(centres, dtype=torch.float32))
        self.register_buffer("tie_breaker", torch.as_tensor(tie_breaker, dtype=torch.float32))

    def forward(self, h, Y):
        c = label_centroids(Y, self.centres, self.tie_breaker)
        center = F.binary_cross_entropy_with_logits(2 * h, (c + 1) / 2)
        quantization = (torch.tanh(h).abs() - 1).pow(2).mean()
        return self.combine([center, quantization])


class OrthoHashLoss(nn.Module):
    """OrthoHash: cross-entropy of scaled cosine logits with a margin, onto orthogonal codes.

    ``logit_ik = s (cos(h_i, c_k) - m y_ik)`` for the ``c`` codes ``c_k`` (one a
    label); loss ``mean_i -sum_k (y_ik / sum_l y_il) log softmax(logit_i)_k``:
    the cross-entropy for one label a sample, the authors' label smoothing
    for several. A single term, returned alone.
    """

    def __init__(self, codes=None, scale=8.0, margin=0.2):
        super().__init__()
        self.scale = scale
        self.margin = margin
        self.register_buffer("codes", torch.as_tensor(codes, dtype=torch.float32))

    def forward(self, h, Y):
        cosines = F.normalize(h, dim=1) @ F.normalize(self.codes, dim=1).T
        logits = self.scale * (cosines - self.margin * Y)
        weights = Y / Y.sum(1, keepdim=True)
        return -(weights * F.log_softmax(logits, dim=1)).sum(1).mean()
