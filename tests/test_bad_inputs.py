"""Bad inputs across the whole public API: one table, each a clear error naming what is wrong.

``BAD`` maps a case id to ``(call, error, match)``: ``call()`` must raise
``error`` (or warn it, for a warning class) with a message matching ``match``,
which names the argument, file or command-line flag at fault. ``ACCEPTED``
holds the documented edge cases that are not errors, each with its correct
result. Inputs are tiny so that the whole table runs in seconds.
"""

import contextlib
import io
import os
import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skhash import (
    DSTDHHasher,
    HammingIndex,
    HashingSearcher,
    ITQHasher,
    LSHHasher,
    PCAHasher,
    WebSet,
    WSIHHasher,
    hamming_distances,
    pack_codes,
    unpack_codes,
)
from skhash.codes import check_n_bits, check_packed_codes
from skhash.estimators import (
    AGHHasher,
    CCAITQHasher,
    SDHHasher,
    SGHHasher,
    SHHasher,
    SpHHasher,
)
from skhash.exceptions import DivergedFitError, ImageReadError
from skhash.metrics import (
    make_hashing_scorer,
    map_scorer,
    mean_average_precision,
    precision_at_k,
    precision_recall_at_k,
    precision_recall_curve,
    precision_within_radius,
    radius_precision_recall,
    recall_at_k,
)

da = pytest.importorskip("dask.array")
features = pytest.importorskip("skhash.features")
from skhash import dask as skdask  # noqa: E402
from skhash.__main__ import main  # noqa: E402
from skhash.datasets import (  # noqa: E402
    MIRFLICKR_CONCEPTS,
    load_cifar10n,
    load_image_folder,
    load_mirflickr25k,
    make_web_set,
)

rng = np.random.default_rng(0)
X = rng.normal(size=(30, 6))
Y = np.arange(30) % 3
_tags = (rng.random((30, 5)) < 0.4).astype(np.float64)
_tags[np.arange(30), np.arange(30) % 5] = 1
TAGS = sp.csr_matrix(_tags)
CODES = pack_codes(rng.choice([-1, 1], size=(12, 16)))
LABELS = np.arange(12) % 3
Q, QL = CODES[:4], LABELS[:4]
INDEX = HammingIndex().fit(CODES)
LSH = LSHHasher(n_bits=8, random_state=0).fit(X)
X_WEB = rng.normal(size=(20, 6))
Y_WEB = np.arange(20) % 2
FILES = {}  # tiny fake datasets and images, made by the module fixture


def metric(function, **change):
    """``function`` on good inputs changed by ``change``."""
    args = {
        **dict(query_codes=Q, query_labels=QL, database_codes=CODES, database_labels=LABELS),
        **change,
    }
    return lambda: function(**args)


def wsih(**params):
    base = dict(n_bits=8, web_set=WebSet(X_WEB, Y_WEB), stage1_epochs=1, stage2_epochs=1)
    return WSIHHasher(**{**base, "hidden_sizes": (8, 8, 8), "random_state": 0, **params})


def dstdh(**params):
    base = dict(n_bits=8, n_anchors=5, n_hyperedges=5, max_iter=3, itq_iter=3, max_epochs=1)
    return DSTDHHasher(**{**base, "device": "cpu", "random_state": 0, **params})


def dask_codes(codes=Q, chunks=2):
    return da.from_array(codes, chunks=chunks)


