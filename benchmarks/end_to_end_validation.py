"""Frozen against fine-tuned deep hashers, on validation splits (never the test queries).

Usage::

    python benchmarks/end_to_end_validation.py [--datasets mirflickr cifar10]
        [--methods SSDH GreedyHash BiHalf WSIH DSTDH DPSH] [--k 0 1] [--epochs 10]
        [--out benchmarks/end_to_end_validation.json]

Each hasher is fitted on images with ``extractor=ImageFeatureExtractor(
trainable_blocks=k)`` (``k=0``: the frozen features), 32 bits, random state 0,
its defaults except ``--epochs`` training epochs (WSIH: stage 2; DSTDH: its
network's epochs), and a callback records the validation mAP after every
epoch with the training seconds so far (the curve; DSTDH: the final point
only). Subsets, so that a fine-tuned fit runs in minutes on 2 cores:

- ``mirflickr``: the first 5,000 photos at 128 px; the web set is built from
  their tags (:func:`skhash.datasets.make_web_set`); of the other photos
  (seeded permutation) the first 1,000 are the test queries of the setting
  and are never used, the next 500 the validation queries, the next 1,000
  the training set and database. Labels: the 24 concepts (DPSH trains on
  the database's; the unsupervised hashers never see them).
- ``cifar10``: 200 training images a class at 96 px; a random half of each
  class is the web set (CIFAR-10N "worse" labels), of the other half 300
  are validation queries and 700 the training set and database.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state
from skorch.callbacks import Callback

from skhash import BiHalfHasher, DPSHHasher, DSTDHHasher, GreedyHashHasher, SSDHHasher, pack_codes
from skhash._finetune import frozen_outputs
from skhash.datasets import load_cifar10n, load_mirflickr25k, make_web_set
from skhash.estimators._torch import predict_in_batches
from skhash.estimators.wsih import WebSet, WSIHHasher
from skhash.features import ImageFeatureExtractor
from skhash.metrics import mean_average_precision

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, machine_info  # noqa: E402
from cache_features import DEFAULT_DATA_HOME, first_per_class  # noqa: E402

HASHERS = {
    "SSDH": SSDHHasher,
    "GreedyHash": GreedyHashHasher,
    "BiHalf": BiHalfHasher,
    "WSIH": WSIHHasher,
    "DSTDH": DSTDHHasher,
    "DPSH": DPSHHasher,
}
EPOCHS = {"WSIH": "stage2_epochs"}


def mirflickr(data_home, seed=0):
    mir = load_mirflickr25k(Path(data_home) / "mirflickr25k")
    n = 5000
    paths = np.asarray(mir.paths[:n])
    web = make_web_set(mir.tags[:n], mir.tag_names, mir.label_names)
    target = check_random_state(seed).permutation(np.setdiff1d(np.arange(n), web.indices))
    queries, database = target[1000:1500], target[1500:2500]
    labels = mir.labels[:n]
    labels = labels.toarray() if hasattr(labels, "toarray") else np.asarray(labels)
    return Bunch(
        name="MIRFlickr-25K",
        size=128,
        web_set=WebSet(list(paths[web.indices]), np.asarray(web.target_names)[web.target]),
        train=list(paths[database]),
        query=list(paths[queries]),
        y_train=labels[database],
        y_query=labels[queries],
        tags=mir.tags[:n][database],
    )


def cifar10(data_home, seed=0):
    train = load_cifar10n(Path(data_home) / "cifar10", noise="worse", subset="train")
    idx = first_per_class(train, 200)
    paths = np.asarray([train.paths[i] for i in idx])
    clean, noisy = train.target[idx], train.noisy_target[idx]
    rng = check_random_state(seed)
    web, target = [], []
    for k in range(len(train.target_names)):
        members = rng.permutation(np.flatnonzero(clean == k))
        web.append(members[: len(members) // 2])
        target.append(members[len(members) // 2 :])
    web, target = np.concatenate(web), rng.permutation(np.concatenate(target))
    queries, database = target[:300], target[300:]
    names = np.asarray(train.target_names)
    return Bunch(
        name="CIFAR-10N (worse)",
        size=96,
        web_set=WebSet(list(paths[web]), names[noisy[web]]),
        train=list(paths[database]),
        query=list(paths[queries]),
        y_train=clean[database],
        y_query=clean[queries],
        tags=None,
    )


SETTINGS = {"mirflickr": mirflickr, "cifar10": cifar10}


class MAPCurve(Callback):
    """The validation mAP of the net's codes after every epoch, with the training seconds."""

    def __init__(self, query, train, y_query, y_train, mean=None):
        self.query, self.train = query, train
        self.y_query, self.y_train = y_query, y_train
        self.mean = mean  # subtracted from frozen features (k=0, centred hashers)

    def on_train_begin(self, net, **kwargs):
        self.curve_ = []

    def on_epoch_end(self, net, **kwargs):
        shift = 0 if self.mean is None else self.mean.astype("float32")
        query = pack_codes(predict_in_batches(net, self.query - shift) >= 0)
        train = pack_codes(predict_in_batches(net, self.train - shift) >= 0)
        seconds = float(sum(net.history[:, "dur"]))
        score = mean_average_precision(query, self.y_query, train, self.y_train)
        self.curve_.append((len(net.history), float(score), seconds))


