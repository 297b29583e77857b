"""Dual-level Semantic Transfer Deep Hashing (DSTDH) with sparse social tags."""

import copy
import inspect
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from .._typing import ArrayLike, Extractor, RandomStateLike
from ..codes import pack_codes
from ._base import BaseHasher, _check_random_state
from ._dstdh_solver import (
    TagLeastSquares,
    anchor_graph,
    check_tags,
    dstdh_admm,
    hypergraph,
    itq_init_codes,
    sign_pm1,
    unit_rows,
)
from ._torch import (
    ArrayDataset,
    DeepHasherMixin,
    predict_in_batches,
    resolve_device,
    torch_rng,
    torch_seed,
)

__all__ = ["DSTDHHasher", "HashMLP"]

_OBJECTIVE_NOTE = (
    "ADMM objective (printed at each iteration): gamma sum_j ||(Z - YP)_j|| "
    "- beta tr(B' Theta Z) - alpha tr(B' S_a Z) + nu ||Hx - Z||_F,\n"
    "  with the auxiliary codes B = Z + (beta Theta Z + alpha S_a Z + E_B) / mu. It is a "
    "Lagrangian-like value, not a loss that must fall:\n"
    "  as the penalty mu grows (x rho each iteration) B is pulled onto Z and the value can "
    "rise; a rise is not divergence. The solver\n"
    "  stops at the first iteration (from the third) where it does not decrease by more "
    "than tol (relative), or after max_iter."
)

_OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


class HashMLP(nn.Module):
    """DSTDH's default hash network: an MLP on features ending in ``tanh(Linear)``.

    ``in_features -> [Linear(h) -> ReLU -> Dropout] * len(hidden_layer_sizes)
    -> Dropout -> Linear(n_bits) -> tanh``; without hidden layers it is the
    paper's hash layer on the frozen CNN representation (dropout on the
    features, then the fully connected hash layer).

    Parameters
    ----------
    in_features : int
        Number of input features.
    n_bits : int
        Number of outputs (bits).
    hidden_layer_sizes : sequence of int, default=()
        Widths of the hidden layers.
    dropout : float, default=0.5
        Dropout probability before every linear layer but the first hidden one.

    Examples
    --------
    >>> import torch
    >>> from skhash.estimators.dstdh import HashMLP
    >>> net = HashMLP(10, 8, hidden_layer_sizes=(16,)).eval()
    >>> net(torch.zeros(3, 10)).shape
    torch.Size([3, 8])
    """

    def __init__(self, in_features, n_bits, hidden_layer_sizes=(), dropout=0.5):
        super().__init__()
        layers = []
        previous = in_features
        for width in hidden_layer_sizes:
            layers += [nn.Linear(previous, width), nn.ReLU(), nn.Dropout(dropout)]
            previous = width
        if not layers and dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(previous, n_bits), nn.Tanh()]
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)


def _accepts(module, name):
    try:
        parameters = inspect.signature(module).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind == p.VAR_KEYWORD for p in parameters.values())


