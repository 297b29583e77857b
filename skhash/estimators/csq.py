"""Central similarity quantization (CSQ), on features."""

from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions

from .._typing import Extractor, RandomStateLike
from ._supervised import SupervisedNetHasher
from ._supervised_modules import CSQLoss, hash_centres

__all__ = ["CSQHasher"]


class CSQHasher(SupervisedNetHasher):
    """CSQ: each code is pulled to its hash centre, one far-apart centre a label.

    Each label gets a hash centre, a binary code far from the others' (rows
    of a Hadamard matrix, or random bits); a sample's centre is its label's,
    or for several labels their centroid. A network on pretrained features
    outputs ``h``, and ``tanh(h)`` is trained towards the sample's centre by
    a bitwise binary cross-entropy, with a quantization penalty. The codes
    are ``sign(h)``.

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits, a positive multiple of 8.
    centres : {"auto", "bernoulli"}, default="auto"
        The hash centres: ``"auto"`` takes rows of ``[H; -H]`` for the
        Hadamard matrix ``H`` of order ``n_bits`` when ``n_bits`` is a power of
        two and there are at most ``2 n_bits`` labels, else random bits
        (+-1 with probability 1/2 each); ``"bernoulli"``: random bits always.
    quantization_weight : float, default=1e-4
        ``lambda``, the weight of the quantization penalty ``mean (|tanh(h)| - 1)^2``.
    hidden_sizes : tuple of int, default=(512,)
        Widths of hidden ``Linear -> ReLU`` layers before the hash layer
        (the trainable top the papers fine-tune with their CNN; see Notes);
        ``()``: the hash layer alone on the features.
    max_epochs : int, default=30
        Training epochs.
    batch_size : int, default=64
        Mini-batch size; each sample is compared with its centre only.
    lr : float, default=1e-2
        SGD learning rate (see Notes).
    momentum : float, default=0.9
        SGD momentum.
    weight_decay : float, default=1e-5
        SGD weight decay.
    center : bool, default=True
        Subtract the training features' mean from every input (at fit and at
        transform) before the network.
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
        (``center``, ``quantization``).
    centres_ : ndarray of shape (n_labels_, n_bits)
        The hash centres (+-1), one a label present, in the order of ``y``'s
        sorted classes (or indicator columns).
    tie_breaker_ : ndarray of shape (n_bits,)
        Random bits (+-1) given to a multi-label centroid where its labels'
        centres cancel out.
    n_labels_ : int
        Number of labels (classes) present in ``y``.
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
    OrthoHashHasher : Cosine-margin classification onto orthogonal codes.
    DPSHHasher : A pairwise likelihood.

    Notes
    -----
    The paper's formulas, for ``k`` bits and ``c`` labels:

    - hash centres: the rows of a Hadamard matrix ``H_k`` (any two at
      Hamming distance ``k / 2``), with those of ``-H_k`` when ``c > k`` (up
      to ``2k`` centres; ``k`` a power of two); otherwise each bit of each
      centre drawn from a Bernoulli distribution (+-1, probability 1/2);
    - a sample with several labels gets their centroid: ``c' = sign(sum of
      its labels' centres)``, zero sums set by random bits (fixed per fit,
      as in cisip-FIRe);
    - loss ``L = -mean_ij [t_ij log p_ij + (1 - t_ij) log(1 - p_ij)]
      + lambda mean_ij (|z_ij| - 1)^2`` with ``z = tanh(h)``,
      ``p = (z + 1) / 2`` and ``t = (c' + 1) / 2``: the bitwise binary
      cross-entropy between the code and its centre, averaged over the
      samples and bits of a mini-batch, with ``lambda = 1e-4``.

    Here ``(tanh(h) + 1) / 2 = sigmoid(2h)``, so the cross-entropy is
    computed from the logits ``2h`` (the same value, numerically stable).

    Departures: the paper fine-tunes a CNN end to end; here a network is
    trained on fixed features, by SGD with momentum (not Adam or RMSprop).
    The paper's random centres are resampled until they are far enough
    apart; here they are drawn once. Every sample needs at least one label
    (its centre): rows of ``y`` with no label are an error.

    Defaults, chosen on validation splits (``benchmarks/supervised_validation.py``,
    curves in ``benchmarks/supervised_validation.json``; held-out labelled training
    images as queries, never the test queries; EfficientNet-Lite0 features, 32 bits,
    random state 0, SGD with momentum 0.9, 30 epochs, learning rate 1e-2): with the hash
    layer alone on the features mAP 0.777 on MIRFlickr-25K (the first 4,000 photos, 24
    concepts, 1,000 queries) and 0.674 on CIFAR-10 (4,000 training images, 1,000
    queries); with one hidden layer of 512 units 0.798 and 0.748, against SDH's 0.774
    and 0.662 and ITQ's 0.631 and 0.285 on the same splits. With the linear layer, 1e-3
    and 1e-1 gave 0.752 and 0.762 on MIRFlickr-25K. So the default network has one
    hidden layer of 512 units.

    References
    ----------
    .. [1] L. Yuan, T. Wang, X. Zhang, F. E. H. Tay, Z. Jie, W. Liu and
       J. Feng, "Central similarity quantization for efficient image and
       video retrieval", CVPR 2020, pp. 3083-3092.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators.csq import CSQHasher
    >>> rng = np.random.default_rng(0)
    >>> y = np.arange(64) % 4
    >>> X = rng.normal(size=(4, 16))[y] + 0.1 * rng.normal(size=(64, 16))
    >>> hasher = CSQHasher(n_bits=8, max_epochs=2, random_state=0).fit(X, y)
    >>> hasher.centres_.shape
    (4, 8)
    """

    _parameter_constraints = {
        **SupervisedNetHasher._parameter_constraints,
        "centres": [StrOptions({"auto", "bernoulli"})],
        "quantization_weight": [Interval(Real, 0, None, closed="left")],
    }
    _every_row = True

    def __init__(
        self,
        n_bits: int = 32,
        *,
        centres: str = "auto",
        quantization_weight: float = 1e-4,
        hidden_sizes: tuple[int, ...] = (512,),
        max_epochs: int = 30,
        batch_size: int = 64,
        lr: float = 1e-2,
        momentum: float = 0.9,
        weight_decay: float = 1e-5,
        center: bool = True,
        callbacks: list | None = None,
        validation_fraction: float | None = None,
        extractor: Extractor = None,
        device: str = "auto",
        random_state: RandomStateLike = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(n_bits=n_bits, random_state=random_state)
        self.centres = centres
        self.quantization_weight = quantization_weight
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
        self.centres_ = hash_centres(
            Y.shape[1], self.n_bits, random_state, method=self.centres, negated=True
        )
        self.tie_breaker_ = hash_centres(1, self.n_bits, random_state, method="bernoulli")[0]
        return CSQLoss, {
            "centres": self.centres_,
            "tie_breaker": self.tie_breaker_,
            "quantization_weight": self.quantization_weight,
        }
