"""The torch plumbing every deep hasher shares: device, seeds, batches, skorch nets, checks.

How a deep hasher plugs in
--------------------------
A deep hasher is a :class:`~skhash.estimators._base.BaseHasher` that trains
one or more torch modules through skorch. It never writes a training loop,
a data iterator or a ``NeuralNet`` of its own; it uses this module:

1. **Class.** ``class MyHasher(DeepHasherMixin, BaseHasher)``. Extend the
   constraints with ``**DeepHasherMixin._deep_parameter_constraints`` (``device``,
   ``verbose``, ``callbacks``, ``validation_fraction``) and store those four
   parameters (plus ``random_state``, stored by ``BaseHasher``) in
   ``__init__``. Name the training parameters ``max_epochs``, ``batch_size``,
   ``lr`` (per stage, ``stage1_lr`` ..., when there are several nets).
   ``DeepHasherMixin`` rejects features beyond float32's range at ``fit``
   and ``transform`` (the nets compute in float32).
2. **Criterion.** A ``torch.nn.Module`` ``criterion(y_pred, y_true)``
   returning the loss, or ``(total, terms)`` with ``terms`` a dict of named
   loss tensors and a class attribute ``names`` listing them: each term is
   then logged per epoch in ``net.history`` (and printed at ``verbose=1``).
3. **Data.** :class:`ArrayDataset` holds the whole training set as tensors
   (``y=None``: the targets are the inputs); extra per-sample arrays (dense,
   or scipy sparse rows densified per batch) are passed to the module's
   ``forward`` by keyword. :class:`Batches` slices shuffled mini-batches from
   it at once (no per-sample collation).
4. **Net.** In ``_fit``: ``seed = torch_seed(random_state)``, then
   ``net = self._make_net(module, criterion, seed=seed, max_epochs=...,
   batch_size=..., lr=..., divergence_hint="lr=..., ...", module__...=...,
   criterion__...=...)`` (or :func:`make_net` directly), and inside
   ``with torch_rng(seed, self.device_):`` call ``net.fit(dataset)`` (or
   ``net.initialize()`` then ``net.partial_fit(dataset)`` when weights are
   loaded in between). The net (a :class:`HasherNet`) gets the user's
   ``callbacks``, the ``validation_fraction`` split (seeded by ``seed``), a
   check that stops a diverging fit with a :class:`DivergedFitError` naming
   ``divergence_hint``, the epoch table (no colour codes outside a terminal)
   and, at ``verbose=1``, a tqdm progress bar over epochs.
5. **Transform.** ``_project`` returns ``predict_in_batches(self.net_, X)``
   (the first output of the module, evaluation mode, no gradient, no draw
   from any random generator). ``BaseHasher`` raises on NaN projections.
6. **Checks.** :class:`FiniteCheck` stops a fit whose loss or weights stop
   being finite; after the fit, ``_check_codes(X, net)`` raises a
   :class:`DivergedFitError` when every training sample gets the same code
   (and warns when a bit is the same for all of them).

:func:`resolve_device` turns ``device="auto"`` into ``"cuda"`` or ``"cpu"``;
:func:`torch_rng` runs torch code under its own seed and restores torch's
global random state afterwards, so ``random_state`` is reproducible without
touching the user's random state.

Reproducibility (see the user guide's reproducibility page): for a given
``random_state``, device, torch build and thread count, a fit gives the same
codes, without using or changing the global random states. Across thread
counts, processors or BLAS builds, torch's float32 sums may be ordered
differently, so the codes may differ in a few bits while the retrieval quality
stays the same within the spread across random states. skhash never changes the
thread count itself.
"""

import copy
import math
import re
import sys
import warnings
from contextlib import contextmanager
from numbers import Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils._param_validation import HasMethods, Interval
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PassthroughScoring, PrintLog
from tqdm import tqdm

from .._device import resolve_device
from ..exceptions import ConstantBitsWarning, DivergedFitError
from ._image_network import ImageInputMixin

