"""Tables of the results pages, rendered from the results files committed under ``benchmarks/``.

No number of a results page is typed in the documentation: each table is
computed, at build time, from a JSON file that a command wrote (or, for runs
whose output was never saved as a file, a one-off transcription of their
printed output, which says so in its ``provenance``). Two directives::

    .. results-table:: compare-mirflickr25k

    .. results-provenance:: compare_results.json

The first renders a table of :data:`TABLES`, the second says which command
printed a results file, at which commit and on what machine, from the file's
own metadata (or, for ``compare_results.json``, whose command records only
commits, from ``compare_results.provenance.json`` beside it).

The functions that build the tables return plain Python data (:class:`Table`:
a header and rows of strings), so that ``tests/test_results_tables.py`` checks
each table against its file without building the documentation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import skhash_supervised_results as _supervised

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"

# The paper baselines WSIH is compared with (its paper's unsupervised deep hashers).
DEEP_BASELINES = ("SSDH", "GreedyHash", "BiHalf")
BITS = (16, 32, 64)


def benchmark_registry():
    """The benchmark's registry of methods (skhash.benchmark): name -> entry with ``learns_from``.

    The one place that knows where the registry lives; the tests and the tables
    go through it.
    """
    from skhash.benchmark import METHODS

    return METHODS


def method_kind(method):
    """``"web set"``, ``"tags"``, ``"labels"`` or ``"unsupervised"``, from the registry.

    A row of the supervised comparison named ``"<method> (labels)"`` (CCA-ITQ
    fitted on the labels) learns from labels.
    """
    if method.endswith(" (labels)"):
        return "labels"
    learns_from = benchmark_registry()[method].learns_from.lower()
    for keyword, kind in (("web", "web set"), ("tag", "tags"), ("label", "labels")):
        if keyword in learns_from:
            return kind
    return "unsupervised"


@dataclass
class Table:
    """A rendered table: header cells and rows of cells, all strings."""

    header: list[str]
    rows: list[list[str]]


def load(name):
    """The JSON results file ``benchmarks/<name>``."""
    path = BENCHMARKS / name
    if not path.is_file():
        raise FileNotFoundError(f"no results file {path}")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def cell(value, digits):
    """``value`` as shown: a number with ``digits`` decimals, ``[mean, std]`` as ``mean ± std``."""
    if isinstance(value, list):
        mean, std = value
        return f"{mean:.{digits}f} ± {std:.{digits}f}"
    if isinstance(value, float) or (digits is not None and isinstance(value, int)):
        return f"{value:.{digits}f}"
    return str(value)


def _mean_std(values, digits, show_std):
    values = np.asarray(values, dtype=float)
    return cell([values.mean(), values.std()] if show_std else float(values.mean()), digits)


def _method_order(methods):
    """The registry's order, then methods no longer in the registry, sorted."""
    registry = list(benchmark_registry())
    return [m for m in registry if m in methods] + sorted(set(methods) - set(registry))


# -- the main job on digits ---------------------------------------------------
DIGITS_COLUMNS = (("mAP", 4), ("mAP@1000", 4), ("P@1000", 4), ("P(r<=2)", 4), ("fit_s", 2))


def digits_table(name="digits_results.json"):
    """The table ``python -m skhash`` printed, from its ``results.json``: one row a fit.

    Each cell is the mean over the run's random states of its rows in
    ``results`` (``± std`` when there are several).
    """
    data = load(name)
    groups = {}
    for row in data["results"]:
        groups.setdefault((row["method"], row["n_bits"]), []).append(row)
    show_std = len(data.get("random_states", [0])) > 1
    rows = []
    for n_bits in sorted({b for _, b in groups}):
        for method in _method_order({m for m, b in groups if b == n_bits}):
            group = groups[method, n_bits]
            rows.append(
                [method, str(n_bits)]
                + [_mean_std([r[c] for r in group], d, show_std) for c, d in DIGITS_COLUMNS]
            )
    return Table(["method", "n_bits", *(c for c, _ in DIGITS_COLUMNS)], rows)


