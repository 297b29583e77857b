"""The supervised setting's answer, computed from its results: gaps, words, the README table.

``python -m skhash compare --settings supervised`` stores one row a (dataset,
method, n_bits, random_state) in ``benchmarks/compare_supervised_results.json``.
The functions here take that file's ``results`` mapping and say how far the
weakly supervised rows (DSTDH, WSIH) are from the best row learning from labels,
at each dataset and code length; :mod:`skhash_results` renders them on the
results page and ``tests/test_results_tables.py`` checks them and the README.
"""

from __future__ import annotations

import numpy as np

WEAK_ROWS = ("DSTDH", "WSIH")
DATASET_NAMES = {"mirflickr25k": "MIRFlickr-25K", "cifar10": "CIFAR-10"}


def supervised_setting():
    """``(rows, datasets)`` of the supervised setting, from ``skhash.benchmark.compare``.

    ``rows``: the row names in table order; ``datasets``: ``(dataset, title)`` pairs.
    """
    from skhash.benchmark.compare import SETTINGS, SUPERVISED_ROWS

    return SUPERVISED_ROWS, SETTINGS["supervised"]


def learns_from_labels(row):
    """Whether a row of the supervised setting learns from the labels."""
    from skhash.benchmark.compare import method_kind

    return method_kind(row) == "labels"


def dataset_label(dataset):
    """A supervised setting's dataset as shown: ``"CIFAR-10, cifar10-1"``, ``"MIRFlickr-25K"``."""
    home, _, protocol = dataset.partition(":")
    return DATASET_NAMES.get(home, home) + (f", {protocol}" if protocol else "")


def _values(results):
    """``(values, skipped, diverged)``: (dataset, n_bits, row) -> {random_state: mAP}, and the
    keys with a code length the row cannot learn, and with a fit that diverged."""
    values, skipped, diverged = {}, set(), set()
    for r in results.values():
        key = (r["dataset"], r["n_bits"], r["method"])
        if r.get("skipped"):
            skipped.add(key)
        elif r.get("diverged"):
            diverged.add(key)
        else:
            values.setdefault(key, {})[r["random_state"]] = r["mAP"]
    return values, skipped, diverged


def gaps(results):
    """How far the weakly supervised rows are from the best supervised one, per dataset and length.

    Returns
    -------
    gaps : list of dict
        One per (dataset, n_bits) where every row of the setting has a result
        (or cannot learn that length): ``dataset``, ``n_bits``, ``seeds`` (the
        random states that every fitted row has: the means are over these),
        ``diverged`` (the rows with a fit that diverged, left out of the line),
        ``leader`` (the row learning from labels with the highest mean mAP),
        ``mAP`` (row -> mean mAP, every fitted row), ``gap`` (weak row ->
        leader's mAP minus its mAP) and ``recovered`` (weak row -> its gain
        over ITQ as a fraction of the leader's gain over ITQ).
    """
    values, skipped, diverged = _values(results)
    row_names, datasets = supervised_setting()
    found = []
    for dataset, _ in datasets:
        for n_bits in sorted({b for d, b, _ in values if d == dataset}):
            keys = {m: (dataset, n_bits, m) for m in row_names}
            failed = [m for m in row_names if keys[m] in diverged]
            fitted = [m for m in row_names if keys[m] in values and m not in failed]
            done = len(fitted) + len(failed) + sum(keys[m] in skipped for m in row_names)
            if done < len(row_names):
                continue  # a row still to measure: no verdict yet
            seeds = sorted(set.intersection(*(set(values[dataset, n_bits, m]) for m in fitted)))
            if not seeds:
                continue
            mean = {
                m: float(np.mean([values[dataset, n_bits, m][s] for s in seeds])) for m in fitted
            }
            leader = max((m for m in fitted if learns_from_labels(m)), key=mean.get)
            gain = mean[leader] - mean["ITQ"]
            found.append(
                {
                    "dataset": dataset,
                    "n_bits": n_bits,
                    "seeds": seeds,
                    "diverged": failed,
                    "leader": leader,
                    "mAP": mean,
                    "gap": {w: mean[leader] - mean[w] for w in WEAK_ROWS},
                    "recovered": {w: (mean[w] - mean["ITQ"]) / gain for w in WEAK_ROWS},
                }
            )
    return found


