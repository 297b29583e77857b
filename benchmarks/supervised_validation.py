"""Validation curves of the supervised deep hashers: mAP against epochs, per learning rate.

Usage::

    python benchmarks/supervised_validation.py [--datasets digits mirflickr cifar10]
        [--methods DPSH HashNet DSH CSQ OrthoHash] [--lr 1e-3 1e-2 1e-1]
        [--param hidden_sizes=(256,)] [--bits 32] [--seed 0] [--n-photos 4000]
        [--out benchmarks/supervised_validation.json]

The validation settings of ``benchmarks/deep_baselines_validation.py``:
held-out *training* images are the queries (the test queries are never
used), and the hashers are fitted on the other training images *with their
labels* (MIRFlickr-25K: the 24 concepts, multi-label, of the first
``--n-photos`` photos' target side; CIFAR-10: the clean labels of the cached
1,000 images a class' target half; digits: 300 of the digits benchmark's
training images as queries). ITQ and SDH are fitted on the same split, as
references. Each hasher is fitted once per learning rate with its other
defaults (or ``--param``); a callback evaluates the mAP over the whole Hamming
ranking every ``--every`` epochs, so one fit gives the whole curve. The
defaults of ``DPSHHasher``, ``HashNetHasher``, ``DSHHasher``, ``CSQHasher``
and ``OrthoHashHasher`` were chosen from these curves; every curve is
appended to ``--out`` (a JSON list), with its command line.
"""

import argparse
import ast
import json
import sys
import time
from pathlib import Path

from sklearn.utils import Bunch, check_random_state

from skhash import (
    CSQHasher,
    DPSHHasher,
    DSHHasher,
    HashNetHasher,
    ITQHasher,
    OrthoHashHasher,
    SDHHasher,
)
from skhash.datasets import load_mirflickr25k
from skhash.exceptions import DivergedFitError
from skhash.features import cached_features
from skhash.metrics import mean_average_precision

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cache_features import DEFAULT_DATA_HOME  # noqa: E402
from deep_baselines_validation import MAPCurve, digits_setting  # noqa: E402
from wsih_real import cifar10_setting  # noqa: E402

HASHERS = {
    "DPSH": DPSHHasher,
    "HashNet": HashNetHasher,
    "DSH": DSHHasher,
    "CSQ": CSQHasher,
    "OrthoHash": OrthoHashHasher,
}
REFERENCES = {"ITQ": ITQHasher, "SDH": SDHHasher}


def mirflickr_labelled_setting(data_home, *, n_photos=4000, n_validation=1000, seed=0):
    """MIRFlickr-25K's first ``n_photos`` photos with their 24 concepts: a validation split.

    ``n_validation`` random photos are the queries, the others the database
    and the (labelled) training set; every photo here has at least one
    concept. EfficientNet-Lite0 features of the 128-pixel thumbnails.
    """
    mir = load_mirflickr25k(Path(data_home) / "mirflickr25k")
    X = cached_features(mir.paths[:n_photos], image_size=128)
    labels = mir.labels[:n_photos]
    order = check_random_state(seed).permutation(len(X))
    queries, database = order[:n_validation], order[n_validation:]
    return Bunch(
        X_train=X[database],
        X_query=X[queries],
        y_query=labels[queries],
        y_database=labels[database],
    )


def setting(name, data_home, seed, n_photos):
    if name == "digits":
        return digits_setting(data_home, seed=seed)
    if name == "mirflickr":
        return mirflickr_labelled_setting(data_home, n_photos=n_photos, seed=seed)
    return cifar10_setting(data_home, split="validation", seed=seed)


def score(hasher, s):
    return mean_average_precision(
        hasher.transform(s.X_query), s.y_query, hasher.transform(s.X_train), s.y_database
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits"])
    parser.add_argument(
        "--methods", nargs="+", choices=[*HASHERS, *REFERENCES], default=list(HASHERS)
    )
    parser.add_argument("--lr", type=float, nargs="+", default=[None])
    parser.add_argument("--max-epochs", type=int, default=None, help="default: the hasher's")
    parser.add_argument("--bits", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--n-photos", type=int, default=4000, help="MIRFlickr-25K photos used")
    parser.add_argument("--param", nargs="+", default=[], metavar="NAME=VALUE")
    parser.add_argument("--data-home", type=Path, default=DEFAULT_DATA_HOME)
    parser.add_argument("--out", type=Path, default=None, help="append the curves to this JSON")
    args = parser.parse_args(argv)
    extra = {k: ast.literal_eval(v) for k, v in (p.split("=", 1) for p in args.param)}
    records = []
    for dataset in args.datasets:
        s = setting(dataset, args.data_home, args.seed, args.n_photos)
        for method in args.methods:
            if method in REFERENCES:
                hasher = REFERENCES[method](n_bits=args.bits, random_state=args.seed)
                start = time.perf_counter()
                hasher.fit(s.X_train, s.y_database)
                seconds = time.perf_counter() - start
                curve = [(None, score(hasher, s), seconds)]
                lrs = [None]
            else:
                lrs = args.lr
            for lr in lrs:
                if method in HASHERS:
                    params = dict(n_bits=args.bits, random_state=args.seed, **extra)
                    if lr is not None:
                        params["lr"] = lr
                    if args.max_epochs is not None:
                        params["max_epochs"] = args.max_epochs
                    mean = s.X_train.mean(axis=0, dtype="float64")
                    if not params.get("center", True):
                        mean = None
                    hasher = HASHERS[method](**params, callbacks=[MAPCurve(s, args.every, mean)])
                    start = time.perf_counter()
                    try:
                        hasher.fit(s.X_train, s.y_database)
                    except DivergedFitError as exc:
                        print(f"{dataset} {method} lr={lr} {args.param}: diverged ({exc})")
                        continue
                    seconds = time.perf_counter() - start
                    (fitted,) = [cb for _, cb in hasher.net_.callbacks_ if isinstance(cb, MAPCurve)]
                    curve = fitted.curve_
                label = " ".join([f"lr={hasher.get_params().get('lr', '-')}"] + args.param)
                points = " ".join(
                    f"{e}:{m:.4f}" if e is not None else f"{m:.4f}" for e, m, _ in curve
                )
                print(f"{dataset} {method} {args.bits} bits {label} ({seconds:.0f} s): {points}",
                      flush=True)  # fmt: skip
                records.append(
                    {
                        "dataset": dataset,
                        "method": method,
                        "bits": args.bits,
                        "seed": args.seed,
                        "lr": hasher.get_params().get("lr"),
                        "params": args.param,
                        "curve": [[e, round(m, 4)] for e, m, _ in curve],
                        "seconds": round(seconds, 1),
                        "command": " ".join(
                            ["python benchmarks/supervised_validation.py", *sys.argv[1:]]
                        ),
                    }
                )
    if args.out is not None:
        old = json.loads(args.out.read_text()) if args.out.exists() else []
        args.out.write_text(json.dumps(old + records, indent=1) + "\n")


if __name__ == "__main__":
    main()