__all__ = [
    "ArrayDataset",
    "Batches",
    "DeepHasherMixin",
    "DivergedFitError",
    "HasherNet",
    "make_net",
    "predict_in_batches",
    "progress_bar",
    "resolve_device",
    "torch_rng",
    "torch_seed",
]

PREDICT_BATCH_SIZE = 4096
_FLOAT32_MAX = float(np.finfo(np.float32).max)


# -- device and randomness ----------------------------------------------------
def torch_seed(random_state):
    """Draw a torch seed from a ``numpy.random.RandomState``."""
    return int(random_state.randint(np.iinfo(np.int32).max))


@contextmanager
def torch_rng(seed, device="cpu"):
    """Run the enclosed torch code with its own seeded random state.

    The global torch random state (CPU, and the current CUDA device when
    ``device`` is a CUDA device) is saved, seeded with ``seed`` and restored on
    exit, so initialisation, dropout and data shuffling inside are
    reproducible and the caller's random state is left untouched.
    """
    devices = []
    if str(device).startswith("cuda"):
        index = torch.device(device).index
        devices = [torch.cuda.current_device() if index is None else index]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def skorch_verbose(verbose):
    """skorch's ``verbose`` for a hasher's ``verbose`` (epoch logs from 1 on)."""
    return int(verbose > 0)


# -- data -----------------------------------------------------------------------
class ArrayDataset(torch.utils.data.Dataset):
    """A whole training set as tensors, served a batch of rows at a time.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs, stored as a float32 tensor on ``device``.
    y : array-like of shape (n_samples, ...) or None, default=None
        Targets (integers are stored as int64, the rest as float32); ``None``
        makes the targets the inputs themselves (autoencoders, unsupervised
        losses).
    device : str, default="cpu"
        Where the tensors live (the whole set is moved once, not per batch).
    input_name : str, default="X"
        Keyword of the inputs in the module's ``forward`` when ``extra`` is
        not empty.
    **extra : array-like, tensor or scipy sparse matrix of n_samples rows
        Per-sample side inputs passed to ``forward`` by keyword; sparse rows
        are densified per batch only. ``dataset.extra`` may be updated after
        construction.

    Notes
    -----
    ``dataset.batch(idx)`` returns ``(inputs, targets)`` for a tensor of
    row indices or a slice: ``inputs`` is the tensor of input rows, or the
    dict ``{input_name: rows, **extra rows}``.
    """

    def __init__(self, X, y=None, *, device="cpu", input_name="X", **extra):
        self.X = _as_tensor(X, torch.float32, device)
        if y is None:
            self.y = None
        else:
            if isinstance(y, torch.Tensor):
                integer = not (y.is_floating_point() or y.is_complex())
            else:
                y = np.asarray(y)
                integer = y.dtype.kind in "iub"
            self.y = _as_tensor(y, torch.int64 if integer else torch.float32, device)
        self.input_name = input_name
        self.extra = dict(extra)

    def __len__(self):
        return len(self.X)

    def batch(self, idx):
        """``(inputs, targets)`` of the rows ``idx`` (a slice or an int64 tensor)."""
        Xb = self.X[idx]
        yb = Xb if self.y is None else self.y[idx]
        if not self.extra:
            return Xb, yb
        inputs = {self.input_name: Xb}
        for name, values in self.extra.items():
            if sp.issparse(values):
                rows = np.arange(len(self))[idx] if isinstance(idx, slice) else idx.cpu().numpy()
                dense = np.asarray(values[rows].toarray(), dtype=np.float32)
                inputs[name] = torch.from_numpy(dense).to(self.X.device)
            else:
                inputs[name] = values[idx]
        return inputs, yb

    def subset(self, rows):
        """The dataset restricted to ``rows`` (an int64 array of indices)."""
        rows = np.asarray(rows, dtype=np.int64)
        index = torch.as_tensor(rows, device=self.X.device)
        out = copy.copy(self)
        out.X = self.X[index]
        out.y = None if self.y is None else self.y[index]
        out.extra = {
            name: values[rows] if sp.issparse(values) else values[index]
            for name, values in self.extra.items()
        }
        return out

    def __getitem__(self, i):
        return self.batch(i)


