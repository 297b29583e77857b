"""The method comparison of the papers' settings: ``python -m skhash compare``.

Every hasher of the benchmark's registry (:data:`skhash.benchmark.METHODS`)
that applies to a paper setting is fitted at several code lengths and random
states, and the tables the DSTDH and WSIH papers would print are built from the
results (mean ± std over the random states):

1. ``social``: social images with tags, MIRFlickr-25K with the standard
   protocol (2,000 random queries, 5,000 training photos); the methods that
   learn from tags get the training photos' user tags, the unsupervised
   methods the features alone.
2. ``webly``: webly supervised, on MIRFlickr-25K (web set: the training photos
   found by the concept names in their tags) and CIFAR-10 (web set: half of the
   training images with their CIFAR-10N ``worse`` labels); the methods that
   learn from a web set get it, the unsupervised methods the features alone.

3. ``supervised``: the setting of supervised hashing papers, to ask how far
   weak supervision is from full supervision. CIFAR-10 under its three
   protocols (:func:`~skhash.benchmark.datasets.cifar10_protocol_split`:
   ``cifar10``, ``cifar10-1``, ``cifar10-2``) and MIRFlickr-25K with its 24
   concepts as labels (the split of the social setting). Rows: the supervised
   methods and CCA-ITQ with the training labels (``CCA-ITQ (labels)``, its
   second view the label indicator matrix), ITQ as the unsupervised reference,
   DSTDH and WSIH as the weakly supervised rows. On CIFAR-10 their signal is
   the training images' CIFAR-10N ``worse`` labels (40% wrong): DSTDH's tags
   are the one-hot ``worse`` label, WSIH's web set the training images with
   their ``worse`` labels; on MIRFlickr-25K the tags and web set of the social
   and webly settings. CIFAR-10N labels exist for the 50,000 training images
   only, so ``cifar10`` and ``cifar10-1`` draw their training images from
   those (the papers draw them from all 60,000).

The data, the hashers and the run loop are those of the benchmark
(``load_mirflickr_benchmark``, ``load_cifar10_benchmark``,
``load_cifar10_protocol``, ``make_hasher``, ``run_benchmark``). A method
learning from labels (a supervised method) enters the supervised setting only:
neither weakly supervised paper's setting gives labels for training. Each (dataset, method,
n_bits, random_state) result is stored in a JSON file as soon as it is measured,
so a run can be interrupted and resumed, and methods added to the registry later
are fitted without refitting the others. The two settings share the MIRFlickr-25K
results of the unsupervised methods (the same split and training photos).
"""

import json
import os
import subprocess
from pathlib import Path

from sklearn.utils import Bunch

from ..exceptions import DivergedFitError
from . import runner
from ._messages import log
from .datasets import load_cifar10_benchmark, load_cifar10_protocol, load_mirflickr_benchmark
from .registry import METHODS
from .results import summarize

__all__ = [
    "SETTINGS",
    "comparison_tables",
    "is_fitted",
    "load_results",
    "method_kind",
    "methods_of",
    "run_comparison",
    "save_results",
]

# setting -> its datasets, as (dataset, title); a dataset "home:protocol" reads the
# folder of data_homes[home] (see ``data_home_of``)
SETTINGS = {
    "social": (("mirflickr25k", "MIRFlickr-25K, user tags"),),
    "webly": (
        ("mirflickr25k", "MIRFlickr-25K, web set found by concept names in tags"),
        ("cifar10", "CIFAR-10, web set with CIFAR-10N 'worse' labels"),
    ),
    "supervised": (
        (
            "cifar10:cifar10",
            "CIFAR-10, protocol cifar10 (1,000 queries, 5,000 training images, 54,000 "
            "database), weak signal: CIFAR-10N 'worse' labels",
        ),
        (
            "cifar10:cifar10-1",
            "CIFAR-10, protocol cifar10-1 (1,000 queries, 5,000 training images, 59,000 "
            "database), weak signal: CIFAR-10N 'worse' labels",
        ),
        (
            "cifar10:cifar10-2",
            "CIFAR-10, protocol cifar10-2 (10,000 queries, 50,000 training = database "
            "images), weak signal: CIFAR-10N 'worse' labels",
        ),
        ("mirflickr25k", "MIRFlickr-25K, 24 concepts as labels, weak signal: user tags, web set"),
    ),
}
# What a setting gives each kind of method (see ``method_kind``).
SETTING_KINDS = {"social": ("unsupervised", "tags"), "webly": ("unsupervised", "web set")}
# The rows of the supervised setting: its own list, not every method of a kind.
SUPERVISED_ROWS = (
    "ITQ", "DSTDH", "WSIH", "CCA-ITQ (labels)", "SDH", "DPSH", "HashNet", "DSH", "CSQ",
    "OrthoHash",
)  # fmt: skip
# A row that runs a registry method on the labels instead of its usual side input.
LABEL_ROWS = {"CCA-ITQ (labels)": "CCA-ITQ"}