def run(setting, method, k, epochs):
    extractor = ImageFeatureExtractor(image_size=setting.size, trainable_blocks=k, device="cpu")
    fitted = extractor.fit(setting.train)
    A_train = frozen_outputs(fitted, setting.train)
    A_query = frozen_outputs(fitted, setting.query)
    cls = HASHERS[method]
    params = {"n_bits": 32, "random_state": 0, "extractor": extractor}
    params[EPOCHS.get(method, "max_epochs")] = epochs
    mean = None
    if method not in ("WSIH", "DSTDH") and k == 0:
        mean = A_train.mean(axis=0, dtype="float64")  # the hasher's mean_
    if method != "DSTDH":
        params["callbacks"] = [MAPCurve(A_query, A_train, setting.y_query, setting.y_train, mean)]
    if method == "WSIH":
        params["web_set"] = setting.web_set
    hasher = cls(**params)
    start, cpu = time.perf_counter(), time.process_time()
    if method == "DSTDH":
        hasher.fit(setting.train, tags=setting.tags)
    elif method == "DPSH":
        hasher.fit(setting.train, setting.y_train)
    else:
        hasher.fit(setting.train)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    final = mean_average_precision(
        hasher.transform(setting.query),
        setting.y_query,
        hasher.transform(setting.train),
        setting.y_train,
    )
    curve = []
    if method != "DSTDH":
        (cb,) = [c for _, c in hasher.net_.callbacks_ if isinstance(c, MAPCurve)]
        curve = cb.curve_
    return {
        "dataset": setting.name,
        "method": method,
        "trainable_blocks": k,
        "epochs": epochs,
        "map": float(final),
        "fit_wall": wall,
        "fit_cpu": cpu,
        "curve": curve,
    }


def _provenance(results, command):
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {
        "command": command,
        "commit": commit,
        "machine": describe(results["machine"]),
        "source": "tables made by --tables from the runs in benchmarks/end_to_end_validation.json",
    }


def _best(run):
    """Best validation mAP of a run's curve (its final mAP without a curve), and when."""
    points = run["curve"] or [(run["epochs"], run["map"], run["fit_wall"])]
    epoch, score, seconds = max(points, key=lambda p: p[1])
    return score, epoch, seconds


