"""Validation curves of the unsupervised deep baselines: mAP against epochs, per learning rate.

Usage::

    python benchmarks/deep_baselines_validation.py [--datasets mirflickr cifar10 digits]
        [--methods SSDH GreedyHash BiHalf] [--lr 1e-4 1e-3] [--bits 32] [--seed 0]

The settings are those of ``benchmarks/wsih_real.py`` with ``split="validation"``:
held-out *training* images are the queries (the test queries are never used).
Each hasher is fitted once per learning rate with its other defaults (WSIH:
its defaults and the web set; the curve is that of stage 2); a callback
evaluates the mAP over the whole Hamming ranking every ``--every`` epochs, with
the training seconds so far, so one fit gives the whole curve. The defaults of
``SSDHHasher``, ``GreedyHashHasher`` and ``BiHalfHasher`` were chosen from
these curves (``--param center=False`` against the default ``center=True``
compares raw and centred inputs; ``digits``: 300 of the digits benchmark's
training images as queries); WSIH's curve answers how long it trains to
reach their mAP.
"""

import argparse
import ast
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state
from skorch.callbacks import Callback

from skhash import BiHalfHasher, GreedyHashHasher, SSDHHasher, WSIHHasher, pack_codes
from skhash.benchmark import load_digits_benchmark
from skhash.estimators._torch import predict_in_batches
from skhash.metrics import mean_average_precision

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cache_features import DEFAULT_DATA_HOME  # noqa: E402
from wsih_real import cifar10_setting, mirflickr_setting  # noqa: E402

HASHERS = {
    "SSDH": SSDHHasher,
    "GreedyHash": GreedyHashHasher,
    "BiHalf": BiHalfHasher,
    "WSIH": WSIHHasher,  # its defaults and web set; --lr is ignored; the curve is stage 2's
}


def digits_setting(data_home, *, split="validation", n_validation=300, seed=0):
    """scikit-learn's digits as ``python -m skhash`` splits them, validation queries only.

    ``n_validation`` random training images (of the benchmark's 1,497) are the
    queries, the others the database and training set; the benchmark's test
    queries are never used. 64 non-negative pixel features in [0, 1].
    """
    if split != "validation":
        raise ValueError("the digits setting here has validation queries only")
    data = load_digits_benchmark(random_state=seed)
    order = check_random_state(seed).permutation(len(data.X_train))
    queries, database = order[:n_validation], order[n_validation:]
    return Bunch(
        name="digits",
        web_set=None,
        X_train=data.X_train[database],
        X_query=data.X_train[queries],
        y_query=data.y_train[queries],
        y_database=data.y_train[database],
    )


SETTINGS = {"mirflickr": mirflickr_setting, "cifar10": cifar10_setting, "digits": digits_setting}


class MAPCurve(Callback):
    """Record the validation mAP of the net's codes every ``every`` epochs."""

    def __init__(self, setting, every, mean=None):
        self.setting = setting
        self.every = every
        self.mean = mean  # what the hasher subtracts from its inputs (its mean_), or None

    def on_train_begin(self, net, **kwargs):
        self.curve_ = []

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch % self.every and epoch != net.max_epochs:
            return
        s = self.setting
        shift = 0 if self.mean is None else self.mean.astype("float32")
        query = pack_codes(predict_in_batches(net, s.X_query - shift) >= 0)
        database = pack_codes(predict_in_batches(net, s.X_train - shift) >= 0)
        seconds = sum(net.history[:, "dur"])  # training time so far (the dur of each epoch)
        self.curve_.append(
            (epoch, mean_average_precision(query, s.y_query, database, s.y_database), seconds)
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=SETTINGS, default=["mirflickr", "cifar10"])
    parser.add_argument("--methods", nargs="+", choices=HASHERS, default=list(HASHERS))
    parser.add_argument("--lr", type=float, nargs="+", default=[1e-4, 1e-3])
    parser.add_argument("--max-epochs", type=int, default=None, help="default: the hasher's")
    parser.add_argument("--bits", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument(
        "--param",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="other hasher parameters (a Python literal each), e.g. batch_size=128 alpha=1.0",
    )
    parser.add_argument("--data-home", type=Path, default=DEFAULT_DATA_HOME)
    args = parser.parse_args(argv)
    extra = {k: ast.literal_eval(v) for k, v in (p.split("=", 1) for p in args.param)}
    for dataset in args.datasets:
        setting = SETTINGS[dataset](args.data_home, split="validation", seed=args.seed)
        for method in args.methods:
            if method == "WSIH" and setting.web_set is None:
                print(f"{dataset} WSIH: skipped (no web set)", flush=True)
                continue
            for lr in [None] if method == "WSIH" else args.lr:
                params = dict(n_bits=args.bits, random_state=args.seed, **extra)
                centred = method != "WSIH" and params.get("center", True)
                mean = setting.X_train.mean(axis=0, dtype="float64") if centred else None
                curve = MAPCurve(setting, args.every, mean)
                if method == "WSIH":
                    params["web_set"] = setting.web_set
                else:
                    params["lr"] = lr
                if args.max_epochs is not None:
                    params["max_epochs"] = args.max_epochs
                hasher = HASHERS[method](**params, callbacks=[curve])
                start = time.perf_counter()
                hasher.fit(setting.X_train)
                seconds = time.perf_counter() - start
                if centred:  # the curve centred its inputs as the hasher does
                    assert np.allclose(hasher.mean_, mean)
                (fitted,) = [cb for _, cb in hasher.net_.callbacks_ if isinstance(cb, MAPCurve)]
                points = " ".join(f"{e}:{m:.4f}({t:.0f}s)" for e, m, t in fitted.curve_)
                label = " ".join([f"lr={lr:g}" if lr else "defaults"] + args.param)
                if method == "WSIH":
                    label += f", stage 1 {sum(hasher.stage1_history_[:, 'dur']):.0f} s"
                print(f"{dataset} {method} {args.bits} bits {label} ({seconds:.0f} s): {points}",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