# -- python -m skhash compare --------------------------------------------------
COMPARE_COLUMNS = (("mAP", "mAP", 4), ("mAP@1000", "mAP@1000", 4), ("fit_s", "fit s", 1))
LEARNS_FROM_SHOWN = {
    "unsupervised": "features",
    "tags": "features + tags",
    "web set": "web set",
    "labels": "features + labels",
}


def _compare_rows(name="compare_results.json"):
    return [r for r in load(name)["results"].values() if not r.get("skipped")]


def compare_table(dataset, name="compare_results.json", order=None):
    """The comparison of ``python -m skhash compare`` on ``dataset``: mean ± std over seeds.

    Rows in the registry's order, or in ``order`` (a sequence of row names).
    A code length a method cannot learn there (stored as skipped) is ``n/a``;
    a fit that diverged is left out of the mean and counted, ``diverged`` when
    every random state did.
    """
    stored = [r for r in load(name)["results"].values() if r["dataset"] == dataset]
    rows = [r for r in stored if not (r.get("skipped") or r.get("diverged"))]
    skipped = {(r["method"], r["n_bits"]) for r in stored if r.get("skipped")}
    diverged = {}
    for r in stored:
        if r.get("diverged"):
            diverged[r["method"], r["n_bits"]] = diverged.get((r["method"], r["n_bits"]), 0) + 1
    groups = {}
    for row in rows:
        groups.setdefault((row["method"], row["n_bits"]), []).append(row)
    bits = sorted({r["n_bits"] for r in stored})
    header = ["method", "learns from"]
    for _, title, _ in COMPARE_COLUMNS:
        header += [f"{title} {b}" for b in bits]
    seeds = max((len(g) for g in groups.values()), default=0)  # a cell with fewer says so
    methods = {r["method"] for r in stored}
    ordered = _method_order(methods) if order is None else [m for m in order if m in methods]
    table = []
    for method in ordered:
        line = [method, LEARNS_FROM_SHOWN.get(method_kind(method), method_kind(method))]
        for column, _, digits in COMPARE_COLUMNS:
            for b in bits:
                group = groups.get((method, b))
                failed = diverged.get((method, b))
                if group is None:  # n/a: cannot learn that length; -: not measured
                    line.append("diverged" if failed else "n/a" if (method, b) in skipped else "-")
                else:
                    text = _mean_std([r[column] for r in group], digits, len(group) > 1)
                    if len(group) < seeds:
                        text += f" ({len(group)} seed{'s' if len(group) > 1 else ''})"
                    line.append(text + (f" ({failed} diverged)" if failed else ""))
        table.append(line)
    return Table(header, table)


# -- benchmarks/learning_curve.py ----------------------------------------------------
LEARNING_CURVE_COLUMNS = (("mAP", 4), ("mAP@1000", 4))


def _learning_curve_groups(rows):
    groups = {}
    for row in rows:
        key = (row["method"], row["n_train"])
        groups.setdefault(key, []).append(row)
    return groups


def learning_curve_table(image_size, n_bits=32, name="learning_curve_results.json"):
    """Validation mAP and mAP@1000 against the number of training photos, one row a method.

    Cells are mean ± std over the random states of the file's rows at
    ``image_size`` px and ``n_bits`` (the defaults' rows: no ``tag``); a cell
    over fewer random states than the file's most says how many.
    """
    rows = [
        r
        for r in load(name)["rows"]
        if r["image_size"] == image_size and r["n_bits"] == n_bits and not r.get("tag")
    ]
    groups = _learning_curve_groups(rows)
    sizes = sorted({n for _, n in groups})
    seeds = max((len(g) for g in groups.values()), default=0)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    header = ["method"] + [f"{c} n={n:,}" for c, _ in LEARNING_CURVE_COLUMNS for n in sizes]
    table = []
    for method in methods:
        line = [method]
        for column, digits in LEARNING_CURVE_COLUMNS:
            for n in sizes:
                group = groups.get((method, n))
                if group is None:
                    line.append("-")
                    continue
                text = _mean_std([r[column] for r in group], digits, len(group) > 1)
                if len(group) < seeds:
                    text += f" ({len(group)} seed{'s' if len(group) > 1 else ''})"
                line.append(text)
        table.append(line)
    return Table(header, table)


