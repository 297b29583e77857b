"""Training speed of the deep hashers on features: skorch fits against a bare torch loop.

Usage::

    python benchmarks/bench_deep_baselines.py [--n-samples 4000] [--n-features 1280]
                                              [--n-bits 32] [--epochs 10] [--repeats 3]
                                              [--threads N] [--methods ...]
                                              [--out benchmarks/bench_deep_baselines_results.json]

The unsupervised SSDH, GreedyHash and Bi-half train on the unlabelled target
set; the supervised DPSH, HashNet, DSH, CSQ and OrthoHash on the labelled set
of the same size (class ids; the bare loop gets the same label indicator
``label_targets`` makes). HashNet's bare loop keeps ``beta = 1`` (setting an
attribute once an epoch costs nothing). ``--out`` writes the rows, the
processor, the commit and the command to a JSON file in the format of the
results pages (``docs/results/performance.rst`` renders
``benchmarks/bench_deep_baselines_results.json``).

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
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from skhash import (
    BiHalfHasher,
    CSQHasher,
    DPSHHasher,
    DSHHasher,
    GreedyHashHasher,
    HashNetHasher,
    OrthoHashHasher,
    SSDHHasher,
    WebSet,
    WSIHHasher,
)
from skhash.estimators._deep_baselines_modules import FeatureMLP
from skhash.estimators._labels import label_targets
from skhash.estimators._torch import torch_rng

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_wsih import bare_loop, make_data  # noqa: E402

HASHERS = {"SSDH": SSDHHasher, "GreedyHash": GreedyHashHasher, "BiHalf": BiHalfHasher}
SUPERVISED = {
    "DPSH": DPSHHasher,
    "HashNet": HashNetHasher,
    "DSH": DSHHasher,
    "CSQ": CSQHasher,
    "OrthoHash": OrthoHashHasher,
}


def bare_fit(hasher, X, epochs, y=None):
    """The hasher's network, loss and optimiser trained by ``bare_loop``; epoch durations.

    ``hasher`` is fitted: the loop trains on the inputs its fit trained on
    (centred by its ``mean_``, a float32 copy, when it centres).
    """
    X = hasher._centred(X)
    Y = None if y is None else label_targets(y, len(X), "bare")
    criterion_class, criterion_params = hasher._criterion(X, Y, np.random.RandomState(0))
    module = FeatureMLP(
        X.shape[1], hasher.n_bits, hasher.hidden_sizes, tanh=hasher._tanh,
        batch_norm=hasher._batch_norm,
    )  # fmt: skip
    X = torch.as_tensor(X)
    return bare_loop(
        module, criterion_class(**criterion_params), X, X if Y is None else torch.as_tensor(Y),
        epochs=epochs, batch_size=hasher.batch_size, lr=hasher.lr, optimizer=torch.optim.SGD,
        momentum=hasher.momentum, weight_decay=hasher.weight_decay,
    )  # fmt: skip


def processor():
    """The processor's model name (``lscpu``), or the platform's description."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--methods", nargs="+", choices=[*HASHERS, *SUPERVISED],
        default=[*HASHERS, *SUPERVISED],
    )  # fmt: skip
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
    parser.add_argument("--out", type=Path, default=None, help="write the rows to this JSON")
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
    results = []
    for name in args.methods:
        rows = []
        supervised = name in SUPERVISED
        X_fit, y_fit = (X_web, y_web) if supervised else (X, None)
        for repeat in range(args.repeats):
            hasher = {**HASHERS, **SUPERVISED}[name](
                n_bits=args.n_bits, max_epochs=args.epochs, device="cpu", random_state=repeat
            )
            wall, cpu = time.perf_counter(), time.process_time()
            hasher.fit(X_fit, y_fit)
            fit, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu
            epochs = np.array(hasher.net_.history[:, "dur"])
            with torch_rng(repeat):
                wall, cpu = time.perf_counter(), time.process_time()
                bare_epochs = bare_fit(hasher, X_fit, args.epochs, y_fit)
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
        results.append(
            [
                DISPLAY.get(name, name), f"{fit:.2f} ({fit_cpu:.2f})",
                f"{bare:.2f} ({bare_cpu:.2f})", f"{fit / bare:.2f}", f"{epoch:.4f}",
                f"{bare_epoch:.4f}", f"{epoch / bare_epoch:.2f}",
                str(-(-len(X) // hasher.batch_size)),
            ]
        )  # fmt: skip
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
        results.append(
            [
                "WSIH (both stages)", f"{fit:.2f} ({fit_cpu:.2f})", "", "",
                f"{epoch:.3f} (stage 2)", "", "", f"{steps} (stage 2)",
            ]
        )  # fmt: skip
    if args.out is not None:
        write_results(args, results)


COLUMNS = [
    "hasher", "skorch fit s (CPU s)", "torch fit s (CPU s)", "ratio", "skorch s/epoch",
    "torch s/epoch", "ratio", "steps/epoch",
]  # fmt: skip
DISPLAY = {"BiHalf": "Bi-half"}


def write_results(args, rows):
    """The table (strings, as printed) and its provenance, in the results pages' format."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    threads = torch.get_num_threads()
    machine = (
        f"{processor()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"{threads} thread{'s' if threads != 1 else ''}, best of {args.repeats}, "
        f"load average {load} at the end"
    )
    data = {
        "provenance": {
            "command": " ".join(["python", *sys.argv]),
            "commit": commit,
            "machine": machine,
            "source": "written by the command (--out)",
        },
        "columns": COLUMNS,
        "digits": None,
        "rows": rows,
    }
    args.out.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
