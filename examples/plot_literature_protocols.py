"""
==================================================================
The evaluation protocols of the literature, on one set of codes
==================================================================

Hashing papers rank the database by Hamming distance to each query and report
mean average precision (mAP), precision@k and precision-recall curves. Hamming
distances are integers between 0 and ``n_bits``, so many database items tie,
and published evaluation codes differ in how they order ties, how they
normalise average precision (AP) and what they do with queries that have no
relevant item. None of this is stated in the papers, yet it moves the reported
numbers.

:mod:`skhash.metrics` makes each of these choices a parameter. This example
evaluates one set of codes (ITQ, 16 bits, on scikit-learn's digits) with the
protocol of each of these evaluation codes:

* **DSTDH** (MATLAB): mAP over the whole ranking, ties in database order,
  AP normalised by the number of relevant items ``R``, queries without
  relevant item counted as 0, MATLAB's saturating popcount;
* **WSIH** (MATLAB): mAP@1000 normalised by the relevant items retrieved in
  the top 1000, queries without relevant item skipped;
* **DeepHash-pytorch** ``CalcTopMap``: mAP@k normalised by the relevant items
  retrieved, queries without any counted as 0, ties in numpy's (unspecified)
  quicksort order;
* the **tie-aware** default of skhash: the expected AP over all orders of the
  tied items (McSherry & Najork, 2008), which depends on nothing arbitrary.

The user guide gives the formulas.
"""

# %%
# Codes to evaluate
# -----------------
# 300 random digits are the queries and the other 1,497 the database, on which
# ITQ is fitted. Relevant means "same digit". 16 bits give many ties, as in the
# short codes hashing papers report.
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skhash import ITQHasher
from skhash.metrics import (
    mean_average_precision,
    precision_at_k,
    precision_recall_at_k,
    precision_within_radius,
    radius_precision_recall,
)
from skhash.plotting import RetrievalPrecisionRecallDisplay

X, y = load_digits(return_X_y=True)
X = X / 16.0
order = np.random.RandomState(0).permutation(len(y))
query, database = order[:300], order[300:]

itq = ITQHasher(n_bits=16, random_state=0).fit(X[database])
q_codes, db_codes = itq.transform(X[query]), itq.transform(X[database])
q_labels, db_labels = y[query], y[database]
print(f"{len(q_codes)} queries, {len(db_codes)} database codes of {8 * q_codes.shape[1]} bits")

# %%
# One call per protocol
# ---------------------
# Each protocol is a combination of the parameters ``k``, ``ties``,
# ``normalize``, ``no_relevant`` and ``distance`` of
# :func:`~skhash.metrics.mean_average_precision`. ``distance="matlab"``
# reproduces the saturating 256-entry lookup table of the classic MATLAB
# ``hammingDist`` (a byte whose 8 bits all differ counts 7), used by the DSTDH
# and WSIH evaluation codes; ``distance="exact"`` gives the same protocol
# with exact distances.
n_database = len(db_codes)
protocols = {
    "skhash default (tie-aware)": {},
    "DSTDH": dict(ties="stable", normalize="relevant", no_relevant="zero", distance="matlab"),
    "DSTDH, exact distances": dict(ties="stable", normalize="relevant", no_relevant="zero"),
    "WSIH mAP@1000": dict(
        k=1000, ties="stable", normalize="retrieved", no_relevant="skip", distance="matlab"
    ),
    "DeepHash-pytorch topk=1000": dict(
        k=1000, ties="stable", normalize="retrieved", no_relevant="zero"
    ),
    "DeepHash-pytorch topk=-1 (bug)": dict(
        k=n_database - 1, ties="stable", normalize="retrieved", no_relevant="zero"
    ),
    "tie-aware mAP@1000": dict(k=1000, normalize="retrieved"),
}


def print_table(codes_and_labels, protocols):
    """One line per protocol: its parameters and its mAP."""
    print(
        f"{'protocol':32s} {'k':>5s} {'ties':8s} {'normalize':9s} {'no_rel':6s} "
        f"{'distance':8s} {'mAP':>8s}"
    )
    for name, params in protocols.items():
        value = mean_average_precision(*codes_and_labels, **params)
        k = params.get("k") or "all"
        print(
            f"{name:32s} {k!s:>5s} {params.get('ties', 'average'):8s} "
            f"{params.get('normalize', 'relevant'):9s} {params.get('no_relevant', 'zero'):6s} "
            f"{params.get('distance', 'exact'):8s} {value:8.6f}"
        )


print_table((q_codes, q_labels, db_codes, db_labels), protocols)