def learning_curve_variants_table(name="learning_curve_tuning.json"):
    """The variants tried to find why the weak signals add less: one row a (variant, n, method).

    ``variant`` is the run's ``--tag`` and ``params`` its non-default
    parameters; cells are mean ± std over the random states.
    """
    rows = load(name)["rows"]
    groups = {}
    for row in rows:
        key = (row["tag"], row["image_size"], row["n_train"], row["method"])
        groups.setdefault(key, []).append(row)
    header = ["variant", "px", "n_train", "method", "params", "mAP", "mAP@1000", "seeds"]
    table = []
    for (tag, size, n, method), group in groups.items():
        params = json.dumps(group[0].get("params", {}), sort_keys=True)
        line = [tag, str(size), f"{n:,}", method, f"``{params}``" if params != "{}" else "-"]
        for column, digits in LEARNING_CURVE_COLUMNS:
            line.append(_mean_std([r[column] for r in group], digits, len(group) > 1))
        line.append(", ".join(str(r["random_state"]) for r in group))
        table.append(line)
    return Table(header, table)


# -- python -m skhash compare --settings supervised ------------------------------
# The computations are in skhash_supervised_results (one concept a module); here the
# tables and texts read the file.
SUPERVISED = "compare_supervised_results.json"


def supervised_setting():
    """``(rows, datasets)`` of the supervised setting (see :mod:`skhash_supervised_results`)."""
    return _supervised.supervised_setting()


def supervised_table(dataset, name=SUPERVISED):
    """The supervised comparison on ``dataset`` (``"cifar10:cifar10"``, ..., ``"mirflickr25k"``)."""
    return compare_table(dataset, name, order=_supervised.supervised_setting()[0])


def supervised_gaps(name=SUPERVISED):
    """:func:`skhash_supervised_results.gaps` of the results file ``name``."""
    return _supervised.gaps(load(name)["results"])


def supervised_gaps_table(name=SUPERVISED):
    """How far DSTDH and WSIH are from the best supervised row, per dataset and length."""
    return Table(*_supervised.gaps_table(load(name)["results"]))


def supervised_summary(name=SUPERVISED):
    """The supervised setting's answer in words (reStructuredText), every number from the file."""
    return _supervised.summary(load(name)["results"])


def supervised_readme_lines(name=SUPERVISED):
    """The README's table of the supervised setting (Markdown lines)."""
    return _supervised.readme_lines(load(name)["results"])


#: Texts rendered by ``.. results-text:: name``: name -> (results file, function).
TEXTS: dict[str, tuple[str, Callable[[], str]]] = {
    "supervised-summary": (SUPERVISED, supervised_summary),
}


# -- the papers' claims, decided from the comparison ----------------------------
@dataclass
class Claim:
    key: str
    text: str
    dataset: str
    method: str
    rivals: Callable[[list[str]], list[str]]
    column: str = "mAP"
    higher_is_better: bool = True


def _unsupervised(methods):
    return [m for m in methods if method_kind(m) == "unsupervised"]


def _deep_baselines(methods):
    return [m for m in methods if m in DEEP_BASELINES]


