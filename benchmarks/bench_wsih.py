"""WSIHHasher training speed: skorch stages against a bare torch loop of the same networks.

Usage::

    python benchmarks/bench_wsih.py [--n-web 4000] [--n-target 4000] [--n-features 1280]
                                    [--n-bits 32] [--epochs 10] [--repeats 3] [--threads N]

Times both stages of ``WSIHHasher.fit`` (stage 1: the prototype network on the
web set; stage 2: the hashing network on the target set) and a bare torch loop
that trains the same modules with the same losses, optimiser, batch sizes and
shuffled mini-batches on the same data (a loop as one would write it by hand:
tensors sliced by a random permutation, ``loss.item()`` logged per batch). It
prints the fit time of each stage, its median time per epoch, and the ratios
skorch / bare torch (goal: at most 1.2), each the best of ``--repeats``. The
data are random features with one centre per concept (the network cost does
not depend on the values).

Then it prices skhash's thread-count-independent layers (``_torch.Linear``,
``BatchNorm1d``, ``matmul``): the bare loop trains each stage's network with
them and with torch's own layers (``nn.Linear``, ``nn.BatchNorm1d``, ``@``),
alternating single epochs, and prints the median epoch times and their ratio.
"""

import argparse
import time

import numpy as np
import torch

from skhash.estimators import _wsih_modules, wsih
from skhash.estimators._torch import BatchNorm1d, Linear, torch_rng
from skhash.estimators._wsih_modules import (
    HashingLoss,
    HashingNetwork,
    PrototypeLoss,
    PrototypeNetwork,
)
from skhash.estimators.wsih import WebSet, WSIHHasher


class _Timed:
    """Wraps stage 1 (``wsih._fit_prototype_network``) to time it inside ``fit``."""

    def __init__(self, func):
        self.func, self.seconds = func, 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.func(*args, **kwargs)
        finally:
            self.seconds = time.perf_counter() - start


def make_data(n_web, n_target, n_features, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, n_features)).astype(np.float32)
    y_web = rng.integers(n_classes, size=n_web)
    X_web = centres[y_web] + rng.normal(size=(n_web, n_features)).astype(np.float32)
    X = centres[rng.integers(n_classes, size=n_target)] + rng.normal(
        size=(n_target, n_features)
    ).astype(np.float32)
    return np.abs(X_web), y_web, np.abs(X)  # CNN features are non-negative


def bare_loop(
    module, criterion, X, y, *, epochs, batch_size, lr, frozen=None, optimizer=torch.optim.Adam,
    **optimizer_params,
):  # fmt: skip
    """Train ``module`` by hand; return the duration of each epoch.

    ``frozen``: precomputed outputs of the module's frozen layers, as
    ``WSIHHasher`` passes them in stage 2. ``optimizer`` (a torch optimiser
    class) gets ``lr`` and ``optimizer_params``.
    """
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = optimizer(params, lr=lr, **optimizer_params)
    durations = []
    for _ in range(epochs):
        start = time.perf_counter()
        module.train()
        order = torch.randperm(len(X))
        for i in range(0, len(X), batch_size):
            idx = order[i : i + batch_size]
            if len(idx) < 2:
                break
            xb, yb = X[idx], y[idx]
            optimizer.zero_grad()
            out = module(xb) if frozen is None else module(xb, frozen=frozen[idx])
            loss = criterion(out, yb)
            loss = loss[0] if isinstance(loss, tuple) else loss  # (total, terms) or the loss
            loss.backward()
            optimizer.step()
            loss.item()
        durations.append(time.perf_counter() - start)
    return np.array(durations)


def bare_stage1(hasher, X_web, y_web, epochs):
    """Stage 1 by hand: training, then the per-concept means of enc1 in eval mode."""
    n_classes = len(np.unique(y_web))
    module = PrototypeNetwork(
        X_web.shape[1], hasher.hidden_sizes_, hasher.n_bits, n_classes, hasher.dropout
    )
    criterion = PrototypeLoss(
        hasher.classification_weight,
        hasher.similarity_weight,
        hasher.balance_weight,
        hasher.decorrelation_weight,
    )
    X, y = torch.as_tensor(X_web), torch.as_tensor(y_web)
    durations = bare_loop(
        module, criterion, X, y, epochs=epochs, batch_size=hasher.stage1_batch_size,
        lr=hasher.stage1_lr,
    )  # fmt: skip
    start = time.perf_counter()
    with torch.no_grad():
        f1 = module.eval().enc1(X)
    prototypes = torch.zeros(n_classes, f1.shape[1]).index_add_(0, y, f1)
    prototypes /= torch.bincount(y, minlength=n_classes)[:, None]
    return durations, time.perf_counter() - start


def bare_stage2(hasher, X_target, epochs):
    prototypes = torch.as_tensor(hasher.prototypes_)
    module = HashingNetwork(
        X_target.shape[1], hasher.hidden_sizes_, hasher.n_bits, prototypes, hasher.dropout,
        n_frozen=hasher.n_frozen_layers,
    )  # fmt: skip
    criterion = HashingLoss(
        hasher.relation_weight, hasher.quantization_weight, hasher.reconstruction_weight
    )
    X = torch.as_tensor(X_target)
    start = time.perf_counter()
    with torch.no_grad():
        frozen = module.frozen_features(X)
    setup = time.perf_counter() - start
    durations = bare_loop(
        module, criterion, X, X, epochs=epochs, batch_size=hasher.stage2_batch_size,
        lr=hasher.stage2_lr, frozen=frozen,
    )  # fmt: skip
    return durations, setup


