"""WSIHHasher training speed: skorch stages against a bare torch loop of the same networks.

Usage::

    python benchmarks/bench_wsih.py [--n-web 4000] [--n-target 4000] [--n-features 1280]
                                    [--n-bits 32] [--epochs 10] [--repeats 3]

Times both stages of ``WSIHHasher.fit`` (stage 1: the prototype network on the
web set; stage 2: the hashing network on the target set) and a bare torch loop
that trains the same modules with the same losses, optimiser, batch sizes and
shuffled mini-batches on the same data (a loop as one would write it by hand:
tensors sliced by a random permutation, ``loss.item()`` logged per batch). It
prints the fit time of each stage, the median time per epoch of each, and the
ratio skorch / bare torch (goal: at most 1.2). The data are random features
with one centre per concept (the network cost does not depend on the values).
"""

import argparse
import time

import numpy as np
import torch

from skhash.estimators import wsih
from skhash.estimators._torch import torch_rng
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


def bare_loop(module, criterion, X, y, *, epochs, batch_size, lr):
    """Train ``module`` by hand; return the duration of each epoch."""
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr)
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
            loss, _ = criterion(module(xb), yb)
            loss.backward()
            optimizer.step()
            loss.item()
        durations.append(time.perf_counter() - start)
    return np.array(durations)


def bare_stage1(hasher, X_web, y_web, epochs):
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
    return bare_loop(
        module, criterion, X, y, epochs=epochs, batch_size=hasher.stage1_batch_size,
        lr=hasher.stage1_lr,
    )  # fmt: skip


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
    return bare_loop(
        module, criterion, X, X, epochs=epochs, batch_size=hasher.stage2_batch_size,
        lr=hasher.stage2_lr,
    )  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-web", type=int, default=4000)
    parser.add_argument("--n-target", type=int, default=4000)
    parser.add_argument("--n-features", type=int, default=1280)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--n-bits", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    X_web, y_web, X = make_data(args.n_web, args.n_target, args.n_features, args.n_classes)
    print(
        f"web set {X_web.shape}, target {X.shape}, {args.n_bits} bits, {args.epochs} epochs a "
        f"stage, torch threads {torch.get_num_threads()}, best of {args.repeats}"
    )
    results = {"stage 1": ([], [], []), "stage 2": ([], [], [])}
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
        skorch_epochs = {
            "stage 1": np.array(hasher.stage1_history_[:, "dur"]),
            "stage 2": np.array(hasher.net_.history[:, "dur"]),
        }
        with torch_rng(repeat):
            bare_epochs = {
                "stage 1": bare_stage1(hasher, X_web, y_web, args.epochs),
                "stage 2": bare_stage2(hasher, X, args.epochs),
            }
        fits = {"stage 1": stage1.seconds, "stage 2": total - stage1.seconds}
        for stage in results:
            results[stage][0].append(fits[stage])
            # the first epoch carries one-off warm-up costs in both loops
            results[stage][1].append(np.median(skorch_epochs[stage][1:]))
            results[stage][2].append(np.median(bare_epochs[stage][1:]))

    print(f"{'':8} {'fit (s)':>9} {'skorch s/epoch':>15} {'torch s/epoch':>14} {'ratio':>6}")
    for stage, (fit, skorch_epoch, bare_epoch) in results.items():
        s, b = min(skorch_epoch), min(bare_epoch)
        print(f"{stage:8} {min(fit):9.2f} {s:15.4f} {b:14.4f} {s / b:6.2f}")


if __name__ == "__main__":
    main()