class DSTDHHasher(DeepHasherMixin, BaseHasher):
    """Dual-level Semantic Transfer Deep Hashing: binary codes from images and noisy tags.

    Training alternates two stages for ``n_rounds`` rounds.

    1. A discrete solver learns {-1, +1} target codes ``Z`` for the training
       images: ``Z`` starts at ``sign(PCA-ITQ(X))`` and an ADMM minimises an
       L2,1 instance term between ``Z`` and a linear function of the tags
       (a noise matrix absorbs unreliable tags), minus a hypergraph affinity
       on ``[unit-norm features, tags]`` (image-concept, weight ``beta``),
       minus an anchor-graph affinity on the visual features (weight
       ``alpha``), plus a consistency term with the network output (weight
       ``nu``). All graph products are factored: memory and time per
       iteration grow linearly with the number of samples.
    2. A hash network (by default :class:`HashMLP`, ending in ``tanh``) is
       trained through skorch with a mean-squared error to ``Z``.

    The first round's consistency target is the ITQ initialisation (the
    network is not trained yet); each later round starts the solver from the
    signs of the network's current outputs, uses them as consistency target,
    and continues training the network on the new codes. ``n_rounds=1`` is the
    authors' single pass. At query time only the network is used: no tags.

    Parameters
    ----------
    n_bits : int, default=32
        Number of bits, a positive multiple of 8.
    alpha : float, default=0.03
        Weight of the anchor-graph (visual) affinity (the authors' code:
        0.01). What matters is its ratio to ``mu``: graph smoothing acts
        during the first iterations, while ``mu`` is small.
    beta : float, default=0.05
        Weight of the hypergraph (image-concept) affinity (the authors' code:
        0.001).
    nu : float, default=1e-3
        Weight of the consistency with the network output.
    gamma : float, default=1.0
        Weight of the L2,1 instance term between the codes and their linear
        prediction from the tags (1 in the paper); the noise matrix's
        shrinkage threshold is ``gamma / mu``.
    n_anchors : int, default=100
        Number of k-means anchors of the anchor graph (at most the number of
        training samples).
    n_nearest_anchors : int, default=2
        Anchors each sample is connected to.
    anchor_sigma : float or "auto", default="auto"
        Width of the anchor kernel ``exp(-d^2 / sigma^2)``; ``"auto"`` is the
        mean distance of a sample to its ``n_nearest_anchors``-th anchor.
    n_hyperedges : int, default=500
        Number of hyperedges (k-means centres of ``[features, tags]``).
    n_nearest_hyperedges : int or None, default=5
        Hyperedges each sample belongs to (sparse incidence); ``None`` gives
        the authors' dense incidence.
    hyperedge_sigma : float or "auto", default="auto"
        Width of the incidence kernel ``exp(-d^2 / (2 sigma^2))``; ``"auto"``
        is the mean distance of a sample to its nearest hyperedge centre. (The
        authors' fixed 40 makes every weight about 1 on unit-norm features.)
    tag_scale : float, default=1.5
        Factor applied to the (unit-norm) tag rows in the hypergraph's
        concatenated space, against unit-norm features.
    tag_normalize : bool, default=True
        Scale each photo's tag row to unit norm in the hypergraph's
        concatenated space (as the features are), so that distances measure
        how much two tag sets overlap rather than how many tags each photo
        has. False is the paper's raw binary tags.
    deflate : bool, default=True
        Remove the trivial eigenvector (eigenvalue 1) from both affinities:
        ``S_a - 11'/n`` and ``Theta - u u'`` with ``u`` proportional to the
        square root of the vertex degrees. That direction only pushes every
        code towards the same value; without it, strong graph weights
        collapse the bits into unbalanced, redundant ones. False is the
        paper's formulation.
    mu : float, default=1e-2
        Initial ADMM penalty.
    rho : float, default=1.1
        Growth factor of the penalty at each iteration.
    max_iter : int, default=100
        Maximum ADMM iterations per round.
    tol : float, default=1e-4
        The solver stops (after 3 iterations) once the objective decreases by
        at most ``tol * max(1, |objective|)``.
    itq_iter : int, default=50
        ITQ iterations of the initialisation.
    max_kmeans_samples : int or None, default=5000
        Training rows used by the k-means of anchors and hyperedges (random
        subsample; ``None``: all).
    n_rounds : int, default=1
        Alternations of discrete solver and network training.
    module : torch.nn.Module class or instance, default=None
        Hash network. ``None`` is :class:`HashMLP`. A class is instantiated
        with ``module_params`` as keyword arguments (skorch's ``module__*``
        parameters), plus ``in_features`` and ``n_bits`` when its ``__init__``
        accepts them and ``module_params`` does not set them; an instance is
        deep-copied at fit.
        Its ``forward(X)`` must map (batch, n_features) float32 features to
        (batch, n_bits) outputs in [-1, 1]; if ``forward`` also accepts
        ``tags``, the batch's dense tag rows are passed during training
        (never at transform time).
    module_params : dict, default=None
        Keyword arguments of ``module`` (of :class:`HashMLP` when ``module``
        is None, where they override ``hidden_layer_sizes`` and ``dropout``).
        Search them with e.g. ``param_grid={"module_params": [{...}, {...}]}``.
    hidden_layer_sizes : tuple of int, default=()
        Hidden layer widths of the default :class:`HashMLP`.
    dropout : float, default=0.5
        Dropout probability of the default :class:`HashMLP`.
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
        Optimiser.
    optimizer_params : dict, default=None
        Keyword arguments of the optimiser besides ``lr`` (skorch's
        ``optimizer__*`` parameters), e.g. ``{"momentum": 0.9,
        "weight_decay": 5e-4}``.
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int, default=20
        Training epochs per round.
    batch_size : int, default=128
        Mini-batch size.
    threshold : {"zero", "mean"}, default="zero"
        Bit threshold of the network outputs: 0, or the mean training output
        of each bit (the authors' choice).
    callbacks : list of skorch callbacks, default=None
        Callbacks of the hash network's skorch net, in skorch's format
        (instances or ``(name, callback)`` tuples), e.g.
        :class:`~skorch.callbacks.EarlyStopping`,
        :class:`~skorch.callbacks.LRScheduler`,
        :class:`~skorch.callbacks.Checkpoint`,
        :class:`~skorch.callbacks.ProgressBar`. They are deep-copied at fit;
        the fitted ones are in ``net_.callbacks_``. With ``n_rounds > 1`` the
        net's training continues across rounds (``partial_fit``), so epoch
        counts and the callbacks' state carry over.
    validation_fraction : float in (0, 1) or None, default=None
        Fraction of the training rows held out from the hash network's
        training as skorch's validation set (drawn with ``random_state``):
        ``net_.history`` then holds ``valid_loss``, the mean squared error to
        the solver's codes of the held-out rows, which callbacks such as
        ``EarlyStopping`` monitor. The discrete solver still learns codes for
        every row. None: no split.
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
    verbose : int, default=0
        ``> 0`` prints the steps, the solver's objective at each iteration
        (with a note on what it measures: a Lagrangian-like value that
        usually rises while the penalty ``mu`` grows, which is not
        divergence) and skorch's epoch table of the network (no colour codes
        when stdout is not a terminal), and shows progress bars over the
        solver's iterations and the epochs (on stderr); 0 prints nothing.
    random_state : int, RandomState instance or None, default=None
        Seed of ITQ, k-means, the network initialisation, dropout, shuffling
        and the validation split. The global numpy and torch random states
        are neither used nor modified. On a given machine, device, torch
        build and thread count, the same seed gives the same codes (see
        :ref:`reproducibility`).

    Attributes
    ----------
    codes_ : ndarray of shape (n_samples, n_bits // 8), dtype uint8
        Packed target codes of the training samples found by the last round's
        solver (they may differ from ``transform`` of the training features,
        which uses the network).
    objective_ : list of list of float
        Solver objective after each ADMM iteration, one list per round.
    n_iter_ : int
        Total number of ADMM iterations over all rounds.
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the hash network.
    threshold_ : ndarray of shape (n_bits,)
        Threshold subtracted from the network output in :meth:`project`.
    anchor_sigma_ : float
        Anchor kernel width used.
    hyperedge_sigma_ : float or None
        Hyperedge kernel width used (``None`` without tags).
    extractor_ : ImageFeatureExtractor or None
        The fitted clone of ``extractor``.
    device_ : str
        Torch device used.
    n_features_in_ : int
        Number of features seen during fit.

    See Also
    --------
    ITQHasher : The unsupervised initialisation of the codes.

    Notes
    -----
    ``tags=None`` is allowed: the tag terms (instance term and hypergraph)
    are dropped and the method reduces to its visual part (ITQ codes smoothed
    on the anchor graph, distilled into the network). Rows of ``tags``
    without any tag are allowed; they take part through their visual
    features. ``tags`` with no column or no nonzero entry are rejected.

    Differences from the authors' code, all switchable: kernel widths are
    data-driven (``"auto"``); each photo belongs to its
    ``n_nearest_hyperedges`` nearest hyperedges instead of all of them (with
    dense Gaussian incidences on unit-norm features every hyperedge holds
    every photo with a similar weight); tag rows are scaled to unit norm in
    the hypergraph (``tag_normalize``); the affinities are deflated
    (``deflate``). The default weights were chosen on a validation split of
    MIRFlickr-25K (EfficientNet-Lite0 features after a ``StandardScaler``,
    5,000 training photos; the test queries were never used), where the
    authors' weights (``alpha=0.01, beta=0.001``, raw tags, no deflation)
    gave about 2 mAP points less and larger ``beta`` collapsed the bits
    without deflation. See ``benchmarks/dstdh_mirflickr.py``.

    k-means (anchors and hyperedges) starts from random samples and runs at
    most 20 Lloyd iterations on at most ``max_kmeans_samples`` rows, so the
    discrete stage costs O(n) time and memory.

    References
    ----------
    .. [1] L. Zhu, H. Cui, Z. Cheng, J. Li and Z. Zhang, "Dual-level Semantic
       Transfer Deep Hashing for Efficient Social Image Retrieval", IEEE
       TCSVT 2020, arXiv:2006.05586.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from skhash.estimators.dstdh import DSTDHHasher
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 12)).astype(np.float32)
    >>> tags = sp.random(60, 20, density=0.2, format="csr", random_state=0)
    >>> tags.data[:] = 1
    >>> hasher = DSTDHHasher(n_bits=8, n_anchors=5, n_hyperedges=6, max_epochs=2,
    ...                      random_state=0).fit(X, tags=tags)
    >>> hasher.transform(X[:3]).shape
    (3, 1)
    """

    _parameter_constraints: dict = {
        **BaseHasher._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "nu": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "n_anchors": [Interval(Integral, 1, None, closed="left")],
        "n_nearest_anchors": [Interval(Integral, 1, None, closed="left")],
        "anchor_sigma": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "n_hyperedges": [Interval(Integral, 1, None, closed="left")],
        "n_nearest_hyperedges": [Interval(Integral, 1, None, closed="left"), None],
        "hyperedge_sigma": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "tag_scale": [Interval(Real, 0, None, closed="neither")],
        "tag_normalize": ["boolean"],
        "deflate": ["boolean"],
        "mu": [Interval(Real, 0, None, closed="neither")],
        "rho": [Interval(Real, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "itq_iter": [Interval(Integral, 0, None, closed="left")],
        "max_kmeans_samples": [Interval(Integral, 2, None, closed="left"), None],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "module": [None, type, nn.Module],
        "module_params": [dict, None],
        "hidden_layer_sizes": [tuple, list],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), type],
        "optimizer_params": [dict, None],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "threshold": [StrOptions({"zero", "mean"})],
        **DeepHasherMixin._deep_parameter_constraints,
    }

    def __init__(
        self,
        n_bits: int = 32,
        *,
        alpha: float = 0.03,
        beta: float = 0.05,
        nu: float = 1e-3,
        gamma: float = 1.0,
        n_anchors: int = 100,
        n_nearest_anchors: int = 2,
        anchor_sigma: float | str = "auto",
        n_hyperedges: int = 500,
        n_nearest_hyperedges: int | None = 5,
        hyperedge_sigma: float | str = "auto",
        tag_scale: float = 1.5,
        tag_normalize: bool = True,
        deflate: bool = True,
        mu: float = 1e-2,
        rho: float = 1.1,
        max_iter: int = 100,
        tol: float = 1e-4,
        itq_iter: int = 50,
        max_kmeans_samples: int | None = 5000,
        n_rounds: int = 1,
        module: Any = None,
        module_params: dict | None = None,
        hidden_layer_sizes: tuple[int, ...] | list[int] = (),
        dropout: float = 0.5,
        optimizer: Any = "adam",
        optimizer_params: dict | None = None,
        lr: float = 1e-3,
        max_epochs: int = 20,
        batch_size: int = 128,
        threshold: str = "zero",
        callbacks: list | None = None,
        validation_fraction: float | None = None,
        extractor: Extractor = None,
        device: str = "auto",
        verbose: int = 0,
        random_state: RandomStateLike = None,
    ) -> None:
        super().__init__(n_bits=n_bits, random_state=random_state)
        self.alpha = alpha
        self.beta = beta
        self.nu = nu
        self.gamma = gamma
        self.n_anchors = n_anchors
        self.n_nearest_anchors = n_nearest_anchors
        self.anchor_sigma = anchor_sigma
        self.n_hyperedges = n_hyperedges
        self.n_nearest_hyperedges = n_nearest_hyperedges
        self.hyperedge_sigma = hyperedge_sigma
        self.tag_scale = tag_scale
        self.tag_normalize = tag_normalize
        self.deflate = deflate
        self.mu = mu
        self.rho = rho
        self.max_iter = max_iter
        self.tol = tol
        self.itq_iter = itq_iter
        self.max_kmeans_samples = max_kmeans_samples
        self.n_rounds = n_rounds
        self.module = module
        self.module_params = module_params
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.threshold = threshold
        self.callbacks = callbacks
        self.validation_fraction = validation_fraction
        self.extractor = extractor
        self.device = device
        self.verbose = verbose

    # -- fitting -------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: ArrayLike, y: None = None, tags: Any = None) -> "DSTDHHasher":
        """Learn the hash network from image features and their tags.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Image features. NaN and infinite values are rejected.
            With an ``extractor``: the images (file paths, or a ``uint8``
            array of shape (n_samples, height, width, 3)).
        y : None
            Ignored (labels are never used for training).
        tags : {array-like, sparse matrix} of shape (n_samples, n_tags), default=None
            Binary tag matrix (0/1 or boolean; dense or CSR/CSC/COO). ``None``
            fits the visual part only. Routed by scikit-learn's metadata
            routing after ``set_fit_request(tags=True)``.

        Returns
        -------
        self : DSTDHHasher
            The fitted hasher.
        """
        X = self._validate_fit_input(X)
        tags = check_tags(tags, X.shape[0])
        self._fit(X, y, _check_random_state(self.random_state), tags=tags)
        self._check_fitted_codes(X)
        return self

    def _build_module_params(self, n_features):
        module_params = {f"module__{k}": v for k, v in (self.module_params or {}).items()}
        if module_params and self.module is not None and not isinstance(self.module, type):
            raise ValueError("module_params needs module to be a class, not a module instance.")
        if self.module is None:
            sizes = self.hidden_layer_sizes
            if not all(isinstance(h, Integral) and h >= 1 for h in sizes):
                raise ValueError(f"hidden_layer_sizes must hold positive ints, got {sizes!r}.")
            module = HashMLP
            defaults = {
                "module__hidden_layer_sizes": tuple(int(h) for h in sizes),
                "module__dropout": self.dropout,
            }
            module_params = {**defaults, **module_params}
        elif isinstance(self.module, type):
            if not issubclass(self.module, nn.Module):
                raise TypeError(
                    f"module must be a torch.nn.Module class or instance, got {self.module!r}."
                )
            module = self.module
        else:
            module = copy.deepcopy(self.module)
        if isinstance(module, type):
            for name, value in (("in_features", n_features), ("n_bits", self.n_bits)):
                key = f"module__{name}"
                if key not in module_params and _accepts(module, name):
                    module_params[key] = value
        return module, module_params

    def _build_net(self, n_features, seed):
        """The skorch net of the hash network (``device_`` must be set)."""
        module, module_params = self._build_module_params(n_features)
        optimizer = self.optimizer
        if isinstance(optimizer, str):
            optimizer = _OPTIMIZERS[optimizer]
        elif not issubclass(optimizer, torch.optim.Optimizer):
            raise TypeError(
                "optimizer must be 'adam', 'adamw', 'sgd' or a torch.optim.Optimizer "
                f"subclass, got {optimizer!r}."
            )
        optimizer_params = {f"optimizer__{k}": v for k, v in (self.optimizer_params or {}).items()}
        hint = f"lr ({self.lr:g})"
        if self.optimizer_params:
            hint += f" or the optimizer_params ({self.optimizer_params!r})"
        return self._make_net(
            module,
            nn.MSELoss,
            seed=seed,
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            divergence_hint=hint,
            progress_desc="DSTDHHasher's hash network",
            **module_params,
            **optimizer_params,
        )

    def _forward(self, X):
        """Network outputs on ``X`` in evaluation mode, as a float64 array."""
        return predict_in_batches(self.net_, X)

    def _fit(self, X, y, random_state, tags=None):
        self.device_ = resolve_device(self.device)
        verbose = self.verbose
        n_samples, n_features = X.shape

        # discrete stage: the structures do not change across rounds
        self._log(
            f"{n_samples} samples: ITQ initial codes, anchor graph"
            + (" and hypergraph" if tags is not None else "")
        )
        Xn = unit_rows(X)
        Z = itq_init_codes(X, self.n_bits, n_iter=self.itq_iter, random_state=random_state)
        graph = anchor_graph(
            Xn,
            n_anchors=self.n_anchors,
            n_nearest=self.n_nearest_anchors,
            sigma=self.anchor_sigma,
            max_kmeans_samples=self.max_kmeans_samples,
            deflate=self.deflate,
            random_state=random_state,
        )
        self.anchor_sigma_ = graph.sigma
        hyper, tag_ls = None, None
        self.hyperedge_sigma_ = None
        if tags is not None:
            hyper = hypergraph(
                Xn,
                tags,
                n_hyperedges=self.n_hyperedges,
                n_nearest=self.n_nearest_hyperedges,
                sigma=self.hyperedge_sigma,
                tag_scale=self.tag_scale,
                tag_normalize=self.tag_normalize,
                max_kmeans_samples=self.max_kmeans_samples,
                deflate=self.deflate,
                random_state=random_state,
            )
            self.hyperedge_sigma_ = hyper.sigma
            tag_ls = TagLeastSquares(tags)
        del Xn

        seed = torch_seed(random_state)
        self.net_ = self._build_net(n_features, seed)
        self.objective_ = []
        Hx = Z  # before the network is trained, the consistency target is ITQ
        inputs = self._net_inputs(X)  # the frozen outputs of the images while blocks train
        with torch_rng(seed, self.device_):
            self.net_.initialize()
            out = self._forward(inputs[:2])
            if out.shape != (min(2, n_samples), self.n_bits):
                raise ValueError(
                    f"module must map (batch, {n_features}) features to (batch, "
                    f"{self.n_bits}) outputs; got output shape {out.shape} for "
                    f"input shape {X[:2].shape}."
                )
            module_takes_tags = tags is not None and _accepts(self._hash_module().forward, "tags")
            if verbose:
                self._log(_OBJECTIVE_NOTE)
            for round_ in range(self.n_rounds):
                stage = f"round {round_ + 1}/{self.n_rounds}"
                with self._progress(total=self.max_iter, desc=f"DSTDH solver, {stage}") as bar:

                    def report(iteration, objective, stage=stage, bar=bar):
                        bar.update(1)
                        bar.set_postfix(objective=f"{objective:.6g}", refresh=False)
                        self._log(
                            f"{stage} ADMM iteration {iteration:3d}  objective {objective: .6g}"
                        )

                    Z, objectives = dstdh_admm(
                        Z,
                        Hx,
                        graph,
                        hyper,
                        tag_ls,
                        alpha=self.alpha,
                        beta=self.beta,
                        nu=self.nu,
                        gamma=self.gamma,
                        mu=self.mu,
                        rho=self.rho,
                        max_iter=self.max_iter,
                        tol=self.tol,
                        callback=report if verbose else None,
                    )
                self.objective_.append(objectives)
                self._log(f"{stage} training the hash network for {self.max_epochs} epochs")
                extra = {"tags": tags} if module_takes_tags else {}
                dataset = ArrayDataset(inputs, Z, **extra)
                if self.max_epochs > 0:
                    self.net_.partial_fit(dataset, None)
                Hx = self._forward(inputs)
                if round_ + 1 < self.n_rounds:
                    Z = sign_pm1(Hx)
        self.threshold_ = Hx.mean(axis=0) if self.threshold == "mean" else np.zeros(self.n_bits)
        self.codes_ = pack_codes(Z > 0)
        self.n_iter_ = int(sum(len(o) for o in self.objective_))
        return self

    def _project(self, X):
        return self._forward(X) - self.threshold_
