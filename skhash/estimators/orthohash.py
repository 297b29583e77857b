"""OrthoHash: one cosine-similarity objective for deep hashing, on features."""

from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions

from .._typing import Extractor, RandomStateLike
from ._supervised import SupervisedNetHasher
from ._supervised_modules import OrthoHashLoss, hash_centres

__all__ = ["OrthoHashHasher"]


class OrthoHashHasher(SupervisedNetHasher):
    """OrthoHash: classification by cosine similarity onto orthogonal binary codes, with a margin.

    Each label gets a binary code, the codes nearly or exactly orthogonal
    (rows of a Hadamard matrix, or random bits). A network on pretrained
    features outputs ``h`` (batch-normalised, for balanced bits); the cosine
    similarities of ``h`` with the labels' codes, less a margin for the
    sample's own labels and scaled, are the logits of a cross-entropy. One
    objective both separates the classes and pulls ``h`` towards a binary
    code, so no quantization term is needed. The codes are ``sign(h)``.

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits, a positive multiple of 8.
    codebook : {"auto", "bernoulli"}, default="auto"
        The labels' codes: ``"auto"`` takes rows of the Hadamard matrix of
        order ``n_bits`` (exactly orthogonal) when ``n_bits`` is a power of two
        and there are at most ``n_bits`` labels, else random bits (+-1 with
        probability 1/2 each, nearly orthogonal); ``"bernoulli"``: random bits
        always (the authors' default).
    scale : float, default=8.0
        ``s``, the scale of the cosine logits (the authors' 8).
    margin : float, default=0.2
        ``m``, subtracted from the cosines of a sample's own labels (the
        authors' 0.2).
    hidden_sizes : tuple of int, default=(512,)
        Widths of hidden ``Linear -> ReLU`` layers before the hash layer
        (the trainable top the papers fine-tune with their CNN; see Notes);
        ``()``: the hash layer alone on the features.
    max_epochs : int, default=30
        Training epochs.
    batch_size : int, default=64
        Mini-batch size; each sample is compared with the codes only.
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
        The trained network; ``net_.history`` holds the per-epoch loss
        (``train_loss``).
    codes_ : ndarray of shape (n_labels_, n_bits)
        The labels' codes (+-1), in the order of ``y``'s sorted classes (or
        indicator columns).
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
    CSQHasher : Binary cross-entropy towards hash centres.
    SDHHasher : Codes that classify the labels linearly (classical).

    Notes
    -----
    The paper's formulas, for a sample's continuous code ``h`` (after batch
    normalisation), the codes ``c_k`` of the ``c`` labels and its labels ``y``:

    - ``logit_k = s (cos(h, c_k) - m y_k)`` (an additive cosine margin);
    - single-label: ``L = -log softmax(logit)_y``, the cross-entropy; it
      maximises the cosine similarity between ``h`` and its label's binary
      code, which also minimises the quantization error;
    - multi-label: ``L = -sum_k (y_k / sum_l y_l) log softmax(logit)_k``, the
      authors' label smoothing (one formula for both cases);

    with ``s = 8`` and ``m = 0.2`` (cisip-FIRe's defaults), averaged over the
    mini-batch. Codes: the authors' default draws each bit from a Bernoulli
    distribution; here exactly orthogonal Hadamard rows are taken when they
    suffice.

    Departures: the paper fine-tunes a CNN end to end; here a network is
    trained on fixed features, by SGD with momentum (not Adam). The batch
    normalisation after the hash layer (the authors' code balance) is
    ``torch.nn.BatchNorm1d``; new samples go through it
    with its running statistics. Every sample needs at least one label: rows
    of ``y`` with no label are an error.

    Defaults, chosen on validation splits (``benchmarks/supervised_validation.py``,
    curves in ``benchmarks/supervised_validation.json``; held-out labelled training
    images as queries, never the test queries; EfficientNet-Lite0 features, 32 bits,
    random state 0, SGD with momentum 0.9, 30 epochs, learning rate 1e-2): with the hash
    layer alone on the features mAP 0.761 on MIRFlickr-25K (the first 4,000 photos, 24
    concepts, 1,000 queries) and 0.614 on CIFAR-10 (4,000 training images, 1,000
    queries); with one hidden layer of 512 units 0.802 and 0.752, against SDH's 0.774
    and 0.662 and ITQ's 0.631 and 0.285 on the same splits. With the linear layer, 1e-3
    and 1e-1 gave 0.774 and 0.762 on MIRFlickr-25K (the curves peak near epoch 10). So
    the default network has one hidden layer of 512 units.

    References
    ----------
    .. [1] J. T. Hoe, K. W. Ng, T. Zhang, C. S. Chan, Y.-Z. Song and T. Xiang,
       "One loss for all: Deep hashing with a single cosine similarity based
       learning objective", NeurIPS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators.orthohash import OrthoHashHasher
    >>> rng = np.random.default_rng(0)
    >>> y = np.arange(64) % 4
    >>> X = rng.normal(size=(4, 16))[y] + 0.1 * rng.normal(size=(64, 16))
    >>> hasher = OrthoHashHasher(n_bits=8, max_epochs=2, random_state=0).fit(X, y)
    >>> hasher.codes_.shape
    (4, 8)
    """

    _parameter_constraints = {
        **SupervisedNetHasher._parameter_constraints,
        "codebook": [StrOptions({"auto", "bernoulli"})],
        "scale": [Interval(Real, 0, None, closed="neither")],
        "margin": [Interval(Real, None, None, closed="neither")],
    }
    _every_row = True
    _batch_norm = True

    def __init__(
        self,
        n_bits: int = 32,
        *,
        codebook: str = "auto",
        scale: float = 8.0,
        margin: float = 0.2,
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
        self.codebook = codebook
        self.scale = scale
        self.margin = margin
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
        self.codes_ = hash_centres(
            Y.shape[1], self.n_bits, random_state, method=self.codebook, negated=False
        )
        return OrthoHashLoss, {"codes": self.codes_, "scale": self.scale, "margin": self.margin}
