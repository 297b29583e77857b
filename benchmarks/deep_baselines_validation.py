"""Validation curves of the unsupervised deep baselines: mAP against epochs, per learning rate.

Usage::

    python benchmarks/deep_baselines_validation.py [--datasets mirflickr cifar10]
        [--methods SSDH GreedyHash BiHalf] [--lr 1e-4 1e-3] [--bits 32] [--seed 0]

The settings are those of ``benchmarks/wsih_real.py`` with ``split="validation"``:
held-out *training* images are the queries (the test queries are never used).
Each hasher is fitted once per learning rate with its other defaults (WSIH:
its defaults and the web set; the curve is that of stage 2); a callback
evaluates the mAP over the whole Hamming ranking every ``--every`` epochs, with
the training seconds so far, so one fit gives the whole curve. The defaults of
``SSDHHasher``, ``GreedyHashHasher`` and ``BiHalfHasher`` were chosen from
these curves; WSIH's curve answers how long it trains to reach their mAP.
"""

import argparse
import ast
import sys
import time
from pathlib import Path

from skorch.callbacks import Callback

from skhash import BiHalfHasher, GreedyHashHasher, SSDHHasher, WSIHHasher, pack_codes
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
SETTINGS = {"mirflickr": mirflickr_setting, "cifar10": cifar10_setting}


class MAPCurve(Callback):
    """Record the validation mAP of the net's codes every ``every`` epochs."""

    def __init__(self, setting, every):
        self.setting = setting
        self.every = every

    def on_train_begin(self, net, **kwargs):
        self.curve_ = []

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch % self.every and epoch != net.max_epochs:
            return
        s = self.setting
        query = pack_codes(predict_in_batches(net, s.X_query) >= 0)
        database = pack_codes(predict_in_batches(net, s.X_train) >= 0)
        seconds = sum(net.history[:, "dur"])  # training time so far (the dur of each epoch)
        self.curve_.append(
            (epoch, mean_average_precision(query, s.y_query, database, s.y_database), seconds)
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=SETTINGS, default=list(SETTINGS))
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
            for lr in [None] if method == "WSIH" else args.lr:
                curve = MAPCurve(setting, args.every)
                params = dict(n_bits=args.bits, random_state=args.seed, **extra)
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
                (fitted,) = [cb for _, cb in hasher.net_.callbacks_ if isinstance(cb, MAPCurve)]
                points = " ".join(f"{e}:{m:.4f}({t:.0f}s)" for e, m, t in fitted.curve_)
                label = " ".join([f"lr={lr:g}" if lr else "defaults"] + args.param)
                if method == "WSIH":
                    label += f", stage 1 {sum(hasher.stage1_history_[:, 'dur']):.0f} s"
                print(f"{dataset} {method} {args.bits} bits {label} ({seconds:.0f} s): {points}",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