def gaps_table(results):
    """``(header, rows)``: :func:`gaps` as a table: leader, ITQ, each weak row's gap and share."""
    header = ["dataset", "bits", "seeds", "best supervised (mAP)", "ITQ"]
    for weak in WEAK_ROWS:
        header += [weak, f"{weak}: gap", f"{weak}: gain recovered"]
    rows = []
    for entry in gaps(results):
        m = entry["mAP"]
        line = [
            dataset_label(entry["dataset"]),
            str(entry["n_bits"]),
            str(len(entry["seeds"])),
            f"{entry['leader']} ({m[entry['leader']]:.4f})",
            f"{m['ITQ']:.4f}",
        ]
        for weak in WEAK_ROWS:
            line += [
                f"{m[weak]:.4f}",
                f"{entry['gap'][weak]:.4f}",
                f"{100 * entry['recovered'][weak]:.0f}%",
            ]
        rows.append(line)
    return header, rows


def below_sdh(entry):
    """The deep supervised rows of a :func:`gaps` entry whose mean mAP is below SDH's."""
    m = entry["mAP"]
    return [
        r
        for r in supervised_setting()[0]
        if learns_from_labels(r)
        and r not in ("SDH", "CCA-ITQ (labels)")
        and r in m
        and m[r] < m["SDH"]
    ]


def _span(values, fmt):
    low, high = fmt(min(values)), fmt(max(values))
    return low if low == high else f"{low} to {high}"


def summary(results):
    """The answer in words (reStructuredText, a paragraph a dataset), every number from ``results``.

    Which supervised row leads at each code length, how far DSTDH and WSIH are
    from it (mAP gap, share of its gain over ITQ recovered), and which deep
    supervised hashers land below SDH.
    """
    found = gaps(results)
    paragraphs = []
    for dataset, _ in supervised_setting()[1]:
        entries = [e for e in found if e["dataset"] == dataset]
        if not entries:
            continue
        seeds = min(len(e["seeds"]) for e in entries)
        text = (
            f"**{dataset_label(dataset)}** ({' / '.join(str(e['n_bits']) for e in entries)} "
            f"bits, {seeds} random state{'s' if seeds > 1 else ''}): the best supervised row is "
            f"{' / '.join(e['leader'] for e in entries)}."
        )
        for weak in WEAK_ROWS:
            gap = _span([e["gap"][weak] for e in entries], lambda v: f"{v:.3f}")
            share = _span([e["recovered"][weak] for e in entries], lambda v: f"{100 * v:.0f}%")
            text += f" {weak} is {gap} mAP below it and recovers {share} of its gain over ITQ."
        failed = [
            f"{', '.join(e['diverged'])} at {e['n_bits']} bits" for e in entries if e["diverged"]
        ]
        if failed:
            text += " Left out, a fit having diverged: " + "; ".join(failed) + "."
        below = [(e["n_bits"], below_sdh(e)) for e in entries]
        if any(rows for _, rows in below):
            parts = [f"{', '.join(rows)} at {b} bits" for b, rows in below if rows]
            text += " Below SDH, the classical supervised method: " + "; ".join(parts) + "."
        else:
            text += " Every deep supervised hasher is above SDH at every length."
        paragraphs.append(text)
    return "\n\n".join(paragraphs)


def readme_lines(results):
    """The README's table (Markdown lines): mean mAP at each code length, one line a dataset.

    The best supervised row's mean mAP (and its name) at each length, then
    DSTDH's, WSIH's and ITQ's; ``-`` where a length has no result yet; the
    dataset says how many random states when fewer than 3.
    """
    found = gaps(results)
    bits = sorted({e["n_bits"] for e in found})
    lines = [
        f"| mAP at {' / '.join(map(str, bits))} bits | best supervised | "
        + " | ".join((*WEAK_ROWS, "ITQ"))
        + " |",
        "|---|---|" + "---|" * (len(WEAK_ROWS) + 1),
    ]
    for dataset, _ in supervised_setting()[1]:
        by_bits = {e["n_bits"]: e for e in found if e["dataset"] == dataset}
        if not by_bits:
            continue

        def cells(row, by_bits=by_bits):
            return " / ".join(
                f"{by_bits[b]['mAP'][row]:.3f}" if b in by_bits else "-" for b in bits
            )

        best = " / ".join(
            f"{by_bits[b]['mAP'][by_bits[b]['leader']]:.3f} ({by_bits[b]['leader']})"
            if b in by_bits
            else "-"
            for b in bits
        )
        label = dataset_label(dataset)
        seeds = min(len(e["seeds"]) for e in by_bits.values())
        if seeds < 3:
            label += f" ({seeds} seed{'s' if seeds > 1 else ''})"
        lines.append(
            f"| {label} | {best} | " + " | ".join(cells(r) for r in (*WEAK_ROWS, "ITQ")) + " |"
        )
    return lines