def registry_name(row):
    """The registry method a row of the tables runs (``"CCA-ITQ (labels)"`` -> ``"CCA-ITQ"``)."""
    return LABEL_ROWS.get(row, row)


def method_kind(method):
    """``"web set"``, ``"tags"``, ``"labels"`` or ``"unsupervised"``: what a method learns from.

    Read from the ``learns_from`` field of its registry entry (``"labels"`` for
    the rows of ``LABEL_ROWS``).
    """
    if method in LABEL_ROWS:
        return "labels"
    return METHODS[method].side_input or "unsupervised"


def methods_of(setting, methods=None):
    """The rows of ``setting`` (of the registry's methods, or those of ``methods``), in order.

    In the supervised setting, naming a registry method (``"CCA-ITQ"``)
    selects its row (``"CCA-ITQ (labels)"``).
    """
    if setting == "supervised":
        return [r for r in SUPERVISED_ROWS if methods is None or registry_name(r) in methods]
    names = METHODS if methods is None else methods
    return [m for m in names if method_kind(m) in SETTING_KINDS[setting]]


def data_home_of(dataset):
    """The key of ``data_homes`` whose folder ``dataset`` reads.

    ``"cifar10:cifar10-1"`` (dataset ``cifar10``, protocol ``cifar10-1``) reads ``"cifar10"``.
    """
    return dataset.split(":")[0]


def result_key(dataset, method, n_bits, random_state):
    return f"{dataset}|{method}|{n_bits}|{random_state}"


def load_results(path):
    """The stored results: a dict ``result_key -> row`` (empty if ``path`` does not exist)."""
    path = Path(path)
    if not path.exists():
        return {}
    with open(path) as f:
        return json.load(f)["results"]