def _as_tensor(values, dtype, device):
    if isinstance(values, torch.Tensor):
        return values.to(device=device, dtype=dtype)
    values = np.asarray(values, dtype=torch.empty((), dtype=dtype).numpy().dtype)
    # torch cannot wrap read-only arrays (memmaps, joblib's shared inputs): copy those.
    return torch.as_tensor(values if values.flags.writeable else values.copy(), device=device)


class Batches:
    """Iterator of mini-batches sliced from an :class:`ArrayDataset` at once.

    Replaces :class:`torch.utils.data.DataLoader`, whose per-sample indexing and
    collation dominate the cost of small networks, and which draws a seed
    from torch's global random state even when it does not shuffle. A
    shuffled epoch draws its permutation from torch's current (forked,
    seeded: see :func:`torch_rng`) random state; an unshuffled one draws
    nothing. In a shuffled epoch a last batch of a single sample is dropped
    (batch normalisation needs two), unless ``batch_size`` is 1.
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        self.dataset = _as_array_dataset(dataset)
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        order = torch.randperm(n, device=self.dataset.X.device) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            if self.shuffle and stop - start < 2 and self.batch_size > 1:
                return
            yield self.dataset.batch(order[start:stop] if self.shuffle else slice(start, stop))


def _as_array_dataset(dataset):
    """An :class:`ArrayDataset` for ``dataset`` or a ``Subset`` of one (skorch's ValidSplit)."""
    if isinstance(dataset, ArrayDataset):
        return dataset
    if isinstance(dataset, torch.utils.data.Subset) and isinstance(dataset.dataset, ArrayDataset):
        return dataset.dataset.subset(dataset.indices)
    raise TypeError(f"Batches iterates over an ArrayDataset, got {type(dataset).__name__}.")


class ValidationSplit:
    """skorch ``train_split``: a seeded random ``fraction`` of the rows for validation.

    Returns two :class:`ArrayDataset` (train, valid). The rows are drawn by
    ``numpy.random.RandomState(seed)``, so the split is reproducible and
    touches no global random state.
    """

    def __init__(self, fraction, seed):
        self.fraction = fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        dataset = _as_array_dataset(dataset)
        n = len(dataset)
        n_valid = int(math.ceil(self.fraction * n))
        if not 1 <= n_valid <= n - 2:
            raise ValueError(
                f"validation_fraction={self.fraction} leaves {n - n_valid} training and "
                f"{n_valid} validation samples out of {n}; at least 2 and 1 are needed."
            )
        order = np.random.RandomState(self.seed).permutation(n)
        return dataset.subset(np.sort(order[n_valid:])), dataset.subset(np.sort(order[:n_valid]))


# -- the net -------------------------------------------------------------------------
class FiniteCheck(Callback):
    """Stop training with :class:`DivergedFitError` once the loss or the weights are not finite.

    The training loss is checked after every batch (skorch has already read
    it), the module's parameters after every epoch. A weight beyond
    ``WEIGHT_LIMIT`` (the square root of float32's largest value, about
    1.8e19) counts as diverged too: its products with activations of its own
    size overflow, and whether that shows up as an inf in the loss, or is
    hidden by a saturated ``tanh``, depends on the processor's rounding.
    """

    WEIGHT_LIMIT = math.sqrt(float(np.finfo(np.float32).max))

    def __init__(self, hint="", owner="the network"):
        self.hint = hint
        self.owner = owner

    def _fail(self, net, what):
        epoch = len(net.history)
        hint = f" Lower {self.hint}." if self.hint else ""
        raise DivergedFitError(
            f"Training {self.owner} diverged in epoch {epoch}: {what}.{hint} Very large input "
            "features can also cause it: scale them (e.g. with StandardScaler)."
        )

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training and not math.isfinite(net.history[-1, "batches", -1, "train_loss"]):
            self._fail(net, "the training loss became non-finite (NaN or inf)")

    def on_epoch_end(self, net, **kwargs):
        params = [p.detach() for p in net.module_.parameters() if p.numel()]
        if not params:
            return
        largest = float(torch.stack([p.abs().max() for p in params]).max())
        if not math.isfinite(largest):
            self._fail(net, "the network's weights became non-finite (NaN or inf)")
        if largest > self.WEIGHT_LIMIT:
            self._fail(
                net,
                f"the network's weights grew to {largest:.3g}, beyond {self.WEIGHT_LIMIT:.2g} "
                "where float32 products overflow",
            )


class _PlainPrintLog(PrintLog):
    """skorch's epoch table, without ANSI colour codes when stdout is not a terminal.

    Rows go through :func:`tqdm.tqdm.write`, so that they print above a
    progress bar instead of breaking it.
    """

    _ANSI = re.compile(r"\x1b\[[0-9;]*m")

    def __init__(self, keys_ignored=None, **kwargs):
        super().__init__(keys_ignored=keys_ignored, sink=_write, **kwargs)

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not _isatty():
            text = self._ANSI.sub("", text)
        return text

    def _sink(self, text, verbose):
        if verbose:
            self.sink(text)


def _isatty():
    return hasattr(sys.stdout, "isatty") and sys.stdout.isatty()


def _write(text):
    """Print ``text`` to stdout above any active progress bar."""
    tqdm.write(text, file=sys.stdout)


def progress_bar(verbose, **kwargs):
    """A :class:`tqdm.tqdm` bar (on stderr, erased when done) if ``verbose``, else a silent one."""
    return tqdm(disable=not verbose, leave=False, **kwargs)


class EpochProgress(Callback):
    """A tqdm progress bar over the epochs of a fit (on stderr; only when the net is verbose)."""

    def __init__(self, desc=None):
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        self.bar_ = None
        if net.verbose:
            self.bar_ = progress_bar(True, total=net.max_epochs, desc=self.desc, unit="epoch")

    def on_epoch_end(self, net, **kwargs):
        if self.bar_ is not None:
            self.bar_.update(1)
            self.bar_.set_postfix(loss=f"{net.history[-1, 'train_loss']:.4g}", refresh=False)

    def on_train_end(self, net, **kwargs):
        if getattr(self, "bar_", None) is not None:
            self.bar_.close()
        self.bar_ = None


class HasherNet(NeuralNet):
    """The skorch net of every deep hasher.

    - ``criterion`` may return ``(total, terms)``: each term of a training
      batch is recorded in the history under its name (logged per epoch by a
      :class:`~skorch.callbacks.PassthroughScoring` that :func:`make_net` adds).
    - Arrays passed to ``fit``/``forward`` become an :class:`ArrayDataset`.
    - Default callbacks: epoch timer, train/valid loss, :class:`FiniteCheck`,
      the epoch progress bar and the epoch table (plain outside a terminal).
    """

    def __init__(self, *args, divergence_hint="", progress_desc=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.divergence_hint = divergence_hint
        self.progress_desc = progress_desc

    @property
    def _default_callbacks(self):
        owner = self.progress_desc or "the network"
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("finite_check", FiniteCheck(self.divergence_hint, owner)),
            ("progress", EpochProgress(self.progress_desc)),
            ("print_log", _PlainPrintLog()),
        ]

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        try:
            return super().partial_fit(X, y, classes, **fit_params)
        except RuntimeError as exc:
            # torch's optimisers cast lr-scaled steps to float32; a huge lr or step overflows
            if "overflow" not in str(exc) or isinstance(exc, DivergedFitError):
                raise
            owner = self.progress_desc or "the network"
            hint = f" Lower {self.divergence_hint}." if self.divergence_hint else ""
            raise DivergedFitError(
                f"Training {owner} diverged: an optimiser step overflowed float32 ({exc}).{hint}"
            ) from exc

    def get_dataset(self, X, y=None):
        if isinstance(X, torch.utils.data.Dataset):
            return X
        return ArrayDataset(X, y)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = self.criterion_(y_pred, y_true)
        if not isinstance(loss, tuple):
            return loss
        total, terms = loss
        if training:
            values = torch.stack([t.detach() for t in terms.values()]).tolist()
            for name, value in zip(terms, values, strict=True):
                self.history.record_batch(name, value)
        return total


def make_net(
    module,
    criterion,
    *,
    optimizer=torch.optim.Adam,
    lr,
    max_epochs,
    batch_size,
    device,
    verbose=0,
    callbacks=None,
    validation_fraction=None,
    seed=0,
    divergence_hint="",
    progress_desc=None,
    **params,
):
    """Build the :class:`HasherNet` of a deep hasher.

    Parameters
    ----------
    module : torch.nn.Module class or instance
    criterion : torch.nn.Module class
        Returns the loss, or ``(total, terms)``; the names in its ``names``
        attribute are logged per epoch.
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float
    max_epochs : int
    batch_size : int
    device : str
        A resolved torch device (see :func:`resolve_device`).
    verbose : int, default=0
        At 1 and above, the epoch table and a progress bar; 0 prints nothing.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        The user's callbacks, deep-copied (the user's objects are not
        modified by the fit).
    validation_fraction : float in (0, 1) or None, default=None
        Fraction of the training rows held out as skorch's validation set
        (``valid_loss`` in the history, computed on batches of
        ``batch_size`` so that batch-relation losses compare with the
        training loss), drawn with ``seed``; None: no split.
    seed : int, default=0
        Seed of the validation split.
    divergence_hint : str, default=""
        The parameters a :class:`DivergedFitError` tells the user to lower,
        e.g. ``"lr (1e+30)"``.
    progress_desc : str, default=None
        Name of the fit in the progress bar and in error messages.
    **params
        Further :class:`~skorch.NeuralNet` parameters: ``module__*``,
        ``criterion__*``, ``optimizer__*``, ...
    """
    names = getattr(criterion, "names", ())
    terms = [(name, PassthroughScoring(name, on_train=True)) for name in names]
    user = copy.deepcopy(list(callbacks or []))
    train_split = None
    if validation_fraction is not None:
        train_split = ValidationSplit(validation_fraction, seed)
    return HasherNet(
        module,
        criterion=criterion,
        optimizer=optimizer,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        train_split=train_split,
        iterator_train=Batches,
        iterator_train__shuffle=True,
        iterator_valid=Batches,
        callbacks=terms + user,
        device=device,
        verbose=skorch_verbose(verbose),
        divergence_hint=divergence_hint,
        progress_desc=progress_desc,
        **params,
    )


def predict_in_batches(net, X, *, output=0, batch_size=PREDICT_BATCH_SIZE):
    """The module's output on ``X`` in evaluation mode, as a float64 numpy array.

    ``X`` is an array or an :class:`ArrayDataset`; unshuffled batches of
    ``batch_size`` rows go through skorch's ``evaluation_step`` (evaluation
    mode, no gradient, no random draw). When the module returns a tuple, only
    its ``output``-th element is kept (the rest is dropped batch by batch).
    """
    dataset = X if isinstance(X, torch.utils.data.Dataset) else ArrayDataset(X)
    chunks = []
    for batch in Batches(dataset, batch_size):
        out = net.evaluation_step(batch, training=False)
        out = out[output] if isinstance(out, tuple) else out
        chunks.append(out.detach().cpu().numpy().astype(np.float64))
    return np.concatenate(chunks)


# -- the estimator side ------------------------------------------------------------------
class DeepHasherMixin(ImageInputMixin):
    """Parameters and steps every deep hasher shares (mix in before :class:`BaseHasher`).

    Expects the parameters ``device``, ``verbose``, ``callbacks``,
    ``validation_fraction``, ``extractor`` and ``random_state``; after
    :meth:`_start_fit`, ``device_`` holds the resolved device. The
    ``extractor`` plumbing (images as ``X``, trainable blocks before the hash
    network) is :class:`~skhash.estimators._image_network.ImageInputMixin`.
    """

    _deep_parameter_constraints: dict = {
        "extractor": [HasMethods(["fit", "transform"]), None],
        "device": [str],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    }
    # The nets compute in float32: finite float64 features beyond its range are rejected.
    _compute_dtype: type[np.floating] | None = np.float32

    def _make_net(
        self, module, criterion, *, seed, callbacks="default", mean=None, input_name="X", **kwargs
    ):
        """:func:`make_net` with the hasher's device, verbosity, callbacks and split.

        While blocks of the image network train, ``module`` becomes the head of
        a :class:`~skhash.estimators._image_network.TrunkModule` (``mean``
        subtracted from the pooled features, ``input_name`` the keyword of
        the input).
        """
        module, kwargs = self._wrap_module(module, kwargs, mean=mean, input_name=input_name)
        return make_net(
            module,
            criterion,
            device=self.device_,
            verbose=self.verbose,
            callbacks=self.callbacks if callbacks == "default" else callbacks,
            validation_fraction=self.validation_fraction,
            seed=seed,
            **kwargs,
        )

    def _check_fitted_codes(self, X):
        """Raise when the codes of the training samples collapsed; warn on constant bits.

        A fit whose loss stayed finite can still end with every training sample
        mapped to one code (a learning rate or a loss weight far outside its
        range can saturate or kill every unit; which of that and a non-finite
        value happens first depends on the processor's rounding). Such codes
        carry no information: :class:`DivergedFitError`, naming the parameters
        of ``net_``'s ``divergence_hint``. A bit that is the same for every
        training sample while other bits vary gives a
        :class:`~skhash.exceptions.ConstantBitsWarning`: it also happens on
        small or briefly trained fits that did not diverge.
        """
        n_samples = X.shape[0]
        inputs = self._net_inputs(X)
        self._end_fit()
        if n_samples < 2:
            return
        embedding = self._project(inputs)
        net = self.net_
        owner = net.progress_desc or type(self).__name__
        hint = f"Lower {net.divergence_hint}" if net.divergence_hint else "Check the parameters"
        if not np.isfinite(embedding).all():
            raise DivergedFitError(
                f"Training {owner} diverged: the fitted network maps training samples to NaN "
                f"or infinite values. {hint}."
            )
        bits = embedding >= 0
        constant = bits.all(axis=0) | ~bits.any(axis=0)
        if constant.all():
            raise DivergedFitError(
                f"Training {owner} collapsed: every one of the {n_samples} training samples "
                f"gets the same code. {hint}, train for more epochs, or check that the "
                "features vary between samples (scale them, e.g. with StandardScaler)."
            )
        if constant.any():
            shown = ", ".join(str(j) for j in np.flatnonzero(constant)[:5])
            more = ", ..." if constant.sum() > 5 else ""
            warnings.warn(
                f"{owner}: {int(constant.sum())} of the {bits.shape[1]} bits ({shown}{more}) "
                f"are the same for all {n_samples} training samples, so they carry no "
                f"information. {hint}, or train for more epochs.",
                ConstantBitsWarning,
                stacklevel=4,
            )

    def _progress(self, **kwargs):
        """A tqdm progress bar when verbose, else a silent one (see :func:`progress_bar`)."""
        return progress_bar(self.verbose, **kwargs)

    def _log(self, message):
        """Print ``message`` (prefixed by the class name) when verbose, above any progress bar."""
        if self.verbose:
            _write(f"[{type(self).__name__}] {message}")
