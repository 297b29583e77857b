"""Learning curve of the weakly supervised hashers on MIRFlickr-25K, on validation splits.

Usage::

    python benchmarks/learning_curve.py --plot docs/_static/learning_curve.png
    python benchmarks/learning_curve.py [--image-size 224] [--n-train 2000 5000 10000]
        [--seeds 0 1 2] [--bits 32] [--methods DSTDH "DSTDH, no tags" ...]
        [--params '{"DSTDH": {"beta": 0.1}}'] [--tag before] [--output FILE]

Protocol (the test queries are never used). For random state ``s``:

1. the benchmark's split (:func:`skhash.benchmark.load_mirflickr_benchmark`):
   ``RandomState(s).permutation`` of the 15,677 photos; the first 2,000 are
   the test queries, set aside; the other 13,677 are the database;
2. inside that database, ``RandomState(10_000 + s).permutation`` draws 1,000
   validation queries, then a training pool of 10,000 photos, disjoint from
   them; the training set of size ``n`` is the first ``n`` photos of the pool
   (nested: the 2,000 photos are among the 5,000, which are among the 10,000);
3. the validation database is the database without the validation queries
   (12,677 photos; like the benchmark's database, it holds the training
   photos).

Every hasher is built as the benchmark builds it (default parameters,
``n_bits`` and ``random_state=s``) and fitted on the raw EfficientNet-Lite0
features of the training photos (``cached_features`` of all photos in
:func:`skhash.datasets.load_mirflickr25k` order, at ``--image-size`` px):
DSTDH and CCA-ITQ with the training photos' user tags; "DSTDH, no tags" is
DSTDH fitted without tags (its visual part: ITQ codes smoothed on the anchor
graph, distilled into the network); WSIH with the web set that
:func:`skhash.datasets.make_web_set` builds from the training photos' tags
(as the benchmark does); "WSIH, transfers off" is ``WSIHHasher(
parameter_transfer=False, prototype_attention=False)`` (no web set: an
unsupervised deep hasher). ITQ, SSDH and GreedyHash are the other unsupervised
baselines of the benchmark. Relevance: sharing one of the 24 concepts. Metrics:
tie-aware mAP over the whole Hamming ranking and mAP@1000
(``normalize="retrieved"``), as the benchmark reports them.

Each measured row is appended to the results file at once (resumable: a row
already there for the same size, n, seed, bits, method and ``--tag`` is
skipped), with the command that produced it.
"""

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from skhash.benchmark.compare import source_commit
from skhash.benchmark.runner import evaluate
from skhash.datasets import load_mirflickr25k, make_web_set
from skhash.estimators.bihalf import BiHalfHasher
from skhash.estimators.cca_itq import CCAITQHasher
from skhash.estimators.dstdh import DSTDHHasher
from skhash.estimators.greedyhash import GreedyHashHasher
from skhash.estimators.itq import ITQHasher
from skhash.estimators.ssdh import SSDHHasher
from skhash.estimators.wsih import WebSet, WSIHHasher
from skhash.features import cached_features

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_HOME = ROOT.parent / "shared" / "data" / "mirflickr25k"
DEFAULT_OUTPUT = Path(__file__).with_name("learning_curve_results.json")
N_TEST_QUERIES = 2000  # the benchmark's default n_queries
N_VALIDATION = 1000
POOL = 10_000

METHODS = (
    "DSTDH",
    "DSTDH, no tags",
    "CCA-ITQ",
    "BiHalf",
    "WSIH",
    "WSIH, transfers off",
    "ITQ",
    "SSDH",
    "GreedyHash",
)


def split(n_photos, seed):
    """Validation queries, validation database and the training pool of one random state."""
    order = np.random.RandomState(seed).permutation(n_photos)
    database = order[N_TEST_QUERIES:]  # the benchmark's test queries are order[:2000]
    inner = np.random.RandomState(10_000 + seed).permutation(database)
    queries = inner[:N_VALIDATION]
    pool = inner[N_VALIDATION : N_VALIDATION + POOL]
    return queries, np.sort(inner[N_VALIDATION:]), pool


def build(method, n_bits, seed, data, train, params):
    """The hasher of ``method`` and the keyword arguments of its fit."""
    kw = dict(n_bits=n_bits, random_state=seed, **params.get(method, {}))
    tags = data.tags[train]
    if method == "DSTDH":
        return DSTDHHasher(**kw), {"tags": tags}
    if method == "DSTDH, no tags":
        return DSTDHHasher(**kw), {}
    if method == "CCA-ITQ":
        return CCAITQHasher(**kw), {"tags": tags}
    if method == "BiHalf":
        return BiHalfHasher(**kw), {}
    if method == "ITQ":
        return ITQHasher(**kw), {}
    if method == "SSDH":
        return SSDHHasher(**kw), {}
    if method == "GreedyHash":
        return GreedyHashHasher(**kw), {}
    if method == "WSIH, transfers off":
        return WSIHHasher(parameter_transfer=False, prototype_attention=False, **kw), {}
    if method == "WSIH":
        web = make_web_set(tags, data.tag_names, data.label_names)
        web_set = WebSet(data.X[train][web.indices], np.asarray(web.target_names)[web.target])
        return WSIHHasher(web_set=web_set, **kw), {}
    raise ValueError(f"unknown method {method!r}; choose among {METHODS}.")


def load_results(path):
    if path.exists():
        return json.loads(path.read_text())
    return {"protocol": __doc__.split("Each measured row")[0].strip(), "rows": []}