def save_results(results, path):
    """Write ``results`` to ``path`` atomically (a crash never leaves a truncated file)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump({"results": results}, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def source_commit():
    """The git commit of the skhash source being run (``+dirty`` if it has changes), or None."""
    root = Path(__file__).resolve().parents[1]  # the skhash package
    try:
        run = dict(cwd=root, capture_output=True, text=True, check=True, timeout=10)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], **run).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], **run).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def _load_data(dataset, data_homes, random_state, cache_dir, verbose, image_size=128):
    home = data_home_of(dataset)
    if data_homes.get(home) is None:
        raise ValueError(f"data_homes has no folder for the dataset {home!r}.")
    kwargs = dict(random_state=random_state, cache_dir=cache_dir, verbose=verbose)
    if dataset == "mirflickr25k":
        return load_mirflickr_benchmark(data_homes[home], image_size=image_size, **kwargs)
    if ":" in dataset:
        return load_cifar10_protocol(data_homes[home], dataset.split(":")[1], **kwargs)
    return load_cifar10_benchmark(data_homes[home], **kwargs)


def _with_labels_as_second_view(data):
    """``data`` whose ``tags`` are the training labels (the label indicator matrix).

    ``CCAITQHasher.fit(X, tags=T)`` with ``T`` the indicator of ``y`` learns
    what ``fit(X, y)`` learns (both form the same matrix), and the registry's
    code-length limit of CCA-ITQ then reads the number of labels.
    """
    from ..estimators._labels import label_indicator

    labels = label_indicator(data.y_train, data.X_train.shape[0])
    return Bunch(**{**data, "tags": labels})


def run_comparison(
    settings,
    *,
    data_homes,
    results_path,
    methods=None,
    bits=(16, 32, 64),
    random_states=(0, 1, 2),
    datasets=None,
    cache_dir=None,
    verbose=1,
    image_size=128,
):
    """Fit and evaluate what is missing from ``results_path``; return all stored results.

    Parameters
    ----------
    settings : sequence of {"social", "webly", "supervised"}
        The paper settings to fill.
    data_homes : dict
        ``{"mirflickr25k": path, "cifar10": path}``: the datasets' folders.
    results_path : path
        The JSON file of results; read first, updated after each fit.
    methods : sequence of str or None
        Registry methods to run (default: all that apply to each setting).
    bits, random_states : sequence of int
        Code lengths and random states (each draws the split and seeds the hasher).
    datasets : sequence of str or None
        Datasets of the settings to fill (``SETTINGS``' names, e.g.
        ``"cifar10:cifar10-2"``); default: all of them.
    image_size : int, default=128
        Input side (pixels) of MIRFlickr-25K's features (CIFAR-10's stay at
        96). Stored in each MIRFlickr-25K row; a results file holding rows of
        another size is refused (``ValueError``): one file a resolution.
    """
    results = load_results(results_path)
    stored = {r.get("image_size", 128) for r in results.values() if r["dataset"] == "mirflickr25k"}
    if stored - {image_size}:
        raise ValueError(
            f"{results_path} holds MIRFlickr-25K results at {sorted(stored)} px, not "
            f"image_size={image_size}: use another results file for another resolution."
        )
    commit = source_commit()
    todo = {}  # (dataset, random_state) -> [(method, n_bits)], in order
    for setting in settings:
        for dataset, _ in SETTINGS[setting]:
            if datasets is not None and dataset not in datasets:
                continue
            for random_state in random_states:
                for n_bits in bits:
                    for method in methods_of(setting, methods):
                        if result_key(dataset, method, n_bits, random_state) in results:
                            continue
                        pending = todo.setdefault((dataset, random_state), [])
                        if (method, n_bits) not in pending:
                            pending.append((method, n_bits))
    for (dataset, random_state), pending in todo.items():
        data = _load_data(dataset, data_homes, random_state, cache_dir, verbose, image_size)
        labelled = None
        for method, n_bits in pending:
            log(verbose, f"{dataset}, random_state={random_state}:")
            if method in LABEL_ROWS:
                labelled = labelled or _with_labels_as_second_view(data)
            skipped = []
            try:
                rows, _ = runner.run_benchmark(
                    labelled if method in LABEL_ROWS else data,
                    methods=[registry_name(method)],
                    bits=[n_bits],
                    random_state=random_state,
                    verbose=verbose,
                    skipped=skipped,
                )
            except DivergedFitError as error:
                # a fit that failed is a result too: stored (and shown) as diverged, with the
                # error, so that a rerun does not try again
                log(verbose, f"{method} {n_bits} bits: diverged: {error}")
                rows = [{"n_bits": n_bits, "diverged": True, "reason": str(error)}]
            # no row: a code length the method cannot give on this dataset (logged); stored
            # as skipped, with the reason, so that a rerun does not try again
            row = rows[0] if rows else {"n_bits": n_bits, "skipped": True}
            if skipped:
                row["reason"] = skipped[0]["reason"]
            row.update(method=method, dataset=dataset, random_state=random_state, commit=commit)
            if dataset == "mirflickr25k":
                row["image_size"] = image_size
            results[result_key(dataset, method, n_bits, random_state)] = row
            save_results(results, results_path)
    return results


def is_fitted(row):
    """Whether a stored row has metrics (not a skipped code length, not a diverged fit)."""
    return not (row.get("skipped") or row.get("diverged"))


KINDS_SHOWN = {
    "unsupervised": "features",
    "tags": "features + tags",
    "web set": "web set",
    "labels": "features + labels",
}


def comparison_tables(results, settings, *, methods=None, bits=(16, 32, 64), random_states=None):
    """Markdown tables of the stored results, one per (setting, dataset).

    One row a method, with what it learns from; mAP, mAP@1000 and fit seconds
    at each code length as ``mean ± std`` over the random states (a cell
    averaging fewer than ``len(random_states)`` results says how many, a
    missing one is ``-``).
    """
    blocks = []
    for setting in settings:
        for dataset, title in SETTINGS[setting]:
            summary = {}
            stored = [
                r
                for r in results.values()
                if r["dataset"] == dataset
                and (random_states is None or r["random_state"] in random_states)
            ]
            for row in summarize([r for r in stored if is_fitted(r)]):
                summary[row["method"], row["n_bits"]] = row
            for row in stored:
                if not is_fitted(row) and (row["method"], row["n_bits"]) not in summary:
                    summary[row["method"], row["n_bits"]] = row
            names = [
                m for m in methods_of(setting, methods) if any((m, b) in summary for b in bits)
            ]
            if not names:
                continue
            header = ["method", "learns from"]
            for column in ("mAP", "mAP@1000", "fit s"):
                header += [f"{column} {b}" for b in bits]
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            for method in names:
                cells = [method, KINDS_SHOWN.get(method_kind(method), method_kind(method))]
                for column, digits in (("mAP", 4), ("mAP@1000", 4), ("fit_s", 1)):
                    for b in bits:
                        cells.append(_cell(summary.get((method, b)), column, digits, random_states))
                lines.append("| " + " | ".join(cells) + " |")
            blocks.append(f"### {setting}: {title}\n\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def _cell(row, column, digits, random_states):
    if row is None:
        return "-"
    if row.get("skipped"):
        return "n/a"  # a code length the method cannot learn here
    if row.get("diverged"):
        return "diverged"  # on every random state measured
    text = f"{row[column]:.{digits}f}"
    n = len(row["random_states"])
    if n > 1:
        text += f" ± {row[f'{column}_std']:.{digits}f}"
    if random_states is not None and n < len(random_states):
        text += f" ({n} seed{'s' if n > 1 else ''})"
    return text