CLAIMS = (
    Claim(
        "dstdh_beats_unsupervised",
        "DSTDH beats every unsupervised method",
        "mirflickr25k",
        "DSTDH",
        _unsupervised,
    ),
    Claim(
        "dstdh_beats_unsupervised_at_1000",
        "DSTDH beats every unsupervised method",
        "mirflickr25k",
        "DSTDH",
        _unsupervised,
        "mAP@1000",
    ),
    Claim(
        "dstdh_beats_cca_itq",
        "DSTDH beats CCA-ITQ, which learns from the same tags",
        "mirflickr25k",
        "DSTDH",
        lambda methods: [m for m in methods if m == "CCA-ITQ"],
    ),
    Claim(
        "dstdh_beats_cca_itq_at_1000",
        "DSTDH beats CCA-ITQ, which learns from the same tags",
        "mirflickr25k",
        "DSTDH",
        lambda methods: [m for m in methods if m == "CCA-ITQ"],
        "mAP@1000",
    ),
    *(
        Claim(
            f"wsih_beats_deep_baselines_{dataset}{suffix}",
            "WSIH beats every unsupervised deep baseline",
            dataset,
            "WSIH",
            _deep_baselines,
            column,
        )
        for dataset in ("mirflickr25k", "cifar10")
        for column, suffix in (("mAP", ""), ("mAP@1000", "_at_1000"))
    ),
    *(
        Claim(
            f"wsih_beats_unsupervised_{dataset}",
            "WSIH beats every unsupervised method",
            dataset,
            "WSIH",
            _unsupervised,
        )
        for dataset in ("mirflickr25k", "cifar10")
    ),
    *(
        Claim(
            f"wsih_fits_faster_{dataset}",
            "WSIH's fit is shorter than every unsupervised deep baseline's",
            dataset,
            "WSIH",
            _deep_baselines,
            "fit_s",
            higher_is_better=False,
        )
        for dataset in ("mirflickr25k", "cifar10")
    ),
)
DATASET_NAMES = _supervised.DATASET_NAMES


def claim_verdicts(name="compare_results.json"):
    """Each claim of :data:`CLAIMS` decided from the comparison's results.

    Returns
    -------
    verdicts : dict
        ``claim key -> {"verdict": "yes" | "no" | "partly", "by_bits": {n_bits:
        (margin, best rival, seeds won, seeds)}}``. The margin is the claimant's
        mean minus the best rival's mean (rival's minus claimant's for fit
        time); a seed is won when the claimant is ahead of every rival on it.
        "yes": ahead in the mean and on every seed at every length; "no":
        behind in the mean at every length; "partly" otherwise.
    """
    rows = _compare_rows(name)
    verdicts = {}
    for claim in CLAIMS:
        values = {}
        for row in rows:
            if row["dataset"] == claim.dataset:
                values.setdefault((row["method"], row["n_bits"]), {})[row["random_state"]] = row[
                    claim.column
                ]
        methods = sorted({m for m, _ in values})
        rivals = [m for m in claim.rivals(methods) if m != claim.method]
        sign = 1.0 if claim.higher_is_better else -1.0
        by_bits = {}
        for n_bits in sorted({b for _, b in values}):
            own = values.get((claim.method, n_bits))
            others = {m: values[m, n_bits] for m in rivals if (m, n_bits) in values}
            if not own or not others:
                continue
            means = {m: float(np.mean(list(v.values()))) for m, v in others.items()}
            best = max(means, key=lambda m: sign * means[m])
            margin = sign * (float(np.mean(list(own.values()))) - means[best])
            seeds = sorted(own)
            won = sum(
                all(sign * (own[s] - v[s]) > 0 for v in others.values() if s in v) for s in seeds
            )
            by_bits[n_bits] = (margin, best, won, len(seeds))
        if not by_bits:
            continue
        if all(m > 0 and won == n for m, _, won, n in by_bits.values()):
            verdict = "yes"
        elif all(m <= 0 for m, _, _, _ in by_bits.values()):
            verdict = "no"
        else:
            verdict = "partly"
        verdicts[claim.key] = {"verdict": verdict, "by_bits": by_bits}
    return verdicts


def claims_table(name="compare_results.json"):
    """The claims and their verdicts: margin over the best rival, seeds won, at each length."""
    verdicts = claim_verdicts(name)
    bits = sorted({b for v in verdicts.values() for b in v["by_bits"]})
    rows = []
    for claim in CLAIMS:
        if claim.key not in verdicts:
            continue
        entry = verdicts[claim.key]
        metric = "fit time" if claim.column == "fit_s" else claim.column
        line = [claim.text, DATASET_NAMES.get(claim.dataset, claim.dataset), metric]
        for b in bits:
            if b not in entry["by_bits"]:
                line.append("n/a")
                continue
            margin, best, won, n = entry["by_bits"][b]
            if claim.column == "fit_s":
                text = f"{margin:+.1f} s against {best}"
            else:
                text = f"{margin:+.4f} over {best}"
            line.append(f"{text} ({won}/{n} seeds)")
        line.append(entry["verdict"])
        rows.append(line)
    header = ["claim", "dataset", "metric", *(f"{b} bits" for b in bits), "verdict"]
    return Table(header, rows)