def _record_provenance(results, command, commit, machine):
    """The file's commands, commits and machine, from its rows, for the docs' provenance line."""
    rows = results["rows"]
    results["commands"] = sorted({r["command"] for r in rows} | {command})
    results["commits"] = sorted({str(r["commit"]) for r in rows if r.get("commit")} | {commit})
    plain = [c for c in results["commands"] if "--output" not in c and "--tag" not in c]
    results["command"] = "; ".join(plain or results["commands"][:1])
    results["commit"] = ", ".join(results["commits"])
    results["machine"] = machine


def plot(results, path, n_bits=32):
    """Validation mAP and mAP@1000 against the number of training photos, one panel a size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results["rows"] if r["n_bits"] == n_bits and not r.get("tag")]
    sizes = sorted({r["image_size"] for r in rows}, reverse=True)
    fig, axes = plt.subplots(
        2, len(sizes), figsize=(5.2 * len(sizes), 7.5), squeeze=False, sharex=True
    )
    methods = list(dict.fromkeys(r["method"] for r in rows))
    for col, size in enumerate(sizes):
        for row_index, metric in enumerate(("mAP", "mAP@1000")):
            ax = axes[row_index, col]
            for i, method in enumerate(methods):
                points = {}
                for r in rows:
                    if r["image_size"] == size and r["method"] == method:
                        points.setdefault(r["n_train"], []).append(r[metric])
                if not points:
                    continue
                ns = sorted(points)
                means = [np.mean(points[n]) for n in ns]
                stds = [np.std(points[n]) for n in ns]
                weak = method in ("DSTDH", "CCA-ITQ", "WSIH")
                ax.errorbar(
                    ns, means, yerr=stds, marker="o", capsize=3, color=f"C{i}",
                    linestyle="-" if weak else "--", linewidth=2 if weak else 1.2,
                    label=method,
                )  # fmt: skip
            ax.set_xscale("log")
            ax.minorticks_off()
            ax.set_xticks(sorted({r["n_train"] for r in rows}))
            ax.set_xticklabels([f"{n:,}" for n in sorted({r["n_train"] for r in rows})])
            ax.set_title(f"{metric}, {size} px features, {n_bits} bits")
            ax.grid(alpha=0.3)
            if row_index == 1:
                ax.set_xlabel("training photos")
    axes[0, 0].legend(fontsize=8, loc="lower left")
    fig.suptitle(
        "MIRFlickr-25K, validation split (test queries unused)\nmean ± std over random states",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=str(DEFAULT_DATA_HOME))
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--n-train", type=int, nargs="+", default=[2000, 5000, 10000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--bits", type=int, nargs="+", default=[32])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--params", default="{}", help="JSON: {method: {param: value}}")
    parser.add_argument("--tag", default="", help="label of this variant (e.g. 'before')")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT))
    parser.add_argument(
        "--plot", metavar="PNG", default=None,
        help="draw the stored defaults' rows of --output into PNG (e.g. "
        "docs/_static/learning_curve.png) and fit nothing",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.plot:
        plot(load_results(Path(args.output)), args.plot, n_bits=args.bits[0])
        print(f"saved {args.plot}")
        return
    params = json.loads(args.params)
    if not set(params) <= set(METHODS):
        parser.error(f"--params: unknown methods {sorted(set(params) - set(METHODS))}")
    if any(n > POOL or n < 2 for n in args.n_train):
        parser.error(f"--n-train: each value must be between 2 and {POOL}")
    output = Path(args.output)
    command = "python benchmarks/learning_curve.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )

    commit = source_commit()
    mir = load_mirflickr25k(args.data_home)
    X = cached_features(mir.paths, image_size=args.image_size, verbose=1)
    from sklearn.utils import Bunch

    data = Bunch(
        X=X, tags=mir.tags.tocsr(), labels=np.asarray(mir.labels),
        tag_names=mir.tag_names, label_names=mir.label_names,
    )  # fmt: skip
    results = load_results(output)
    info = machine_info()
    print(describe(info), flush=True)
    for seed in args.seeds:
        queries, database, pool = split(len(mir.paths), seed)
        for n_train in args.n_train:
            train = np.sort(pool[:n_train])
            for n_bits in args.bits:
                for method in args.methods:
                    key = dict(
                        image_size=args.image_size, n_train=n_train, random_state=seed,
                        n_bits=n_bits, method=method, tag=args.tag,
                    )  # fmt: skip
                    if any(all(r.get(k) == v for k, v in key.items()) for r in results["rows"]):
                        continue
                    hasher, fit_params = build(method, n_bits, seed, data, train, params)
                    wall, cpu = time.perf_counter(), time.process_time()
                    hasher.fit(X[train], **fit_params)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    row = dict(key)
                    scores = evaluate(
                        hasher.transform(X[queries]), data.labels[queries],
                        hasher.transform(X[database]), data.labels[database],
                    )  # fmt: skip
                    row.update({m: float(scores[m]) for m in ("mAP", "mAP@1000")})
                    row.update(
                        params=params.get(method, {}), fit_s=round(wall, 1),
                        fit_cpu_s=round(cpu, 1), threads=os.environ.get("OMP_NUM_THREADS"),
                        processor=describe(info), command=command,
                    )  # fmt: skip
                    results = load_results(output)  # another run may have added rows
                    row["commit"] = str(commit)
                    results["rows"].append(row)
                    _record_provenance(results, command, str(commit), describe(info))
                    output.write_text(json.dumps(results, indent=1) + "\n")
                    print(
                        f"{args.image_size}px n={n_train} seed={seed} {n_bits}b {method:<20} "
                        f"{args.tag:<8} mAP {row['mAP']:.4f} mAP@1000 {row['mAP@1000']:.4f} "
                        f"fit {wall:.0f} s (cpu {cpu:.0f} s)",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
