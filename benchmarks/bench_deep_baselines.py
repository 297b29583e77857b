"""Training speed of SSDH, GreedyHash and Bi-half: skorch fits against a bare torch loop.

Usage::

    python benchmarks/bench_deep_baselines.py [--n-samples 4000] [--n-features 1280]
                                              [--n-bits 32] [--epochs 10] [--repeats 3]
                                              [--threads N]

For each hasher, times ``fit`` (through the shared skorch plumbing of
``skhash.estimators._torch``) and a bare torch loop that trains the same
network (:class:`FeatureMLP`) with the same loss, SGD optimiser (momentum,
weight decay), batch size and shuffled mini-batches on the same data
(``bare_loop`` of ``benchmarks/bench_wsih.py``: tensors sliced by a random
permutation, ``loss.item()`` per batch). The two alternate within each repeat,
so that a change in the machine's load hits both. Prints the fit times, the
median time per epoch and the ratios skorch / bare torch (goal: at most 1.2),
each the best of ``--repeats``, with the CPU time of the process beside the
wall clock. A last row times ``WSIHHasher`` with the same number of epochs in
each of its two stages (a web set of the same size as the target set), for
the comparison of training times at equal epochs: its skorch time per epoch
is that of stage 2, and ``steps`` is the number of optimiser steps an epoch.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from skhash import BiHalfHasher, GreedyHashHasher, SSDHHasher, WebSet, WSIHHasher
from skhash.estimators._deep_baselines_modules import FeatureMLP
from skhash.estimators._torch import torch_rng

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_wsih import bare_loop, make_data  # noqa: E402

HASHERS = {"SSDH": SSDHHasher, "GreedyHash": GreedyHashHasher, "BiHalf": BiHalfHasher}


def bare_fit(hasher, X, epochs):
    """The hasher's network, loss and optimiser trained by ``bare_loop``; epoch durations."""
    criterion_class, criterion_params = hasher._criterion(X, np.random.RandomState(0))
    module = FeatureMLP(X.shape[1], hasher.n_bits, hasher.hidden_sizes, tanh=hasher._tanh)
    X = torch.as_tensor(X)
    return bare_loop(
        module, criterion_class(**criterion_params), X, X, epochs=epochs,
        batch_size=hasher.batch_size, lr=hasher.lr, optimizer=torch.optim.SGD,
        momentum=hasher.momentum, weight_decay=hasher.weight_decay,
    )  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", choices=HASHERS, default=list(HASHERS))
    parser.add_argument("--n-samples", type=int, default=4000)
    parser.add_argument("--n-features", type=int, default=1280)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--n-bits", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument(
        "--no-wsih", dest="wsih", action="store_false", help="skip the WSIH row (equal epochs)"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    X_web, y_web, X = make_data(args.n_samples, args.n_samples, args.n_features, args.n_classes)
    print(
        f"{X.shape[0]} samples x {X.shape[1]} features, {args.n_bits} bits, {args.epochs} "
        f"epochs, torch threads {torch.get_num_threads()}, best of {args.repeats} "
        "(wall clock; CPU seconds in brackets)"
    )
    print(
        f"{'':11} {'skorch fit s':>16} {'torch fit s':>16} {'ratio':>6}   "
        f"{'skorch s/epoch':>14} {'torch s/epoch':>14} {'ratio':>6} {'steps':>6}"
    )
    for name in args.methods:
        rows = []
        for repeat in range(args.repeats):
            hasher = HASHERS[name](
                n_bits=args.n_bits, max_epochs=args.epochs, device="cpu", random_state=repeat
            )
            wall, cpu = time.perf_counter(), time.process_time()
            hasher.fit(X)
            fit, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu
            epochs = np.array(hasher.net_.history[:, "dur"])
            with torch_rng(repeat):
                wall, cpu = time.perf_counter(), time.process_time()
                bare_epochs = bare_fit(hasher, X, args.epochs)
                bare, bare_cpu = time.perf_counter() - wall, time.process_time() - cpu
            # medians skip the first epoch, which carries one-off warm-up costs in both loops
            rows.append(
                (fit, fit_cpu, bare, bare_cpu, np.median(epochs[1:]), np.median(bare_epochs[1:]))
            )
        fit, fit_cpu, bare, bare_cpu, epoch, bare_epoch = np.min(rows, axis=0)
        print(
            f"{name:11} {fit:7.2f} ({fit_cpu:6.2f}) {bare:7.2f} ({bare_cpu:6.2f}) "
            f"{fit / bare:6.2f}   {epoch:14.4f} {bare_epoch:14.4f} {epoch / bare_epoch:6.2f} "
            f"{-(-len(X) // hasher.batch_size):6d}"
        )
    if args.wsih:
        rows = []
        for repeat in range(args.repeats):
            hasher = WSIHHasher(
                n_bits=args.n_bits, web_set=WebSet(X_web, y_web), stage1_epochs=args.epochs,
                stage2_epochs=args.epochs, device="cpu", random_state=repeat,
            )  # fmt: skip
            wall, cpu = time.perf_counter(), time.process_time()
            hasher.fit(X)
            fit, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu
            rows.append((fit, fit_cpu, np.median(hasher.net_.history[1:, "dur"])))
        fit, fit_cpu, epoch = np.min(rows, axis=0)
        steps = -(-len(X) // hasher.stage2_batch_size)
        print(
            f"{'WSIH':11} {fit:7.2f} ({fit_cpu:6.2f}) {'':16} {'':6}   {epoch:14.4f} {'':14} "
            f"{'':6} {steps:6d}"
        )


if __name__ == "__main__":
    main()