# -- transcribed tables ----------------------------------------------------------
def transcribed_table(name):
    """A table stored as ``columns``, ``rows`` and per-column ``digits`` (see the file)."""
    data = load(name)
    digits = data.get("digits") or [None] * len(data["columns"])
    return Table(
        list(data["columns"]),
        [[cell(value, d) for value, d in zip(row, digits, strict=True)] for row in data["rows"]],
    )


def _file_of(table_name):
    return f"{table_name.replace('-', '_')}_results.json"


def _transcribed(name):
    return lambda: transcribed_table(name)


TABLES: dict[str, tuple[str, Callable[[], Table]]] = {
    "digits": ("digits_results.json", digits_table),
    "compare-mirflickr25k": ("compare_results.json", lambda: compare_table("mirflickr25k")),
    "compare-cifar10": ("compare_results.json", lambda: compare_table("cifar10")),
    "claims": ("compare_results.json", claims_table),
    "compare-mirflickr25k-224": (
        "compare_results_224.json",
        lambda: compare_table("mirflickr25k", "compare_results_224.json"),
    ),
    "claims-224": ("compare_results_224.json", lambda: claims_table("compare_results_224.json")),
    "learning-curve-224": ("learning_curve_results.json", lambda: learning_curve_table(224)),
    "learning-curve-128": ("learning_curve_results.json", lambda: learning_curve_table(128)),
    "learning-curve-variants": ("learning_curve_tuning.json", learning_curve_variants_table),
    **{
        f"supervised-{dataset.rpartition(':')[2]}": (
            SUPERVISED,
            lambda dataset=dataset: supervised_table(dataset),
        )
        for dataset in ("cifar10:cifar10", "cifar10:cifar10-1", "cifar10:cifar10-2", "mirflickr25k")
    },
    "supervised-gaps": (SUPERVISED, supervised_gaps_table),
    **{
        name: (_file_of(name), _transcribed(_file_of(name)))
        for name in (
            "classical-mirflickr",
            "wsih-real",
            "bench-metrics",
            "bench-search",
            "bench-index",
            "bench-wsih",
            "bench-deep-baselines",
            "bench-classical",
            "bench-memory",
            "bench-end-to-end",
            "end-to-end-validation",
            "end-to-end-claims",
        )
    },
}
"""Table name -> (results file under ``benchmarks/``, function rendering it)."""


# -- provenance --------------------------------------------------------------------
def _machine_text(machine):
    if isinstance(machine, str):
        return machine
    text = f"{machine.get('platform')}, {machine.get('cpu_count')} CPU cores"
    text += f", Python {machine.get('python')}, torch {machine.get('torch')}"
    device = machine.get("cuda_device") or machine.get("torch_device")
    threads = machine.get("torch_threads")
    text += f" on {device}, {threads} thread{'s' if threads != 1 else ''}"
    return text


def provenance(name):
    """``command``, ``commit``, ``machine`` (text), and maybe ``date``, ``note``, ``source``.

    From the file's own metadata: ``command``/``commit``/``machine``/``date``
    at its top level (what ``python -m skhash`` writes, with the commit added by
    ``benchmarks/digits_results.py``), or a ``provenance`` block (the
    transcribed files); for ``compare_results.json`` the commits are those of
    its rows and the rest is in ``compare_results.provenance.json``.
    """
    data = load(name)
    if "provenance" in data:
        info = dict(data["provenance"])
    elif "results" in data and isinstance(data["results"], dict):
        info = load(name.replace(".json", ".provenance.json"))
        commits = sorted({str(r.get("commit")) for r in data["results"].values()})
        info["commit"] = ", ".join(commits)
    else:
        command = data.get("command", [])
        info = {
            "command": " ".join(command) if isinstance(command, list) else command,
            "commit": data.get("commit"),
            "machine": data.get("machine", {}),
            "date": data.get("date"),
            "dataset": data.get("dataset"),
        }
    missing = [key for key in ("command", "commit", "machine") if not info.get(key)]
    if missing:
        raise ValueError(f"benchmarks/{name} does not record its {', '.join(missing)}")
    info["machine"] = _machine_text(info["machine"])
    return info


