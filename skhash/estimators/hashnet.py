"""HashNet: deep hashing by continuation, on features."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions
from skorch.callbacks import Callback

from .._typing import Extractor, RandomStateLike
from ._supervised import SupervisedNetHasher
from ._supervised_modules import HashNetLoss, hashnet_scale

__all__ = ["HashNetHasher"]


class Continuation(Callback):
    """Set HashNet's ``beta`` at the start of each epoch: ``sqrt(1 + epoch // step)``."""

    def __init__(self, step):
        self.step = step

    def on_epoch_begin(self, net, **kwargs):
        net.criterion_.beta = hashnet_scale(len(net.history) - 1, self.step)


class HashNetHasher(SupervisedNetHasher):
    """HashNet: a balanced pairwise likelihood of ``tanh(beta h)``, ``beta`` growing by epochs.

    A network on pretrained features outputs ``h``; the probability that two
    samples are similar (share a label) is the sigmoid of ``alpha`` times the
    inner product of ``tanh(beta h)``. The likelihood of a mini-batch's pairs
    is weighted so that similar and dissimilar pairs count equally however
    rare the similar ones are, and ``beta`` grows with the epochs
    (continuation), so that ``tanh(beta h)`` tends to ``sign(h)``, the codes.

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits, a positive multiple of 8.
    alpha : float or "auto", default="auto"
        Scale of the inner products in the sigmoid; ``"auto"``: ``10 / n_bits``
        (DeepHash-pytorch's choice).
    step_continuation : int, default=10
        ``beta = sqrt(1 + epoch // step_continuation)`` (0-based epochs): it
        grows every ``step_continuation`` epochs.
    hidden_sizes : tuple of int, default=(512,)
        Widths of hidden ``Linear -> ReLU`` layers before the hash layer
        (the trainable top the papers fine-tune with their CNN; see Notes);
        ``()``: the hash layer alone on the features.
    max_epochs : int, default=30
        Training epochs.
    batch_size : int, default=64
        Mini-batch size; the pairs of the loss are those of a batch.
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
        (``train_loss``); ``net_.criterion_.beta`` the last ``beta``.
    alpha_ : float
        The ``alpha`` used.
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
    DPSHHasher : The unweighted likelihood with a quantization penalty.
    DSHHasher : A contrastive loss with a margin on the same pairs.

    Notes
    -----
    The paper's formulas, for network outputs ``h`` and pair labels
    ``s_ij = 1`` when samples ``i`` and ``j`` share a label (else 0):

    - activation ``z = tanh(beta h)``, with ``beta`` raised step by step
      during training (continuation: ``tanh(beta h) -> sign(h)``);
    - weighted maximum likelihood ``L = sum_{s_ij in S} w_ij (log(1 +
      e^{alpha z_i' z_j}) - alpha s_ij z_i' z_j)``, with ``w_ij = c_ij |S| / |S_1|``
      for similar pairs and ``c_ij |S| / |S_0|`` for dissimilar ones (``S_1``,
      ``S_0``: the similar and dissimilar pairs of ``S``; ``c_ij = 1`` for
      labels that are shared or not).

    Here ``S`` is the ordered pairs ``i != j`` of a mini-batch and the sum
    is divided by ``|S|``, as in DeepHash-pytorch and cisip-FIRe (so the loss
    is the mean over the batch's similar pairs plus the mean over its
    dissimilar pairs); ``beta = sqrt(1 + epoch // step_continuation)``, the
    schedule of DeepHash-pytorch by epochs, and ``alpha = 10 / n_bits``.

    Departures: the paper fine-tunes AlexNet end to end and raises ``beta``
    by iterations; here a network is trained on fixed features, by SGD with
    momentum (not RMSprop), with ``beta`` raised by epochs. The pairs are
    those of the mini-batch, not the batch against the whole training set,
    so memory is ``O(batch_size^2)``.

    Defaults, chosen on validation splits (``benchmarks/supervised_validation.py``,
    curves in ``benchmarks/supervised_validation.json``; held-out labelled training
    images as queries, never the test queries; EfficientNet-Lite0 features, 32 bits,
    random state 0, SGD with momentum 0.9, 30 epochs, learning rate 1e-2): with the hash
    layer alone on the features mAP 0.847 on MIRFlickr-25K (the first 4,000 photos, 24
    concepts, 1,000 queries) and 0.711 on CIFAR-10 (4,000 training images, 1,000
    queries); with one hidden layer of 512 units 0.858 and 0.770, against SDH's 0.774
    and 0.662 and ITQ's 0.631 and 0.285 on the same splits. With the linear layer, 1e-1
    gave 0.844 on MIRFlickr-25K. So the default network has one hidden layer of 512
    units.

    References
    ----------
    .. [1] Z. Cao, M. Long, J. Wang and P. S. Yu, "HashNet: Deep learning to
       hash by continuation", ICCV 2017, pp. 5608-5617.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.estimators.hashnet import HashNetHasher
    >>> rng = np.random.default_rng(0)
    >>> y = np.arange(64) % 4
    >>> X = rng.normal(size=(4, 16))[y] + 0.1 * rng.normal(size=(64, 16))
    >>> hasher = HashNetHasher(n_bits=8, max_epochs=2, random_state=0).fit(X, y)
    >>> hasher.transform(X[:3]).shape
    (3, 1)
    """

    _parameter_constraints = {
        **SupervisedNetHasher._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "step_continuation": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_bits: int = 32,
        *,
        alpha: float | str = "auto",
        step_continuation: int = 10,
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
        self.alpha = alpha
        self.step_continuation = step_continuation
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
        self.alpha_ = 10 / self.n_bits if self.alpha == "auto" else float(self.alpha)
        return HashNetLoss, {"alpha": self.alpha_}

    def _extra_callbacks(self):
        return [("continuation", Continuation(self.step_continuation))]