def cli(*args, output=None):
    """Run the command in-process; a usage error (exit 2) is raised as UsageExit(stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main([*args, "--quiet", "--output", output or FILES["output"]])
        except SystemExit as exc:
            if exc.code == 2:
                raise UsageExit(err.getvalue()) from None
            raise
    return 0


class UsageExit(Exception):
    """``python -m skhash`` exited with status 2; the message is its stderr."""


def unknown_chunks():
    codes = dask_codes()
    return codes[codes[:, 0] >= 0]  # rows unknown until computed


# id -> (call, expected exception or warning, regex the message must match)
BAD = {
    # -- hashers: parameters ---------------------------------------------------------------
    "lsh n_bits=7": (lambda: LSHHasher(n_bits=7).fit(X), ValueError, "n_bits"),
    "lsh n_bits=0": (lambda: LSHHasher(n_bits=0).fit(X), ValueError, "n_bits"),
    "lsh n_bits=-8": (lambda: LSHHasher(n_bits=-8).fit(X), ValueError, "n_bits"),
    "lsh n_bits=12": (lambda: LSHHasher(n_bits=12).fit(X), ValueError, "n_bits.*multiple of 8"),
    "lsh n_bits=2.5": (lambda: LSHHasher(n_bits=2.5).fit(X), TypeError, "n_bits"),
    "lsh n_bits='32'": (lambda: LSHHasher(n_bits="32").fit(X), TypeError, "n_bits"),
    "lsh n_bits=None": (lambda: LSHHasher(n_bits=None).fit(X), TypeError, "n_bits"),
    "lsh n_bits=2**40": (lambda: LSHHasher(n_bits=2**40).fit(X), ValueError, "n_bits=.*GiB"),
    "lsh random_state='a'": (
        lambda: LSHHasher(random_state="a").fit(X),
        ValueError,
        "random_state",
    ),
    "itq n_iter=-1": (lambda: ITQHasher(n_bits=8, n_iter=-1).fit(X), ValueError, "n_iter"),
    "itq n_iter=1.5": (lambda: ITQHasher(n_bits=8, n_iter=1.5).fit(X), TypeError, "n_iter"),
    "pcah n_bits > n_features": (
        lambda: PCAHasher(n_bits=16).fit(X),
        ValueError,
        "n_bits=16 .*features",
    ),
    "itq n_bits > n_samples": (
        lambda: ITQHasher(n_bits=16).fit(rng.normal(size=(10, 20))),
        ValueError,
        "n_samples",
    ),
    # -- hashers: features -----------------------------------------------------------------
    "fit X with NaN": (
        lambda: LSHHasher(n_bits=8).fit(np.where(X > 1, np.nan, X)),
        ValueError,
        "Input X contains NaN",
    ),
    "fit X with inf": (
        lambda: LSHHasher(n_bits=8).fit(np.where(X > 1, np.inf, X)),
        ValueError,
        "Input X contains inf",
    ),
    "transform X with NaN": (
        lambda: LSH.transform(np.full((2, 6), np.nan)),
        ValueError,
        "Input X contains NaN",
    ),
    "transform X wrong width": (lambda: LSH.transform(X[:, :3]), ValueError, "X has 3 features"),
    "transform before fit": (
        lambda: LSHHasher().transform(X),
        NotFittedError,
        "LSHHasher.*not fitted",
    ),
    "itq transform wrong width": (
        lambda: ITQHasher(n_bits=8, random_state=0).fit(np.c_[X, X]).transform(X[:, :5]),
        ValueError,
        "X has 5 features",
    ),
    "dstdh X beyond float32": (lambda: dstdh().fit(X * 1e39), ValueError, r"Input X .*float32"),
    "wsih X beyond float32": (lambda: wsih().fit(X * 1e39), ValueError, r"Input X .*float32"),
    "wsih diverging lr": (
        lambda: wsih(stage1_lr=1e30, stage2_lr=1e30).fit(X),
        DivergedFitError,
        "lr",
    ),
    "dstdh sgd huge lr": (
        lambda: dstdh(optimizer="sgd", lr=1e300, max_epochs=2).fit(X),
        DivergedFitError,
        re.escape("lr (1e+300)"),
    ),
    "wsih stage1_epochs=0": (lambda: wsih(stage1_epochs=-1).fit(X), ValueError, "stage1_epochs"),
    "wsih hidden_sizes bad": (lambda: wsih(hidden_sizes=(8, 8)).fit(X), ValueError, "hidden_sizes"),
    "wsih no web set": (lambda: wsih(web_set=None).fit(X), ValueError, "web set"),
    # -- tags (DSTDH, CCA-ITQ) -------------------------------------------------------------
    "tags wrong rows": (lambda: dstdh().fit(X, tags=TAGS[:10]), ValueError, "tags"),
    "tags NaN": (
        lambda: dstdh().fit(X, tags=np.where(TAGS.toarray() > 0, np.nan, 0)),
        ValueError,
        "tags",
    ),
    "tags not binary": (lambda: dstdh().fit(X, tags=TAGS * 3), ValueError, "tags"),
    "tags 0 columns": (lambda: dstdh().fit(X, tags=np.zeros((30, 0))), ValueError, "tags"),
    "tags all zero": (lambda: dstdh().fit(X, tags=sp.csr_matrix((30, 5))), ValueError, "tags"),
    "tags 1-D": (lambda: dstdh().fit(X, tags=np.ones(30)), ValueError, "tags"),
    "tags strings": (lambda: dstdh().fit(X, tags=np.full((30, 5), "a")), TypeError, "tags"),
    "cca-itq tags wrong rows": (
        lambda: CCAITQHasher(n_bits=8).fit(X, tags=TAGS[:10]),
        ValueError,
        "tags",
    ),
    "cca-itq n_bits > tag directions": (
        lambda: CCAITQHasher(n_bits=16).fit(X, tags=TAGS),
        ValueError,
        "n_bits=16",
    ),
    "sdh y missing": (lambda: SDHHasher(n_bits=8, n_anchors=10).fit(X), ValueError, r"\by\b"),
    # -- web sets --------------------------------------------------------------------------
    "web_set X 1-D": (lambda: WebSet(X_WEB[:, 0], Y_WEB), ValueError, "web_set X .*2-D"),
    "web_set X 3-D": (lambda: WebSet(X_WEB[:, :, None], Y_WEB), ValueError, "web_set X .*2-D"),
    "web_set y 2-D": (lambda: WebSet(X_WEB, np.c_[Y_WEB, Y_WEB]), ValueError, "web_set y .*1-D"),
    "web_set y one-hot": (lambda: WebSet(X_WEB, np.eye(2)[Y_WEB]), ValueError, "argmax"),
    "web_set 3 samples": (
        lambda: WebSet(X_WEB[:3], Y_WEB[:3]),
        ValueError,
        "web_set has 3 samples",
    ),
    "web_set X strings": (
        lambda: WebSet(X_WEB.astype(str), Y_WEB),
        TypeError,
        "web_set X .*numeric",
    ),
    "web_set X None": (lambda: WebSet(None, Y_WEB), TypeError, "web_set X is required"),
    "web_set y None": (lambda: WebSet(X_WEB, None), TypeError, "web_set y is required"),
    "web_set X sparse": (
        lambda: WebSet(sp.csr_matrix(X_WEB), Y_WEB),
        TypeError,
        "web_set X .*dense",
    ),
    "web_set lengths": (
        lambda: WebSet(X_WEB, Y_WEB[:5]),
        ValueError,
        "web_set X has 20 samples but web_set y has 5",
    ),
    "web_set one concept": (
        lambda: wsih(web_set=WebSet(X_WEB, np.zeros(20))).fit(X),
        ValueError,
        "web_set y has a single concept",
    ),
    "web_set rare concept": (
        lambda: wsih(web_set=WebSet(X_WEB, np.r_[np.zeros(19), 1])).fit(X),
        ValueError,
        "web_set y has concepts with fewer than 2",
    ),
    "web_set feature width": (
        lambda: wsih(web_set=WebSet(X_WEB[:, :4], Y_WEB)).fit(X),
        ValueError,
        "web_set X has 4 features",
    ),
    "web_set NaN features": (
        lambda: wsih(web_set=WebSet(np.where(X_WEB > 1, np.nan, X_WEB), Y_WEB)).fit(X),
        ValueError,
        "web_set X",
    ),
    "web_set None label": (
        lambda: wsih(web_set=WebSet(X_WEB, [None] + [0, 1] * 9 + [0])).fit(X),
        ValueError,
        "web_set y",
    ),
    "web_set tuple of 3": (
        lambda: wsih(web_set=(X_WEB, Y_WEB, Y_WEB)).fit(X),
        ValueError,
        "web_set",
    ),
    "web_set tuple X 1-D": (
        lambda: wsih(web_set=(X_WEB[:, 0], Y_WEB)).fit(X),
        ValueError,
        "web_set X .*2-D",
    ),
    "web_set tuple y one-hot": (
        lambda: wsih(web_set=(X_WEB, np.eye(2)[Y_WEB])).fit(X),
        ValueError,
        "argmax",
    ),
    "web_set a dict": (
        lambda: wsih(web_set={"X": X_WEB, "y": Y_WEB}).fit(X),
        TypeError,
        "'web_set' parameter of WSIHHasher must be",
    ),
    # -- codes -----------------------------------------------------------------------------
    "pack_codes 1-D": (lambda: pack_codes(np.ones(8)), ValueError, "codes must be a 2-D"),
    "pack_codes 12 bits": (lambda: pack_codes(np.ones((2, 12))), ValueError, "number of bits"),
    "pack_codes value 2": (lambda: pack_codes(np.full((2, 8), 2)), ValueError, "codes must hold"),
    "pack_codes strings": (lambda: pack_codes(np.full((2, 8), "a")), TypeError, "codes"),
    "unpack_codes encoding": (lambda: unpack_codes(CODES, encoding="x"), ValueError, "encoding"),
    "unpack_codes float": (lambda: unpack_codes(CODES.astype(float)), TypeError, "packed"),
    "unpack_codes 1-D": (lambda: unpack_codes(CODES[0]), ValueError, "packed"),
    "check_n_bits bool": (lambda: check_n_bits(True), TypeError, "n_bits"),
    "check_packed_codes sparse": (
        lambda: check_packed_codes(sp.csr_matrix(CODES)),
        TypeError,
        "codes .*sparse",
    ),
    "hamming_distances float": (
        lambda: hamming_distances(CODES.astype(float)),
        TypeError,
        "codes_a",
    ),
    "hamming_distances widths": (
        lambda: hamming_distances(CODES, CODES[:, :1]),
        ValueError,
        "codes_a and codes_b",
    ),
    "hamming_distances empty": (lambda: hamming_distances(CODES[:0]), ValueError, "codes_a"),
    "hamming_distances 3-D": (lambda: hamming_distances(CODES, CODES[None]), ValueError, "codes_b"),
    # -- metrics: k ------------------------------------------------------------------------
    "map k=2.5": (metric(mean_average_precision, k=2.5), TypeError, r"\bk\b"),
    "map k=nan": (metric(mean_average_precision, k=np.nan), TypeError, r"\bk\b"),
    "map k=0": (metric(mean_average_precision, k=0), ValueError, r"\bk\b"),
    "map k=-inf": (metric(mean_average_precision, k=-np.inf), ValueError, r"\bk\b"),
    "map k='5'": (metric(mean_average_precision, k="5"), TypeError, r"\bk\b"),
    "map k=True": (metric(mean_average_precision, k=True), TypeError, r"\bk\b"),
    "map k=[1, 2]": (metric(mean_average_precision, k=[1, 2]), TypeError, r"\bk\b"),
    "p@k k=-1": (metric(precision_at_k, k=-1), ValueError, r"\bk\b"),
    "p@k k=[]": (metric(precision_at_k, k=[]), ValueError, r"\bk\b"),
    "p@k k=[[1]]": (metric(precision_at_k, k=[[1]]), ValueError, r"\bk\b"),
    "p@k k=[2, 0]": (metric(precision_at_k, k=[2, 0]), ValueError, r"\bk\b"),
    "p@k k=[2**70, 2.5]": (metric(precision_at_k, k=[2**70, 2.5]), TypeError, r"\bk\b"),
    "p@k k=None": (metric(precision_at_k, k=None), TypeError, r"\bk\b"),
    "r@k k=1.5": (metric(recall_at_k, k=1.5), TypeError, r"\bk\b"),
    "pr@k k=[1, 'a']": (metric(precision_recall_at_k, k=[1, "a"]), TypeError, r"\bk\b"),
    "pr curve k=0": (metric(precision_recall_curve, k=[0, 3]), ValueError, r"\bk\b"),
    # -- metrics: labels -------------------------------------------------------------------
    "labels None": (metric(mean_average_precision, query_labels=None), ValueError, "query_labels"),
    "labels contain None": (
        metric(mean_average_precision, query_labels=[0, None, 1, 2]),
        TypeError,
        "query_labels contains None",
    ),
    "labels mix str and int": (
        metric(mean_average_precision, query_labels=[0, "a", 1, 2]),
        TypeError,
        "query_labels mixes",
    ),
    "labels object mix": (
        metric(mean_average_precision, database_labels=np.array([1, "b"] * 6, dtype=object)),
        TypeError,
        "database_labels mixes",
    ),
    "labels str vs int": (
        metric(mean_average_precision, query_labels=["0", "1", "2", "0"]),
        TypeError,
        "query_labels hold str",
    ),
    "labels NaN": (
        metric(mean_average_precision, query_labels=[0, np.nan, 1, 2]),
        ValueError,
        "query_labels contains NaN",
    ),
    "labels inf indicator": (
        metric(
            mean_average_precision,
            query_labels=np.full((4, 3), np.inf),
            database_labels=np.ones((12, 3)),
        ),
        ValueError,
        "query_labels contains NaN or infinity",
    ),
    "labels 3-D": (
        metric(mean_average_precision, query_labels=np.zeros((4, 2, 2))),
        ValueError,
        "query_labels",
    ),
    "labels rows": (
        metric(mean_average_precision, database_labels=LABELS[:5]),
        ValueError,
        "database_labels has 5 rows",
    ),
    "indicator not binary": (
        metric(
            mean_average_precision,
            query_labels=np.full((4, 3), 2),
            database_labels=np.ones((12, 3)),
        ),
        ValueError,
        "query_labels must be a binary",
    ),
    "indicator negative": (
        metric(
            mean_average_precision, query_labels=-np.ones((4, 3)), database_labels=np.ones((12, 3))
        ),
        ValueError,
        "query_labels must be a binary",
    ),
    "indicator float 0.5": (
        metric(
            mean_average_precision,
            query_labels=np.full((4, 3), 0.5),
            database_labels=np.ones((12, 3)),
        ),
        ValueError,
        "query_labels must be a binary",
    ),
    "sparse indicator 2": (
        metric(
            mean_average_precision,
            database_labels=sp.csr_matrix(np.full((12, 3), 2)),
            query_labels=np.ones((4, 3)),
        ),
        ValueError,
        "database_labels must be a binary",
    ),
    "indicator strings": (
        metric(
            mean_average_precision,
            query_labels=np.full((4, 3), "a"),
            database_labels=np.ones((12, 3)),
        ),
        TypeError,
        "query_labels",
    ),
    "indicator columns": (
        metric(
            mean_average_precision, query_labels=np.ones((4, 2)), database_labels=np.ones((12, 3))
        ),
        ValueError,
        "label columns",
    ),
    "ids vs indicator": (
        metric(mean_average_precision, database_labels=np.ones((12, 3))),
        ValueError,
        "database_labels",
    ),
    "labels without codes": (
        metric(mean_average_precision, database_codes=None),
        ValueError,
        "database_labels",
    ),
    # -- metrics: codes and options --------------------------------------------------------
    "query codes float": (
        metric(mean_average_precision, query_codes=Q.astype(float)),
        TypeError,
        "query_codes",
    ),
    "database codes widths": (
        metric(mean_average_precision, database_codes=CODES[:, :1]),
        ValueError,
        "database_codes",
    ),
    "database codes 1-D": (
        metric(mean_average_precision, database_codes=CODES[0]),
        ValueError,
        "database_codes",
    ),
    "leave-one-out one code": (
        lambda: mean_average_precision(Q[:1], QL[:1]),
        ValueError,
        "query_codes",
    ),
    "distance": (metric(mean_average_precision, distance="hamming"), ValueError, "distance"),
    "ties": (metric(mean_average_precision, ties="first"), ValueError, "ties"),
    "normalize": (metric(mean_average_precision, normalize="all"), ValueError, "normalize"),
    "no_relevant": (metric(mean_average_precision, no_relevant="drop"), ValueError, "no_relevant"),
    "radius -1": (metric(precision_within_radius, radius=-1), ValueError, "radius"),
    "radius 17": (metric(precision_within_radius, radius=17), ValueError, "radius"),
    "radius 1.5": (metric(precision_within_radius, radius=1.5), TypeError, "radius"),
    "average": (metric(radius_precision_recall, average="mean"), ValueError, "average"),
    "empty": (metric(radius_precision_recall, empty="none"), ValueError, "empty"),
    # -- scorers ---------------------------------------------------------------------------
    "scorer y short": (lambda: map_scorer(LSH, X, Y[:-1]), ValueError, r"^y has 29 rows but X"),
    "scorer y None": (lambda: map_scorer(LSH, X, None), ValueError, "labels y"),
    "scorer y contains None": (
        lambda: map_scorer(LSH, X, [None] * 30),
        TypeError,
        "y contains None",
    ),
    "scorer sample_weight": (
        lambda: map_scorer(LSH, X, Y, sample_weight=np.ones(30)),
        ValueError,
        "sample_weight",
    ),
    "scorer metric": (lambda: make_hashing_scorer("roc_auc"), ValueError, "metric"),
    "scorer query_fraction": (
        lambda: make_hashing_scorer("mean_average_precision", query_fraction=1.5),
        ValueError,
        "query_fraction",
    ),
    "scorer k=2.5": (lambda: make_hashing_scorer("precision_at_k", k=2.5), TypeError, r"\bk\b"),
    "scorer k list": (lambda: make_hashing_scorer("precision_at_k", k=[1, 2]), TypeError, r"\bk\b"),
    "scorer ties": (
        lambda: make_hashing_scorer("mean_average_precision", ties="x")(LSH, X, Y),
        ValueError,
        "ties",
    ),
    # -- index -----------------------------------------------------------------------------
    "index fit float codes": (lambda: HammingIndex().fit(CODES.astype(float)), TypeError, "codes"),
    "index n_neighbors=0": (lambda: INDEX.kneighbors(Q, n_neighbors=0), ValueError, "n_neighbors"),
    "index n_neighbors=2.5": (
        lambda: INDEX.kneighbors(Q, n_neighbors=2.5),
        TypeError,
        "n_neighbors",
    ),
    "index radius=-1": (lambda: INDEX.radius_neighbors(Q, radius=-1), ValueError, "radius"),
    "index radius=nan": (lambda: INDEX.radius_neighbors(Q, radius=np.nan), ValueError, "radius"),
    "index radius='2'": (lambda: INDEX.radius_neighbors(Q, radius="2"), TypeError, "radius"),
    "index query width": (lambda: INDEX.kneighbors(Q[:, :1]), ValueError, "bits"),
    "index query float": (lambda: INDEX.kneighbors(Q.astype(float)), TypeError, "query_codes"),
    "index before fit": (
        lambda: HammingIndex().kneighbors(Q),
        NotFittedError,
        "HammingIndex.*not fitted",
    ),
    "searcher non-hasher": (
        lambda: HashingSearcher(object()).fit(X),
        TypeError,
        "'hasher' parameter",
    ),
    # -- dask ------------------------------------------------------------------------------
    "dask transform numpy X": (
        lambda: skdask.transform(LSH, X),
        TypeError,
        "X must be a dask array",
    ),
    "dask transform 1-D X": (
        lambda: skdask.transform(LSH, da.from_array(X[:, 0])),
        ValueError,
        "X must be a 2-D",
    ),
    "dask transform unfitted": (
        lambda: skdask.transform(LSHHasher(), da.from_array(X)),
        NotFittedError,
        "LSHHasher.*not fitted",
    ),
    "dask kneighbors not an index": (
        lambda: skdask.kneighbors(object(), dask_codes()),
        TypeError,
        "index must be a HammingIndex",
    ),
    "dask kneighbors float codes": (
        lambda: skdask.kneighbors(INDEX, dask_codes(Q.astype(float))),
        TypeError,
        "query_codes",
    ),
    "dask kneighbors widths": (
        lambda: skdask.kneighbors(INDEX, dask_codes(Q[:, :1])),
        ValueError,
        "query_codes",
    ),
    "dask kneighbors unknown chunks": (
        lambda: skdask.kneighbors(INDEX, unknown_chunks()),
        ValueError,
        "query_codes has unknown chunk",
    ),
    "dask kneighbors n_neighbors=0": (
        lambda: skdask.kneighbors(INDEX, dask_codes(), 0),
        ValueError,
        "n_neighbors",
    ),
    "dask radius -1": (
        lambda: skdask.radius_neighbors(INDEX, dask_codes(), -1),
        ValueError,
        "radius",
    ),
    "dask map labels None": (
        lambda: skdask.mean_average_precision(dask_codes(), None, CODES, LABELS),
        ValueError,
        "query_labels",
    ),
    "dask map label rows": (
        lambda: skdask.mean_average_precision(dask_codes(), QL[:3], CODES, LABELS),
        ValueError,
        "query_labels has 3 rows",
    ),
    "dask map k=2.5": (
        lambda: skdask.mean_average_precision(dask_codes(), QL, CODES, LABELS, k=2.5),
        TypeError,
        r"\bk\b",
    ),
    "dask pr@k k=0": (
        lambda: skdask.precision_recall_at_k(dask_codes(), QL, CODES, LABELS, k=0),
        ValueError,
        r"\bk\b",
    ),
    "dask map no_relevant": (
        lambda: skdask.mean_average_precision(dask_codes(), QL, CODES, LABELS, no_relevant="x"),
        ValueError,
        "no_relevant",
    ),
    "dask map numpy codes": (
        lambda: skdask.mean_average_precision(Q, QL, CODES, LABELS),
        TypeError,
        "query_codes must be a dask array",
    ),
    "dask map labels without codes": (
        lambda: skdask.mean_average_precision(dask_codes(), QL, None, LABELS),
        ValueError,
        "database_labels",
    ),
    # -- loaders ---------------------------------------------------------------------------
    "mirflickr missing home": (
        lambda: load_mirflickr25k(FILES["missing"]),
        FileNotFoundError,
        "MIRFlickr-25K",
    ),
    "mirflickr non-integer line": (
        lambda: load_mirflickr25k(FILES["mir_bad_line"]),
        ValueError,
        r"annotations.car\.txt', line 3: 'abc'",
    ),
    "mirflickr empty annotation": (
        lambda: load_mirflickr25k(FILES["mir_empty"]),
        UserWarning,
        r"car\.txt' is empty",
    ),
    "mirflickr min_tag_count=0": (
        lambda: load_mirflickr25k(FILES["mir_empty"], min_tag_count=0),
        ValueError,
        "min_tag_count",
    ),
    "cifar10n csv cut short": (
        lambda: load_cifar10n(FILES["cifar_short"], subset="train"),
        ValueError,
        r"train_human_labels\.csv', line 3: 2 field",
    ),
    "cifar10n csv missing": (
        lambda: load_cifar10n(FILES["cifar_no_csv"], subset="train"),
        FileNotFoundError,
        "train_human_labels.csv",
    ),
    "cifar10n csv unknown class": (
        lambda: load_cifar10n(FILES["cifar_bad_class"], subset="train"),
        ValueError,
        "unknown class 'zebra'",
    ),
    "image folder missing": (
        lambda: load_image_folder(FILES["missing"]),
        FileNotFoundError,
        "missing",
    ),
    # -- feature extractor -----------------------------------------------------------------
    "features empty jpeg": (
        lambda: (
            features.ImageFeatureExtractor(image_size=32)
            .fit([FILES["empty.jpg"]])
            .transform([FILES["empty.jpg"]])
        ),
        ImageReadError,
        "empty.jpg",
    ),
    "features truncated jpeg": (
        lambda: (
            features.ImageFeatureExtractor(image_size=32)
            .fit([FILES["truncated.jpg"]])
            .transform([FILES["truncated.jpg"]])
        ),
        ImageReadError,
        "truncated.jpg",
    ),
    "features corrupt jpeg": (
        lambda: (
            features.ImageFeatureExtractor(image_size=32)
            .fit([FILES["corrupt.jpg"]])
            .transform([FILES["corrupt.jpg"]])
        ),
        ImageReadError,
        "corrupt.jpg",
    ),
    "cached_features truncated": (
        lambda: features.cached_features(
            [FILES["good.jpg"], FILES["truncated.jpg"]], image_size=32, cache_dir=FILES["cache"]
        ),
        ImageReadError,
        "truncated.jpg",
    ),
    "cached_features on_error": (
        lambda: features.cached_features([FILES["good.jpg"]], image_size=32, on_error="ignore"),
        ValueError,
        "on_error",
    ),
    "cached_features missing file": (
        lambda: features.cached_features([FILES["missing"]], image_size=32),
        FileNotFoundError,
        "paths: image file not found",
    ),
    "cached_features image_size": (
        lambda: features.cached_features([FILES["good.jpg"]], image_size=16),
        ValueError,
        "image_size",
    ),
    "cached_features array": (
        lambda: features.cached_features(np.zeros((1, 8, 8, 3), np.uint8), image_size=32),
        TypeError,
        "paths",
    ),
    "extractor missing file": (
        lambda: features.ImageFeatureExtractor().fit(None).transform([FILES["missing"]]),
        FileNotFoundError,
        "X: image file not found",
    ),
    "extractor float images": (
        lambda: features.ImageFeatureExtractor().fit(np.zeros((1, 8, 8, 3))),
        TypeError,
        "X as an array must have dtype uint8",
    ),
    "extractor image_size": (
        lambda: features.ImageFeatureExtractor(image_size=8).fit(None),
        ValueError,
        "image_size",
    ),
    "extractor empty list": (
        lambda: features.ImageFeatureExtractor().fit([]),
        ValueError,
        "X is empty",
    ),
    # -- the benchmark command -------------------------------------------------------------
    "cli --n-queries 0": (lambda: cli("--n-queries", "0"), UsageExit, "--n-queries"),
    "cli --n-queries -5": (lambda: cli("--n-queries", "-5"), UsageExit, "--n-queries"),
    "cli --n-queries 5000": (
        lambda: cli("--n-queries", "5000", "--methods", "LSH"),
        UsageExit,
        "--n-queries: n_queries=5000",
    ),
    "cli --n-queries cifar10": (
        lambda: cli(
            "--dataset", "cifar10", "--data-home", FILES["cifar_short"], "--n-queries", "10"
        ),
        UsageExit,
        "--n-queries: not used",
    ),
    "cli --bits 7": (lambda: cli("--bits", "7"), UsageExit, "--bits: 7"),
    "cli --bits 0": (lambda: cli("--bits", "0"), UsageExit, "--bits: 0"),
    "cli --bits -8": (lambda: cli("--bits", "-8"), UsageExit, "--bits: -8"),
    "cli --bits abc": (lambda: cli("--bits", "abc"), UsageExit, "--bits: 'abc'"),
    "cli --bits 40000": (lambda: cli("--bits", "40000"), UsageExit, "--bits: 40000"),
    "cli --bits twice": (lambda: cli("--bits", "16", "16"), UsageExit, "--bits: 16 is given"),
    "cli --bits too long for PCAH": (
        lambda: cli("--methods", "PCAH", "--bits", "128"),
        UsageExit,
        "--bits: 128 is too long for PCAH",
    ),
    "cli --bits too long for AGH": (
        lambda: cli("--methods", "AGH", "--bits", "304"),
        UsageExit,
        "--bits: 304 is too long for AGH",
    ),
    "cli --random-state -1": (lambda: cli("--random-state", "-1"), UsageExit, "--random-state"),
    "cli --random-state 2**32": (
        lambda: cli("--random-state", str(2**32)),
        UsageExit,
        "--random-state",
    ),
    "cli --random-state twice": (
        lambda: cli("--random-state", "1", "1"),
        UsageExit,
        "--random-state: 1 is given twice",
    ),
    "cli --n-train 0": (lambda: cli("--n-train", "0"), UsageExit, "--n-train"),
    "cli --n-train digits": (lambda: cli("--n-train", "10"), UsageExit, "--n-train: not used"),
    "cli --n-threads 0": (lambda: cli("--n-threads", "0"), UsageExit, "--n-threads"),
    "cli --methods unknown": (lambda: cli("--methods", "XYZ"), UsageExit, "--methods"),
    "cli --dataset unknown": (lambda: cli("--dataset", "imagenet"), UsageExit, "--dataset"),
    "cli --data-home required": (
        lambda: cli("--dataset", "mirflickr25k"),
        UsageExit,
        "--data-home: required",
    ),
    "cli --data-home missing": (
        lambda: cli("--dataset", "mirflickr25k", "--data-home", FILES["missing"]),
        UsageExit,
        "--data-home: .* does not exist",
    ),
    "cli --data-home empty": (
        lambda: cli("--dataset", "cifar10", "--data-home", FILES["empty_dir"]),
        UsageExit,
        "--data-home: .* is empty",
    ),
    "cli --data-home a file": (
        lambda: cli("--dataset", "cifar10", "--data-home", FILES["good.jpg"]),
        UsageExit,
        "--data-home: .* is not a folder",
    ),
    "cli --data-home wrong dataset": (
        lambda: cli("--dataset", "mirflickr25k", "--data-home", FILES["cifar_short"]),
        UsageExit,
        "--data-home: MIRFlickr-25K photo folder",
    ),
    "cli --data-home for digits": (
        lambda: cli("--data-home", FILES["empty_dir"]),
        UsageExit,
        "--data-home: not used",
    ),
    "cli --cache-dir a file": (
        lambda: cli(
            "--dataset",
            "cifar10",
            "--data-home",
            FILES["cifar_short"],
            "--cache-dir",
            FILES["good.jpg"],
        ),
        UsageExit,
        "--cache-dir",
    ),
    "cli --output a file": (
        lambda: cli(output=FILES["good.jpg"]),
        UsageExit,
        "--output .*good.jpg exists and is not a folder",
    ),
    "cli --output inside a file": (
        lambda: cli(output=os.path.join(FILES["good.jpg"], "out")),
        UsageExit,
        "--output: .*good.jpg",
    ),
}


# Documented acceptance: id -> (call, check of the result)
ACCEPTED = {
    "k=inf is the whole ranking": (
        metric(mean_average_precision, k=np.inf),
        lambda v: v == metric(mean_average_precision)(),
    ),
    "k=1e20 is the whole ranking": (
        metric(mean_average_precision, k=1e20, normalize="retrieved"),
        lambda v: v == metric(mean_average_precision, normalize="retrieved")(),
    ),
    "k=2**63 is the whole ranking": (
        metric(precision_at_k, k=2**63),
        lambda v: v == metric(precision_at_k, k=12)(),
    ),
    "k=5.0 is k=5": (metric(precision_at_k, k=5.0), lambda v: v == metric(precision_at_k, k=5)()),
    "(n, 1) labels are class ids": (
        metric(mean_average_precision, query_labels=QL[:, None], database_labels=LABELS[:, None]),
        lambda v: v == metric(mean_average_precision)(),
    ),
    "string class ids": (
        metric(
            mean_average_precision, query_labels=QL.astype(str), database_labels=LABELS.astype(str)
        ),
        lambda v: v == metric(mean_average_precision)(),
    ),
    "web_set y column vector": (
        lambda: WebSet(X_WEB, Y_WEB[:, None]).y.shape,
        lambda v: v == (20, 1),
    ),
    "empty annotation is a concept nobody has": (
        lambda: _quiet(load_mirflickr25k, FILES["mir_empty"]).labels[:, 3].sum(),
        lambda v: v == 0,
    ),
    "cached_features skips unreadable files": (
        lambda: _quiet(
            features.cached_features,
            [FILES["good.jpg"], FILES["corrupt.jpg"], FILES["good.jpg"]],
            image_size=32,
            cache_dir=FILES["cache"],
            on_error="skip",
        ),
        lambda v: v[0].shape == (2, 1280) and v[1].tolist() == [True, False, True],
    ),
    "lsh transform = sign((X - mean) W)": (
        lambda: LSH.transform(X),
        lambda v: np.array_equal(v, pack_codes((X - LSH.mean_) @ LSH.hyperplanes_ >= 0)),
    ),
    "cli --n-threads 1 restores the thread settings": (
        lambda: _threads_after_cli(),
        lambda v: v[0] == v[1],
    ),
}


def _quiet(function, *args, **kwargs):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _threads_after_cli():
    from threadpoolctl import threadpool_info

    def state():
        import numba
        import torch

        return (
            torch.get_num_threads(),
            numba.get_num_threads(),
            sorted((i["filepath"], i["num_threads"]) for i in threadpool_info()),
        )

    before = state()
    cli("--methods", "LSH", "--bits", "8", "--n-threads", "1")
    return before, state()


# Finite values whose squares overflow the computation (issue 19): every hasher that sums
# squared values (covariances, distances, batch statistics) names X, instead of numpy's
# "Eigenvalues did not converge", scipy's "array must not contain infs or NaNs", silent NaN
# codes or a generic NaN-projection error.
# (the deep hashers, which compute in float32, reject float64 values beyond its range first)
_TOO_LARGE = r"Input X holds values (too large for the computation of \w+Hasher|beyond the range)"
_SECOND_MOMENT_HASHERS = {
    "ITQ": lambda: ITQHasher(n_bits=8, random_state=0),
    "PCAH": lambda: PCAHasher(n_bits=8),
    "SH": lambda: SHHasher(n_bits=8),
    "SpH": lambda: SpHHasher(n_bits=8, random_state=0),
    "SGH": lambda: SGHHasher(n_bits=8, n_anchors=10, random_state=0),
    "AGH": lambda: AGHHasher(n_bits=8, n_anchors=10, random_state=0),
    "SDH": lambda: SDHHasher(n_bits=8, n_anchors=10, random_state=0),
    "CCA-ITQ": lambda: CCAITQHasher(n_bits=8, random_state=0),
    "DSTDH": dstdh,
    "WSIH": wsih,
}
for _name, _make in _SECOND_MOMENT_HASHERS.items():
    _fit_kwargs = {"y": Y} if _name in ("SDH", "CCA-ITQ") else {}
    for _scale, _dtype in ((1e300, np.float64), (1e30, np.float32)):
        BAD[f"{_name}.fit(X * {_scale:.0e}, {np.dtype(_dtype).name})"] = (
            lambda make=_make, kw=_fit_kwargs, scale=_scale, dtype=_dtype: make().fit(
                (X * scale).astype(dtype), **kw
            ),
            ValueError,
            _TOO_LARGE,
        )
BAD["make_web_set(1-d tags)"] = (
    lambda: make_web_set(np.array([1, 0, 1]), ["dog", "sky", "cat"], ["dog"]),
    ValueError,
    r"tags must be a 2-d \(n_photos, n_tags\) 0/1 matrix.*shape \(3,\)",
)
ACCEPTED["LSH.fit(X * 1e300): only means and projections, no squares"] = (
    lambda: LSHHasher(n_bits=8, random_state=0).fit(X * 1e300).transform(X * 1e300),
    lambda codes: len(np.unique(codes, axis=0)) > 10,
)


@pytest.fixture(scope="module", autouse=True)
def fake_files(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("bad_inputs")
    FILES["missing"] = str(root / "missing")
    FILES["output"] = str(root / "output")
    FILES["cache"] = str(root / "cache")
    (root / "empty_dir").mkdir()
    FILES["empty_dir"] = str(root / "empty_dir")
    good = root / "good.jpg"
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(good)
    FILES["good.jpg"] = str(good)
    data = good.read_bytes()
    for name, content in [
        ("empty.jpg", b""),
        ("truncated.jpg", data[: len(data) // 2]),
        ("corrupt.jpg", b"\xff\xd8\xff" + b"not a jpeg" * 20),
    ]:
        (root / name).write_bytes(content)
        FILES[name] = str(root / name)
    for name, car in [("mir_bad_line", "1\n2\nabc\n"), ("mir_empty", "")]:
        home = root / name
        (home / "mirflickr").mkdir(parents=True)
        (home / "annotations").mkdir()
        for i in (1, 2, 3):
            (home / "mirflickr" / f"im{i}.jpg").write_bytes(data)
        for concept in MIRFLICKR_CONCEPTS:
            (home / "annotations" / f"{concept}.txt").write_text("1\n2\n")
        (home / "annotations" / "car.txt").write_text(car)
        FILES[name] = str(home)
    for name, rows in [
        ("cifar_short", "train/cat/0000.jpg,cat,cat,cat,cat,cat,cat\ntrain/dog/0000.jpg,dog\n"),
        (
            "cifar_bad_class",
            "train/cat/0000.jpg,cat,cat,zebra,cat,cat,cat\ntrain/dog/0000.jpg,dog,dog,dog,dog,dog,dog\n",
        ),
        ("cifar_no_csv", None),
    ]:
        home = root / name
        for split in ("train", "test"):
            for cls in ("cat", "dog"):
                (home / split / cls).mkdir(parents=True)
                (home / split / cls / "0000.jpg").write_bytes(data)
        if rows is not None:
            (home / "train_human_labels.csv").write_text(
                "path,clean,aggre,worse,random1,random2,random3\n" + rows
            )
        FILES[name] = str(home)
    yield


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_a_clear_error(case):
    call, error, match = BAD[case]
    if issubclass(error, Warning):
        with pytest.warns(error, match=match):
            call()
        return
    with pytest.raises(error, match=match) as info:
        call()
    # never a bare error from deep inside a dependency
    assert type(info.value) not in (KeyError, IndexError, AttributeError), info.value


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_documented_edge_case_gives_the_correct_result(case):
    call, check = ACCEPTED[case]
    assert check(call())


def test_the_table_is_large_and_its_cases_distinct():
    assert len(BAD) >= 150
    assert len({id(call) for call, _, _ in BAD.values()}) == len(BAD)


def test_every_estimator_still_clones():
    # the cases above build estimators with bad parameters: construction never validates
    assert clone(LSHHasher(n_bits=7)).n_bits == 7
    assert os.path.isdir(FILES["empty_dir"])


def test_cli_too_few_queries_for_the_galleries_is_a_usage_error():
    """Issue 19: ``--n-queries 1`` exits 2 naming the option and the smallest value (5)."""
    with pytest.raises(UsageExit, match=r"--n-queries: n_queries=1 .*at least 5") as info:
        cli("--n-queries", "1", "--methods", "LSH", "--bits", "16")
    assert "Traceback" not in str(info.value)
    assert cli("--n-queries", "5", "--methods", "LSH", "--bits", "16") == 0  # the smallest works
