"""GreedyHash, unsupervised: a sign layer with the straight-through backward, on features."""

from numbers import Real

from sklearn.utils._param_validation import Interval

from .._typing import Extractor, RandomStateLike
from ._deep_baselines import FeatureNetHasher
from ._deep_baselines_modules import GreedyHashLoss

__all__ = ["GreedyHashHasher"]


class GreedyHashHasher(FeatureNetHasher):
    """GreedyHash (unsupervised): hash by ``sign`` in the forward pass, train straight through.

    A network on pretrained features outputs ``h``; its hash layer is
    ``b = sign(h)`` in the forward pass, whose gradient is passed back
    unchanged (the greedy principle: the continuous ``h`` takes the step that
    is best for the discrete ``b``). The unsupervised loss keeps the cosine
    similarities of the features in the codes and penalises the distance of
    ``h`` to its signs. The codes are ``sign(h)``.

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits, a positive multiple of 8.
    quantization_weight : float, default=0.1
        ``alpha``, the weight of the penalty ``||h| - 1|^p`` (the paper's 0.1).
    p : float, default=3
        Exponent of the penalty (the paper's 3).
    hidden_sizes : tuple of int, default=()
        Widths of hidden ``Linear -> ReLU`` layers before the hash layer;
        ``()``: the hash layer alone on the features, as in the paper, which
        trains one linear layer on frozen VGG-16 ``fc7`` features.
    max_epochs : int, default=60
        Training epochs (the authors' code: 60).
    batch_size : int, default=32
        Mini-batch size (the authors' code: 32). Each batch's first half is
        paired with its second half in the similarity loss.
    lr : float, default=1e-3
        SGD learning rate (the authors' code: 1e-4; see Notes).
    momentum : float, default=0.9
        SGD momentum (the authors' code).
    weight_decay : float, default=5e-4
        SGD weight decay (the authors' code).
    center : bool, default=True
        Subtract the training features' mean from every input (at fit and at
        transform) before the network and the feature similarities; see Notes.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks of the training (deep-copied at ``fit``).
    validation_fraction : float in (0, 1) or None, default=None
        Fraction of the training samples held out to log a validation loss.
    extractor : ImageFeatureExtractor or None, default=None
        ``None``: ``X`` is features. An
        :class:`~skhash.features.ImageFeatureExtractor`: ``X`` is images (file
        paths or ``uint8`` arrays) at ``fit`` and ``transform``; the
        extractor's ``trainable_blocks`` last blocks of the image network
        train with the hash network (``0``: the frozen features, cached), and
        the frozen part's outputs are cached on disk. Cloned at ``fit``
        (``extractor_``); see the user guide's end-to-end page.
    device : str, default="auto"
        Torch device; ``"auto"`` uses CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and the shuffling. The global numpy and
        torch random states are neither used nor modified.
    verbose : int, default=0
        If positive, print the per-epoch losses.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained network; ``net_.history`` holds the per-epoch losses
        (``similarity``, ``quantization``).
    hidden_sizes_ : tuple of int
        The hidden widths used.
    mean_ : ndarray of shape (n_features,) or None
        The training features' mean, subtracted from every input; ``None``
        when ``center=False``.
    extractor_ : ImageFeatureExtractor or None
        The fitted clone of ``extractor``.
    device_ : str
        The torch device used.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    BiHalfHasher : The bi-half layer instead of the sign and its penalty.
    SSDHHasher : Pair labels from the distribution of feature distances.
    ITQHasher : Unsupervised shallow baseline.

    Notes
    -----
    The paper's formulas, for a mini-batch of features ``x`` and network
    outputs ``h`` (``n x k``):

    - forward ``b = sign(h)``; backward ``dL/dh = dL/db`` (the straight-through
      "greedy" gradient);
    - unsupervised loss ``L = mean_i (cos(b_i, b_{i+m}) - cos(x_i, x_{i+m}))^2
      + alpha mean_ij ||h_ij| - 1|^p`` with ``m = n / 2``: the similarity of the
      codes of two images copies that of their features, and ``h`` is pulled
      to ``{-1, +1}`` with ``alpha = 0.1``, ``p = 3``.

    Departures: the features are EfficientNet-Lite0 (or any) features rather
    than VGG-16 ``fc7``, and there is no CNN to fine-tune (the paper freezes it
    too). ``sign(0)`` is ``+1``, as for every skhash code. The learning rate
    was chosen on validation splits (held-out training images as queries,
    ``benchmarks/deep_baselines_validation.py``; the webly supervised
    settings' target images of MIRFlickr-25K and CIFAR-10, EfficientNet-Lite0
    features, 32 bits, 60 epochs): mAP 0.629 and 0.186 with the authors'
    ``1e-4`` (still rising slowly), 0.640 and 0.221 with ``1e-3``, 0.632 and
    0.191 with ``1e-2``. The cubic penalty makes training diverge on
    unscaled features of large magnitude (a ``DivergedFitError`` then
    says so): scale such features first.

    Centring (a departure: the paper feeds its VGG-16 ``fc7`` features
    uncentred): with ``center=True`` the training features' mean ``mean_`` is
    subtracted from every input, at fit and at transform, before the network
    and before the feature cosine similarities the loss copies into the codes.
    ReLU features are non-negative, so every pair of images has a positive
    cosine similarity, and copying those into the codes collapses them (raw
    digits, all pixels non-negative: mAP far below LSH's). Validation mAP
    (``benchmarks/deep_baselines_validation.py``, the splits above plus
    held-out training images of the digits benchmark, ``--datasets digits``;
    32 bits, the other defaults, random states 0 / 1; centred against raw):
    MIRFlickr-25K 0.625 / 0.614 against 0.640 / 0.624, CIFAR-10 0.232 / 0.238
    against 0.221 / 0.227, digits 0.548 / 0.601 against 0.193 / 0.380:
    centring costs 0.013 on MIRFlickr-25K, gains 0.012 on CIFAR-10 and avoids
    the collapse, so it is the default. It also keeps the cubic penalty from
    diverging on features far from the origin (not on features of large
    spread: scale those).
    The learning rate still fits centred features (random state 0,
    MIRFlickr-25K / CIFAR-10): 0.619 / 0.204 with 1e-4, 0.625 / 0.232 with
    1e-3, 0.623 / 0.211 with 1e-2.

    References
    ----------
    .. [1] S. Su, C. Zhang, K. Han and Y. Tian, "Greedy Hash: Towards fast
       optimization for accurate hash coding in CNN", NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators.greedyhash import GreedyHashHasher
    >>> X = np.abs(np.random.default_rng(0).normal(size=(64, 16)))
    >>> hasher = GreedyHashHasher(n_bits=8, max_epochs=2, random_state=0).fit(X)
    >>> hasher.transform(X[:3]).shape
    (3, 1)
    """

    _parameter_constraints = {
        **FeatureNetHasher._parameter_constraints,
        "quantization_weight": [Interval(Real, 0, None, closed="left")],
        "p": [Interval(Real, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_bits: int = 32,
        *,
        quantization_weight: float = 0.1,
        p: float = 3,
        hidden_sizes: tuple[int, ...] = (),
        max_epochs: int = 60,
        batch_size: int = 32,
        lr: float = 1e-3,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        center: bool = True,
        callbacks: list | None = None,
        validation_fraction: float | None = None,
        extractor: Extractor = None,
        device: str = "auto",
        random_state: RandomStateLike = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(n_bits=n_bits, random_state=random_state)
        self.quantization_weight = quantization_weight
        self.p = p
        self.hidden_sizes = hidden_sizes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.center = center
        self.callbacks = callbacks
        self.validation_fraction = validation_fraction
        self.extractor = extractor
        self.device = device
        self.verbose = verbose

    def _criterion(self, X, Y, random_state):
        return GreedyHashLoss, {"quantization_weight": self.quantization_weight, "p": self.p}
