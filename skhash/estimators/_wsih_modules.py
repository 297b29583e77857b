"""Torch modules and losses of WSIH: the prototype network, the hashing network, their losses."""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "HashingLoss",
    "HashingNetwork",
    "PrototypeLoss",
    "PrototypeNetwork",
    "balance_loss",
    "decorrelation_loss",
    "prototype_attention",
    "quantization_loss",
    "reconstruction_loss",
    "relation_loss",
    "similarity_loss",
]


def _block(n_in, n_out, dropout=0.0):
    layers = [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class _Encoder(nn.Module):
    """enc1, enc2, enc3 and the hash layer, shared by both networks.

    ``enc1: Linear BN ReLU -> enc2: Linear BN ReLU Dropout -> enc3: Linear BN
    ReLU -> hash: Linear BN tanh``; the parameter names are the same in both
    networks, so the hashing network loads the prototype network's weights
    by name.
    """

    def __init__(self, n_features, hidden_sizes, n_bits, dropout):
        super().__init__()
        w1, w2, w3 = hidden_sizes
        self.enc1 = _block(n_features, w1)
        self.enc2 = _block(w1, w2, dropout)
        self.enc3 = _block(w2, w3)
        self.hash = nn.Sequential(nn.Linear(w3, n_bits), nn.BatchNorm1d(n_bits), nn.Tanh())

    def after_enc1(self, f1):
        return self.hash(self.enc3(self.enc2(f1)))


class PrototypeNetwork(_Encoder):
    """Stage 1 network: the encoder and hash layer, then a concept classifier.

    ``forward(x)`` returns ``(h, logits)``: the ``tanh`` hash output of shape
    ``(n, n_bits)`` and the classifier's logits of shape ``(n, n_classes)``.
    """

    def __init__(self, n_features, hidden_sizes, n_bits, n_classes, dropout=0.4):
        super().__init__(n_features, hidden_sizes, n_bits, dropout)
        self.classifier = nn.Linear(n_bits, n_classes)

    def forward(self, x):
        h = self.after_enc1(self.enc1(x))
        return h, self.classifier(h)


def prototype_attention(f1, prototypes):
    """Feature-level transfer: mix the prototypes attended by ``f1`` into ``f1``.

    ``M = tanh(f1 P' / (2 D))``, ``a = M P / rowsum(M)`` and the result is
    ``0.5 f1 + 0.5 a``, with ``P`` the ``(n_classes, D)`` prototypes.

    Examples
    --------
    >>> import torch
    >>> from skhash.estimators._wsih_modules import prototype_attention
    >>> f1, prototypes = torch.ones(2, 4), torch.eye(4)[:3]
    >>> prototype_attention(f1, prototypes).shape
    torch.Size([2, 4])
    """
    M = torch.tanh((f1 @ prototypes.T) / (2 * f1.shape[1]))
    # f1 and the prototypes are ReLU outputs, so M >= 0; a row of zeros (a
    # dead f1) attends to nothing rather than dividing by zero.
    a = (M @ prototypes) / M.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return 0.5 * f1 + 0.5 * a


class HashingNetwork(_Encoder):
    """Stage 2 network: the encoder with prototype attention after enc1, and a decoder.

    ``forward(x)`` returns ``(h, x_rec)``: the ``tanh`` hash output and the
    decoder's reconstruction of ``x``. ``prototypes`` (a ``(n_classes, w1)``
    tensor or None for no attention) is a buffer: saved and moved with the
    module, never trained. The first ``n_frozen`` encoder layers are frozen:
    no gradient and always in evaluation mode (their batch-norm statistics and
    dropout are those of stage 1), so their output (attention included) is a
    fixed function of ``x``: :meth:`frozen_features` computes it, and
    ``forward(x, frozen=...)`` starts from a precomputed one.
    """

    def __init__(self, n_features, hidden_sizes, n_bits, prototypes=None, dropout=0.4, n_frozen=0):
        super().__init__(n_features, hidden_sizes, n_bits, dropout)
        w3 = hidden_sizes[2]
        self.decoder = nn.Sequential(
            nn.Linear(n_bits, w3),
            nn.BatchNorm1d(w3),
            nn.ReLU(),
            nn.Linear(w3, n_features),
            nn.BatchNorm1d(n_features),
        )
        self.register_buffer("prototypes", prototypes)
        self.n_frozen = n_frozen
        for layer in self._layers()[:n_frozen]:
            layer.requires_grad_(False)
        self.train()  # puts the frozen layers in evaluation mode

    def _layers(self):
        return [self.enc1, self.enc2, self.enc3]

    def train(self, mode=True):
        super().train(mode)
        for layer in self._layers()[: self.n_frozen]:
            layer.train(False)
        return self

    def _encode(self, f, layers):
        for k in layers:
            f = self._layers()[k](f)
            if k == 0 and self.prototypes is not None:
                f = prototype_attention(f, self.prototypes)
        return f

    def frozen_features(self, x):
        """Output of the frozen layers (``x`` itself when none is frozen)."""
        return self._encode(x, range(self.n_frozen))

    def forward(self, x, frozen=None):
        f = self.frozen_features(x) if frozen is None else frozen
        h = self.hash(self._encode(f, range(self.n_frozen, 3)))
        return h, self.decoder(h)


# -- losses -----------------------------------------------------------------
def _cosine(a):
    a = F.normalize(a, dim=1)
    return a @ a.T


def similarity_loss(h, y, k=1.0):
    """Similarity preservation: ``MSE(relu(cos(h_i, h_j)), k S_ij)`` with ``S_ij = [y_i = y_j]``."""
    S = (y[:, None] == y[None, :]).to(h.dtype)
    return F.mse_loss(F.relu(_cosine(h)), k * S)


def balance_loss(h):
    """Bit balance: the squared mean of each bit over the batch, averaged over the bits."""
    return h.mean(dim=0).pow(2).mean()


def decorrelation_loss(h):
    """Bit decorrelation: ``||h'h / b - I||_F^2 / n_bits`` for a batch of ``b`` codes.

    Divided by ``n_bits`` so that a weight suits every code length.
    """
    n, n_bits = h.shape
    gram = (h.T @ h) / n
    return (gram - torch.eye(n_bits, dtype=h.dtype, device=h.device)).pow(2).sum() / n_bits


def relation_loss(h, x, scale=1.2):
    """Relation reconstruction: ``MSE(cos(h_i, h_j), 1.2 S)`` with the target relation ``S``.

    ``S_I = 2 cos(x_i, x_j) - 1`` and ``S = 0.7 S_I + 0.3 S_I S_I / b``.
    """
    S_I = 2 * _cosine(x) - 1
    S = 0.7 * S_I + 0.3 * (S_I @ S_I) / x.shape[0]
    return F.mse_loss(_cosine(h), scale * S)


def reconstruction_loss(x_rec, x):
    """Feature reconstruction: ``MSE(x_rec, x)`` over the mean per-feature variance of ``x``.

    Dividing by the variance makes the loss independent of the scale of the
    features (1 is the error of predicting the batch mean), so that one weight
    suits features of any extractor.
    """
    return F.mse_loss(x_rec, x) / x.var(dim=0).mean().clamp_min(1e-12)


def quantization_loss(h):
    """Quantisation: ``MSE(h, sign(h))``, ``sign(0) = +1``."""
    return F.mse_loss(h, torch.where(h >= 0, 1.0, -1.0).to(h.dtype))


class _WeightedLoss(nn.Module):
    """A weighted sum of named terms; ``forward`` returns ``(total, terms)``."""

    names: tuple[str, ...] = ()

    def combine(self, terms):
        weights = [getattr(self, f"{name}_weight") for name in self.names]
        total = sum(w * t for w, t in zip(weights, terms, strict=True))
        return total, dict(zip(self.names, terms, strict=True))


class PrototypeLoss(_WeightedLoss):
    """Stage 1 loss: classification, similarity preservation, bit balance, decorrelation."""

    names = ("classification", "similarity", "balance", "decorrelation")

    def __init__(
        self,
        classification_weight=1.0,
        similarity_weight=1.0,
        balance_weight=1.0,
        decorrelation_weight=1.0,
    ):
        super().__init__()
        self.classification_weight = classification_weight
        self.similarity_weight = similarity_weight
        self.balance_weight = balance_weight
        self.decorrelation_weight = decorrelation_weight

    def forward(self, y_pred, y):
        h, logits = y_pred
        terms = [
            F.cross_entropy(logits, y),
            similarity_loss(h, y),
            balance_loss(h),
            decorrelation_loss(h),
        ]
        return self.combine(terms)


class HashingLoss(_WeightedLoss):
    """Stage 2 loss: relation reconstruction, quantisation, feature reconstruction."""

    names = ("relation", "quantization", "reconstruction")

    def __init__(self, relation_weight=1.0, quantization_weight=1.0, reconstruction_weight=1.0):
        super().__init__()
        self.relation_weight = relation_weight
        self.quantization_weight = quantization_weight
        self.reconstruction_weight = reconstruction_weight

    def forward(self, y_pred, x):
        h, x_rec = y_pred
        terms = [relation_loss(h, x), quantization_loss(h), reconstruction_loss(x_rec, x)]
        return self.combine(terms)