# %%
# DeepHash-pytorch's callers pass ``topk=-1`` to mean "the whole ranking",
# but ``ranking[:-1]`` drops the last item, so the line above uses
# ``k = n_database - 1``. Use ``k=None`` for the whole ranking.
#
# Tie order is arbitrary
# ----------------------
# With ``ties="stable"`` (MATLAB's ``sort``, numpy's stable ``argsort``),
# tied items keep their database order, so the score depends on how the
# database happens to be stored. Databases are often stored class by class
# (an image-folder loader returns them so): then, inside every tie, the
# queries of the first classes see their relevant items first and those of
# the last classes last. The tie-aware mAP does not change.
orders = {
    "as drawn (random)": np.arange(n_database),
    "sorted by digit": np.argsort(db_labels, kind="stable"),
    "sorted by digit, reversed": np.argsort(db_labels, kind="stable")[::-1],
}
print(f"{'database order':28s} {'stable':>8s} {'tie-aware':>9s}")
for name, perm in orders.items():
    args = (q_codes, q_labels, db_codes[perm], db_labels[perm])
    stable = mean_average_precision(*args, ties="stable")
    average = mean_average_precision(*args)
    print(f"{name:28s} {stable:8.4f} {average:9.4f}")

# %%
# Queries without relevant items
# ------------------------------
# Every digit query has relevant items in the database. In multi-label data
# with rare concepts, or with a database that lacks a class, some queries have
# none, and the protocols disagree about them: DSTDH and DeepHash-pytorch
# count them as AP 0, WSIH leaves them out of the mean. Remove the zeros from
# the database to see it.
no_zeros = db_labels != 0
print(f"{np.sum(q_labels == 0)} queries of digit 0 have no relevant item left")
print_table(
    (q_codes, q_labels, db_codes[no_zeros], db_labels[no_zeros]),
    {name: protocols[name] for name in ("DSTDH", "WSIH mAP@1000", "DeepHash-pytorch topk=1000")},
)

# %%
# Precision@k, recall@k and hash lookup
# -------------------------------------
# DSTDH also reports precision@k for k = 500, 1000, ... (up to 5000 on its
# datasets; here the database has fewer than 1,500 items) and the precision
# and recall of hash lookup, pooling the (query, item) pairs within each
# Hamming radius over all queries. WSIH reports precision@k and recall@k for
# k = 50, 100, ..., 1000. Papers also report the mean per-query precision
# within radius 2, where a query that retrieves nothing counts as 0.
ks = np.arange(500, n_database + 1, 500)
p_at_k = precision_at_k(
    q_codes, q_labels, db_codes, db_labels, k=ks, ties="stable", distance="matlab"
)
print("DSTDH precision@k:", dict(zip(ks.tolist(), np.round(p_at_k, 4).tolist(), strict=True)))

precision_r, recall_r = radius_precision_recall(
    q_codes, q_labels, db_codes, db_labels, average="pairs", distance="matlab"
)
print(
    "DSTDH hash lookup, radius 0..4: precision",
    np.round(precision_r[:5], 4),
    "recall",
    np.round(recall_r[:5], 4),
)

ks_wsih = np.arange(50, 1001, 50)
p_wsih, r_wsih = precision_recall_at_k(
    q_codes,
    q_labels,
    db_codes,
    db_labels,
    k=ks_wsih,
    ties="stable",
    no_relevant="skip",
    distance="matlab",
)
print("WSIH precision@k (k=50, 500, 1000):", np.round(p_wsih[[0, 9, 19]], 4))
print("WSIH recall@k    (k=50, 500, 1000):", np.round(r_wsih[[0, 9, 19]], 4))

for empty in ("zero", "skip"):
    value = precision_within_radius(q_codes, q_labels, db_codes, db_labels, radius=2, empty=empty)
    print(f"precision within radius 2, empty lookups {empty!r}: {value:.4f}")

# %%
# Precision-recall curves
# -----------------------
# :class:`~skhash.plotting.RetrievalPrecisionRecallDisplay` draws the curve
# over the ranking (precision@k against recall@k for 100 values of k) or over
# the Hamming radius (hash lookup), with any of the metric parameters. On the
# left, the tie-aware and stable curves, and WSIH's points k = 50, ..., 1000;
# on the right, DSTDH's pooled pairs against the mean over queries.
fig, (ax_rank, ax_radius) = plt.subplots(1, 2, figsize=(10, 4.2))
RetrievalPrecisionRecallDisplay.from_codes(
    q_codes, q_labels, db_codes, db_labels, name="tie-aware", ax=ax_rank
)
RetrievalPrecisionRecallDisplay.from_codes(
    q_codes, q_labels, db_codes, db_labels, ties="stable", name="stable ties", ax=ax_rank
)
RetrievalPrecisionRecallDisplay(p_wsih, r_wsih, name="WSIH: k = 50..1000").plot(
    ax=ax_rank, marker="o", linestyle="none", markersize=3
)
RetrievalPrecisionRecallDisplay.from_codes(
    q_codes,
    q_labels,
    db_codes,
    db_labels,
    mode="radius",
    average="pairs",
    distance="matlab",
    name="pairs pooled (DSTDH)",
    ax=ax_radius,
)
RetrievalPrecisionRecallDisplay.from_codes(
    q_codes,
    q_labels,
    db_codes,
    db_labels,
    mode="radius",
    average="queries",
    name="mean over queries",
    ax=ax_radius,
)
fig.tight_layout()

if plt.get_backend().lower() == "agg":
    output = Path(os.environ.get("SKHASH_EXAMPLE_OUTPUT", ".")) / "literature_protocols.png"
    fig.savefig(output, dpi=100)
    print(f"saved {output}")
else:
    plt.show()