def _with_torch_layers(module):
    """``module`` with skhash's thread-stable layers swapped for torch's own (same weights)."""
    for layer in module.modules():
        if isinstance(layer, Linear):
            layer.__class__ = torch.nn.Linear
        elif isinstance(layer, BatchNorm1d):
            layer.__class__ = torch.nn.BatchNorm1d
    return module


def bench_layers(hasher, X_web, y_web, X_target, epochs):
    """Median epoch time of each stage's bare loop with skhash's layers and with torch's."""
    n_classes = len(np.unique(y_web))
    stages = {
        "stage 1": (
            lambda: PrototypeNetwork(
                X_web.shape[1], hasher.hidden_sizes_, hasher.n_bits, n_classes, hasher.dropout
            ),
            PrototypeLoss(),
            torch.as_tensor(X_web),
            torch.as_tensor(y_web),
            hasher.stage1_batch_size,
        ),
        "stage 2": (
            lambda: HashingNetwork(
                X_target.shape[1],
                hasher.hidden_sizes_,
                hasher.n_bits,
                torch.as_tensor(hasher.prototypes_),
                hasher.dropout,
            ),  # fmt: skip
            HashingLoss(),
            torch.as_tensor(X_target),
            torch.as_tensor(X_target),
            hasher.stage2_batch_size,
        ),
    }
    print(f"{'':8} {'skhash layers s/epoch':>22} {'torch layers s/epoch':>21} {'ratio':>6}")
    for stage, (make, criterion, X, y, batch_size) in stages.items():
        ours, theirs = make(), _with_torch_layers(make())
        times = {"skhash": [], "torch": []}
        for _ in range(epochs):
            for name, module in (("skhash", ours), ("torch", theirs)):
                stable = name == "skhash"
                _wsih_modules.matmul = _wsih_modules.matmul if stable else torch.matmul
                try:
                    times[name] += list(
                        bare_loop(module, criterion, X, y, epochs=1, batch_size=batch_size, lr=1e-3)
                    )
                finally:
                    _wsih_modules.matmul = _MATMUL
        a, b = np.median(times["skhash"][1:]), np.median(times["torch"][1:])
        print(f"{stage:8} {a:22.4f} {b:21.4f} {a / b:6.2f}")


_MATMUL = _wsih_modules.matmul


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-web", type=int, default=4000)
    parser.add_argument("--n-target", type=int, default=4000)
    parser.add_argument("--n-features", type=int, default=1280)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--n-bits", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    X_web, y_web, X = make_data(args.n_web, args.n_target, args.n_features, args.n_classes)
    print(
        f"web set {X_web.shape}, target {X.shape}, {args.n_bits} bits, {args.epochs} epochs a "
        f"stage, torch threads {torch.get_num_threads()}, best of {args.repeats}"
    )
    rows = {"stage 1": [], "stage 2": []}
    original = wsih._fit_prototype_network
    for repeat in range(args.repeats):
        hasher = WSIHHasher(
            n_bits=args.n_bits,
            web_set=WebSet(X_web, y_web),
            stage1_epochs=args.epochs,
            stage2_epochs=args.epochs,
            device="cpu",
            random_state=repeat,
        )
        stage1 = wsih._fit_prototype_network = _Timed(original)
        start = time.perf_counter()
        try:
            hasher.fit(X)
        finally:
            wsih._fit_prototype_network = original
        total = time.perf_counter() - start
        skorch = {
            "stage 1": (stage1.seconds, np.array(hasher.stage1_history_[:, "dur"])),
            "stage 2": (total - stage1.seconds, np.array(hasher.net_.history[:, "dur"])),
        }
        with torch_rng(repeat):
            bare = {
                "stage 1": bare_stage1(hasher, X_web, y_web, args.epochs),
                "stage 2": bare_stage2(hasher, X, args.epochs),
            }
        for stage, (fit, epochs) in skorch.items():
            bare_epochs, bare_extra = bare[stage]
            # medians skip the first epoch, which carries one-off warm-up costs in both loops
            rows[stage].append(
                (fit, bare_epochs.sum() + bare_extra, np.median(epochs[1:]),
                 np.median(bare_epochs[1:]))
            )  # fmt: skip

    print(
        f"{'':8} {'skorch fit s':>12} {'torch fit s':>12} {'ratio':>6}   "
        f"{'skorch s/epoch':>14} {'torch s/epoch':>14} {'ratio':>6}"
    )
    for stage, values in rows.items():
        fit, bare_fit, epoch, bare_epoch = np.min(values, axis=0)
        print(
            f"{stage:8} {fit:12.2f} {bare_fit:12.2f} {fit / bare_fit:6.2f}   "
            f"{epoch:14.4f} {bare_epoch:14.4f} {epoch / bare_epoch:6.2f}"
        )
    print("\nthread-count-independent layers against torch's own, bare loop, alternated epochs")
    with torch_rng(0):
        bench_layers(hasher, X_web, y_web, X, max(args.epochs, 3))


if __name__ == "__main__":
    main()