def provenance_text(name):
    """One reStructuredText paragraph: which command printed the file, at which commit, where."""
    info = provenance(name)
    text = (
        f"Printed by ``{info['command']}`` at commit{'s' if ',' in info['commit'] else ''} "
        f"{info['commit']}, on {info['machine']}"
        + (f", {info['date']}" if info.get("date") else "")
        + f" (``benchmarks/{name}``)."
    )
    if info.get("dataset"):
        text += f" Data: {info['dataset']}."
    for key in ("note", "source"):
        if info.get(key):
            text += f" {info[key][0].upper()}{info[key][1:].rstrip('.')}."
    return text


# -- Sphinx --------------------------------------------------------------------------
def _directives():
    from docutils import nodes
    from docutils.parsers.rst import Directive

    class ResultsTable(Directive):
        """``.. results-table:: name``: the table ``name`` of :data:`TABLES`."""

        required_arguments = 1

        def run(self):
            name = self.arguments[0]
            if name not in TABLES:
                raise self.error(f"unknown results table {name!r}; choose among {list(TABLES)}")
            table = TABLES[name][1]()
            if not table.rows:  # a run still to make (e.g. a long protocol)
                text = f"No results yet in ``benchmarks/{TABLES[name][0]}``."
                inline, messages = self.state.inline_text(text, self.lineno)
                return [nodes.paragraph("", "", *inline), *messages]
            node = nodes.table(classes=["skhash-results", f"skhash-results-{name}"])
            group = nodes.tgroup(cols=len(table.header))
            node += group
            group.extend(nodes.colspec(colwidth=1) for _ in table.header)
            messages = []

            def row_node(cells):
                row = nodes.row()
                for text in cells:
                    inline, problems = self.state.inline_text(text, self.lineno)
                    messages.extend(problems)
                    row += nodes.entry("", nodes.paragraph("", "", *inline))
                return row

            head = nodes.thead()
            head += row_node(table.header)
            body = nodes.tbody()
            body.extend(row_node(r) for r in table.rows)
            group += head
            group += body
            return [node, *messages]

    class ResultsProvenance(Directive):
        """``.. results-provenance:: file.json``: which command, commit and machine."""

        required_arguments = 1

        def run(self):
            text = provenance_text(self.arguments[0])
            inline, messages = self.state.inline_text(text, self.lineno)
            return [nodes.paragraph("", "", *inline, classes=["skhash-provenance"]), *messages]

    class ResultsText(Directive):
        """``.. results-text:: name``: the paragraphs ``name`` of :data:`TEXTS`."""

        required_arguments = 1

        def run(self):
            name = self.arguments[0]
            if name not in TEXTS:
                raise self.error(f"unknown results text {name!r}; choose among {list(TEXTS)}")
            out, messages = [], []
            for paragraph in TEXTS[name][1]().split("\n\n"):
                inline, problems = self.state.inline_text(paragraph, self.lineno)
                messages.extend(problems)
                out.append(nodes.paragraph("", "", *inline))
            return [*out, *messages]

    return ResultsTable, ResultsProvenance, ResultsText


def _results_pages(app, env, added, changed, removed):
    """Reread the results pages at every build: the files they render may have changed."""
    return [doc for doc in env.found_docs if doc.startswith("results/")]


def setup(app):
    table, source, text = _directives()
    app.add_directive("results-table", table)
    app.add_directive("results-provenance", source)
    app.add_directive("results-text", text)
    app.connect("env-get-outdated", _results_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