def tables(results, command):
    """The validation table and the claims table, in the results pages' format."""
    runs = {(r["dataset"], r["method"], r["trainable_blocks"]): r for r in results["runs"]}
    datasets = list(dict.fromkeys(r["dataset"] for r in results["runs"]))
    rows = []
    for dataset in datasets:
        for method in HASHERS:
            frozen, tuned = runs.get((dataset, method, 0)), runs.get((dataset, method, 1))
            if frozen is None or tuned is None:
                continue
            gain = tuned["map"] - frozen["map"]
            verdict = "k=1 wins" if gain > 0.01 else ("frozen wins" if gain < -0.01 else "tie")
            rows.append([
                dataset, method, f"{frozen['map']:.4f}", f"{tuned['map']:.4f}", f"{gain:+.4f}",
                f"{frozen['fit_wall']:.0f} ({frozen['fit_cpu']:.0f})",
                f"{tuned['fit_wall']:.0f} ({tuned['fit_cpu']:.0f})", verdict,
            ])  # fmt: skip
    validation = {
        "provenance": _provenance(results, command),
        "columns": [
            "dataset",
            "hasher",
            "mAP frozen",
            "mAP k=1",
            "k=1 - frozen",
            "fit s frozen (CPU s)",
            "fit s k=1 (CPU s)",
            "verdict (ties within 0.01)",
        ],  # fmt: skip
        "digits": None,
        "rows": rows,
    }
    claims = []
    for dataset in datasets:
        wsih = runs.get((dataset, "WSIH", 0))
        if wsih is not None:
            target, wsih_s = _best(wsih)[0], wsih["fit_wall"]  # stage 1 and stage 2
            for method in ("SSDH", "GreedyHash", "BiHalf"):
                tuned = runs.get((dataset, method, 1))
                if tuned is None:
                    continue
                best, _, _ = _best(tuned)
                reached = [t for _, m, t in tuned["curve"] if m >= target]
                claims.append([
                    dataset, f"WSIH (frozen) vs {method} (k=1)", f"{target:.4f} vs {best:.4f}",
                    f"{wsih_s:.0f} s", f"{reached[0]:.0f} s" if reached else "never",
                    "WSIH" if target > best else method,
                ])  # fmt: skip
        frozen, tuned = runs.get((dataset, "DSTDH", 0)), runs.get((dataset, "DSTDH", 1))
        if frozen and tuned:
            claims.append([
                dataset, "DSTDH k=1 vs frozen", f"{tuned['map']:.4f} vs {frozen['map']:.4f}",
                f"{tuned['fit_wall']:.0f} s", f"{frozen['fit_wall']:.0f} s",
                "end to end" if tuned["map"] > frozen["map"] + 0.01 else "no gain",
            ])  # fmt: skip
    claims_table = {
        "provenance": _provenance(results, command),
        "columns": [
            "dataset",
            "claim",
            "best validation mAP (first vs second)",
            "s of the first (WSIH: its whole fit, stage 1 included; DSTDH: the k=1 fit)",
            "training s of the second to reach the first's best (DSTDH: the frozen fit)",
            "better",
        ],  # fmt: skip
        "digits": None,
        "rows": claims,
    }
    return validation, claims_table


def _command():
    return " ".join(["python benchmarks/end_to_end_validation.py", *sys.argv[1:]])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=SETTINGS, default=list(SETTINGS))
    parser.add_argument("--methods", nargs="+", choices=HASHERS, default=list(HASHERS))
    parser.add_argument("--k", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data-home", type=Path, default=DEFAULT_DATA_HOME)
    parser.add_argument(
        "--out", default=str(Path(__file__).with_name("end_to_end_validation.json"))
    )
    parser.add_argument("--tables", action="store_true", help="only write the tables")
    args = parser.parse_args(argv)
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {"runs": []}
    if args.tables:  # the runs' commands (recorded in the file), then this one
        command = "; ".join([*results.get("commands", []), _command()])
        for name, table in zip(("validation", "claims"), tables(results, command), strict=True):
            path = out.with_name(f"end_to_end_{name}_results.json")
            path.write_text(json.dumps(table, indent=1) + "\n")
            for row in table["rows"]:
                print(" | ".join(row))
        return
    results["machine"] = machine_info()
    results["commands"] = [*results.get("commands", []), _command()]
    print(describe(results["machine"]), flush=True)
    for dataset in args.datasets:
        setting = SETTINGS[dataset](args.data_home)
        for method in args.methods:
            for k in args.k:
                row = run(setting, method, k, args.epochs)
                results["runs"] = [
                    r
                    for r in results["runs"]
                    if (r["dataset"], r["method"], r["trainable_blocks"])
                    != (row["dataset"], method, k)
                ] + [row]
                out.write_text(json.dumps(results, indent=1) + "\n")
                print(
                    f"{dataset} {method} k={k}: mAP {row['map']:.4f}, fit {row['fit_wall']:.0f} s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
