"""Retrieval metrics against the independent slow references of ``_reference.py``.

Every metric is compared to 1e-12 with a plain loop over an explicitly sorted
ranking, on randomised cases with heavy ties (few distinct codes), queries
with no relevant item, cut-offs beyond the database, 1-D int and string
labels, dense and sparse (CSR) multi-label ground truth, leave-one-out, both
distances (exact and MATLAB's saturating lookup table) and every option.
"""

import functools
import itertools
import warnings
from dataclasses import dataclass

import _reference as ref
import numba
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import UndefinedMetricWarning

from skhash import pack_codes, unpack_codes
from skhash.metrics import (
    mean_average_precision,
    precision_at_k,
    precision_recall_at_k,
    precision_recall_curve,
    precision_within_radius,
    radius_precision_recall,
    recall_at_k,
)

TOL = dict(rtol=0, atol=1e-12)


@pytest.fixture(autouse=True, scope="module")
def _serial_kernels():
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(previous)


# ----------------------------------------------------------------------------
# Randomised cases
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    seed: int
    n_bits: int
    n_query: int
    n_database: int | None  # None: leave-one-out among the queries
    labels: str  # "int", "str", "dense" or "sparse"
    distance: str = "exact"
    n_prototypes: int = 4
    flip: float = 0.04

    def __str__(self):
        return self.name


CASES = [
    Case("int-8b-db", 0, 8, 25, 70, "int"),
    Case("str-8b-loo", 1, 8, 60, None, "str"),
    Case("int-16b-loo", 2, 16, 50, None, "int", n_prototypes=6),
    Case("str-16b-db", 3, 16, 20, 90, "str"),
    Case("dense-16b-db", 4, 16, 24, 80, "dense"),
    Case("sparse-24b-db", 5, 24, 22, 75, "sparse", flip=0.08),
    Case("sparse-8b-loo", 6, 8, 55, None, "sparse"),
    Case("int-72b-db", 7, 72, 18, 100, "int", n_prototypes=3, flip=0.005),
    Case("int-8b-db-matlab", 8, 8, 25, 80, "int", distance="matlab"),
    Case("sparse-16b-loo-matlab", 9, 16, 50, None, "sparse", distance="matlab"),
    Case("str-24b-db-matlab", 10, 24, 20, 70, "str", distance="matlab", flip=0.0),
]
CASE_IDS = [c.name for c in CASES]


def _codes(rng, n, prototypes, flip):
    """Codes near a few prototypes and their complements: heavy ties, and XOR bytes of 255."""
    choice = rng.integers(0, len(prototypes), size=n)
    bits = prototypes[choice].copy()
    bits ^= rng.random(bits.shape) < flip
    return pack_codes(bits), choice


def _labels(rng, kind, choice, n_classes, lonely, lonely_offset=100):
    """Labels correlated with the prototype; ``lonely`` rows get a label nobody else has."""
    n = choice.size
    if kind in ("int", "str"):
        y = np.where(rng.random(n) < 0.7, choice % n_classes, rng.integers(0, n_classes, n))
        y = y.astype(object)
        for t, i in enumerate(np.flatnonzero(lonely)):
            y[i] = lonely_offset + t
        if kind == "str":
            return np.array([f"class-{v}" for v in y])
        return y.astype(np.int64)
    n_labels = 6
    Y = (rng.random((n, n_labels)) < 0.2).astype(np.int64)
    Y[np.arange(n), choice % n_labels] = rng.random(n) < 0.8
    Y[lonely] = 0  # no label at all: relevant to nothing
    return sp.csr_matrix(Y) if kind == "sparse" else Y


@functools.cache
def build(case):
    """The metric arguments of a case."""
    rng = np.random.default_rng(case.seed)
    prototypes = rng.random((case.n_prototypes, case.n_bits)) < 0.5
    prototypes = np.concatenate([prototypes, ~prototypes])
    n_classes = 3
    qc, qchoice = _codes(rng, case.n_query, prototypes, case.flip)
    q_lonely = rng.random(case.n_query) < 0.15
    q_lonely[:2] = True  # always some queries with no relevant item
    ql = _labels(rng, case.labels, qchoice, n_classes, q_lonely)
    if case.n_database is None:
        return dict(query_codes=qc, query_labels=ql)
    dc, dchoice = _codes(rng, case.n_database, prototypes, case.flip)
    dl = _labels(
        rng, case.labels, dchoice, n_classes, rng.random(case.n_database) < 0.1, lonely_offset=1000
    )
    if case.labels in ("int", "str"):
        # a query class absent from the database: R = 0 for those queries
        ql = ql.copy()
        ql[2] = 7 if case.labels == "int" else "class-absent"
    return dict(query_codes=qc, query_labels=ql, database_codes=dc, database_labels=dl)


@functools.cache
def reference_problem(case):
    return ref.problem(**build(case), distance=case.distance)


def n_database(case):
    return case.n_database or case.n_query - 1


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cases_are_hard(case):
    """The cases do exercise what they claim: ties, R = 0 queries, and the MATLAB quirk."""
    queries = reference_problem(case)
    n_distinct = max(len(np.unique(d)) for d, _ in queries)
    assert n_distinct < n_database(case) / 3  # heavy ties
    assert any(rel.sum() == 0 for _, rel in queries)
    assert any(rel.sum() > 0 for _, rel in queries)
    if case.distance == "matlab":
        exact = ref.problem(**build(case))
        assert any((d1 != d2).any() for (d1, _), (d2, _) in zip(queries, exact, strict=True))


# ----------------------------------------------------------------------------
# mean average precision
# ----------------------------------------------------------------------------

K_VALUES = [None, 1, 7, 10**6]


@pytest.mark.parametrize("normalize", ["relevant", "retrieved"])
@pytest.mark.parametrize("ties", ["stable", "average"])
@pytest.mark.parametrize("k", K_VALUES, ids=[f"k={k}" for k in K_VALUES])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_map_matches_reference(case, k, ties, normalize):
    for no_relevant in ("zero", "skip"):
        got = mean_average_precision(
            **build(case),
            k=k,
            ties=ties,
            normalize=normalize,
            no_relevant=no_relevant,
            distance=case.distance,
        )
        expected = ref.mean_average_precision(
            reference_problem(case), k=k, ties=ties, normalize=normalize, no_relevant=no_relevant
        )
        assert isinstance(got, float)
        np.testing.assert_allclose(got, expected, **TOL, err_msg=f"no_relevant={no_relevant}")


@pytest.mark.parametrize("case", CASES[:4], ids=CASE_IDS[:4])
def test_map_options_matter(case):
    """The cases distinguish the options: each one changes the value."""
    args = dict(**build(case), distance=case.distance)
    base = mean_average_precision(**args, ties="stable")
    assert base != mean_average_precision(**args, ties="average")
    assert base != mean_average_precision(**args, ties="stable", no_relevant="skip")
    assert mean_average_precision(**args, k=7, ties="stable") != mean_average_precision(
        **args, k=7, ties="stable", normalize="retrieved"
    )


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_map_retrieved_equals_relevant_over_whole_ranking(case):
    # over the whole ranking h_k = R, so both normalisations agree
    args = dict(**build(case), distance=case.distance)
    for ties in ("stable", "average"):
        np.testing.assert_allclose(
            mean_average_precision(**args, ties=ties, normalize="retrieved"),
            mean_average_precision(**args, ties=ties, normalize="relevant"),
            **TOL,
        )


@pytest.mark.parametrize("case", [c for c in CASES if c.n_database], ids=str)
def test_tie_aware_ignores_database_order(case):
    """Permuting the database changes the stable rule's result, never the tie-aware one."""
    args = build(case)
    perm = np.random.default_rng(0).permutation(case.n_database)
    labels = args["database_labels"]
    permuted = dict(args, database_codes=args["database_codes"][perm], database_labels=labels[perm])
    for k in (None, 5):
        np.testing.assert_allclose(
            mean_average_precision(**args, k=k),
            mean_average_precision(**permuted, k=k),
            rtol=0,
            atol=1e-12,
        )
    assert mean_average_precision(**args, ties="stable") != mean_average_precision(
        **permuted, ties="stable"
    )


# ----------------------------------------------------------------------------
# Tie-aware AP: brute force over every order of tied items on tiny cases
# ----------------------------------------------------------------------------


def tiny_case(seed):
    rng = np.random.default_rng(seed)
    n_db = int(rng.integers(4, 8))
    prototypes = rng.random((2, 8)) < 0.5
    bits = prototypes[rng.integers(0, 2, size=n_db + 3)]
    bits ^= rng.random(bits.shape) < 0.1
    codes = pack_codes(bits)
    labels = rng.integers(0, 2, size=n_db + 3)
    if seed % 3 == 0:  # leave-one-out
        return dict(query_codes=codes[: n_db + 1], query_labels=labels[: n_db + 1])
    return dict(
        query_codes=codes[:3],
        query_labels=labels[:3],
        database_codes=codes[3:],
        database_labels=labels[3:],
    )


TINY_SEEDS = list(range(24))


@pytest.mark.parametrize("seed", TINY_SEEDS)
def test_tie_aware_equals_bruteforce_over_permutations(seed):
    args = tiny_case(seed)
    queries = ref.problem(**args)
    assert max(ref.n_tie_orders(d) for d, _ in queries) <= 5040
    n_db = len(queries[0][0])
    for k, normalize in itertools.product([None, 1, 2, 3, n_db + 5], ["relevant", "retrieved"]):
        expected = ref.mean_average_precision(queries, k=k, ties="bruteforce", normalize=normalize)
        # the linearity reference used on the larger cases agrees with the enumeration
        np.testing.assert_allclose(
            ref.mean_average_precision(queries, k=k, ties="linearity", normalize=normalize),
            expected,
            **TOL,
        )
        got = mean_average_precision(**args, k=k, normalize=normalize)
        np.testing.assert_allclose(got, expected, **TOL, err_msg=f"k={k}, {normalize}")
    ks = np.arange(1, n_db + 2)
    p_ref, r_ref = ref.precision_recall_at_k(queries, ks, ties="bruteforce")
    p, r = precision_recall_at_k(**args, k=ks)
    np.testing.assert_allclose(p, p_ref, **TOL)
    np.testing.assert_allclose(r, r_ref, **TOL)


def test_some_tiny_cases_have_large_tie_groups():
    groups = [
        max(np.unique(d, return_counts=True)[1])
        for s in TINY_SEEDS
        for d, _ in ref.problem(**tiny_case(s))
    ]
    assert max(groups) >= 5


@pytest.mark.parametrize("n_bits", [8, 16])
@pytest.mark.parametrize("seed", range(3))
def test_tie_aware_equals_stable_without_ties(n_bits, seed):
    # query 0...0; database item j has a distinct number of ones: no two items tie
    rng = np.random.default_rng(seed)
    weights = rng.permutation(n_bits + 1)
    bits = np.zeros((n_bits + 1, n_bits), dtype=bool)
    for j, w in enumerate(weights):
        bits[j, rng.choice(n_bits, size=w, replace=False)] = True
    args = dict(
        query_codes=pack_codes(np.zeros((1, n_bits), dtype=bool)),
        query_labels=[1],
        database_codes=pack_codes(bits),
        database_labels=rng.integers(0, 3, n_bits + 1),
    )
    for k, normalize in itertools.product([None, 1, 4, 9], ["relevant", "retrieved"]):
        np.testing.assert_allclose(
            mean_average_precision(**args, k=k, normalize=normalize, ties="average"),
            mean_average_precision(**args, k=k, normalize=normalize, ties="stable"),
            **TOL,
        )
    ks = np.arange(1, n_bits + 2)
    np.testing.assert_allclose(
        precision_at_k(**args, k=ks, ties="average"),
        precision_at_k(**args, k=ks, ties="stable"),
        **TOL,
    )


# ----------------------------------------------------------------------------
# precision@k, recall@k, precision-recall curve
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("no_relevant", ["zero", "skip"])
@pytest.mark.parametrize("ties", ["stable", "average"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_precision_recall_at_k_array(case, ties, no_relevant):
    n = n_database(case)
    ks = np.array([3 * n, 1, 10, 5, n, n - 1, 2])  # unsorted, beyond and at the database size
    p, r = precision_recall_at_k(
        **build(case), k=ks, ties=ties, no_relevant=no_relevant, distance=case.distance
    )
    p_ref, r_ref = ref.precision_recall_at_k(
        reference_problem(case), ks, ties=ties, no_relevant=no_relevant
    )
    assert p.shape == r.shape == (len(ks),)
    np.testing.assert_allclose(p, p_ref, **TOL)
    np.testing.assert_allclose(r, r_ref, **TOL)


@pytest.mark.parametrize("k", [1, 6, 10**5])
@pytest.mark.parametrize("ties", ["stable", "average"])
@pytest.mark.parametrize("case", CASES[::2], ids=CASE_IDS[::2])
def test_precision_recall_at_scalar_k(case, ties, k):
    args = dict(**build(case), k=k, ties=ties, distance=case.distance)
    p_ref, r_ref = ref.precision_recall_at_k(reference_problem(case), [k], ties=ties)
    p, r = precision_recall_at_k(**args)
    assert isinstance(p, float) and isinstance(r, float)
    np.testing.assert_allclose([p, r], [p_ref[0], r_ref[0]], **TOL)
    assert precision_at_k(**args) == p
    assert recall_at_k(**args) == r


def test_k_beyond_database_is_whole_database():
    case = CASES[0]
    args = build(case)
    n = case.n_database
    for ties in ("stable", "average"):
        p_all, r_all = precision_recall_at_k(**args, k=n, ties=ties)
        assert precision_recall_at_k(**args, k=50 * n, ties=ties) == (p_all, r_all)
        assert mean_average_precision(**args, k=50 * n, ties=ties) == mean_average_precision(
            **args, ties=ties
        )
    # at k = N every relevant item is found: recall is the fraction of queries with R > 0
    queries = reference_problem(case)
    np.testing.assert_allclose(r_all, np.mean([rel.sum() > 0 for _, rel in queries]), **TOL)


@pytest.mark.parametrize("ties", ["stable", "average"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_precision_recall_curve(case, ties):
    n = n_database(case)
    queries = reference_problem(case)
    p, r, ks = precision_recall_curve(**build(case), ties=ties, distance=case.distance)
    # default cut-offs: increasing, from 1 to the database size
    assert ks[0] == 1 and ks[-1] == n and np.all(np.diff(ks) > 0) and len(ks) <= 100
    p_ref, r_ref = ref.precision_recall_at_k(queries, ks, ties=ties)
    np.testing.assert_allclose(p, p_ref, **TOL)
    np.testing.assert_allclose(r, r_ref, **TOL)
    explicit = np.array([2, 4 * n, 9])
    p, r, ks = precision_recall_curve(
        **build(case), k=explicit, ties=ties, distance=case.distance, no_relevant="skip"
    )
    np.testing.assert_array_equal(ks, np.minimum(explicit, n))
    p_ref, r_ref = ref.precision_recall_at_k(queries, explicit, ties=ties, no_relevant="skip")
    np.testing.assert_allclose(p, p_ref, **TOL)
    np.testing.assert_allclose(r, r_ref, **TOL)


# ----------------------------------------------------------------------------
# Hash lookup: radius precision / recall, precision within a radius
# ----------------------------------------------------------------------------

RADIUS_OPTIONS = [
    ("pairs", "zero", "zero"),
    ("queries", "zero", "zero"),
    ("queries", "skip", "zero"),
    ("queries", "zero", "skip"),
    ("queries", "skip", "skip"),
]


@pytest.mark.parametrize(
    "average, empty, no_relevant", RADIUS_OPTIONS, ids=["-".join(o) for o in RADIUS_OPTIONS]
)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_radius_precision_recall(case, average, empty, no_relevant):
    p, r = radius_precision_recall(
        **build(case), average=average, empty=empty, no_relevant=no_relevant, distance=case.distance
    )
    p_ref, r_ref = ref.radius_precision_recall(
        reference_problem(case), case.n_bits, average=average, empty=empty, no_relevant=no_relevant
    )
    assert p.shape == r.shape == (case.n_bits + 1,)
    np.testing.assert_allclose(p, p_ref, **TOL)
    np.testing.assert_allclose(r, r_ref, **TOL)


def test_radius_options_matter():
    case = CASES[1]
    args = build(case)
    p_zero, r_zero = radius_precision_recall(**args, average="queries")
    p_skip, _ = radius_precision_recall(**args, average="queries", empty="skip")
    _, r_skip = radius_precision_recall(**args, average="queries", no_relevant="skip")
    assert (p_skip > p_zero).any() and (r_skip > r_zero).any()
    p_pairs, _ = radius_precision_recall(**args)
    assert not np.allclose(p_pairs, p_zero)


@pytest.mark.parametrize("empty", ["zero", "skip"])
@pytest.mark.parametrize("radius", ["0", "2", "n_bits"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_precision_within_radius(case, radius, empty):
    radius = case.n_bits if radius == "n_bits" else int(radius)
    got = precision_within_radius(**build(case), radius=radius, empty=empty, distance=case.distance)
    expected = ref.precision_within_radius(reference_problem(case), radius, empty=empty)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, expected, **TOL)


# ----------------------------------------------------------------------------
# Hand-computed values
# ----------------------------------------------------------------------------

Q8 = pack_codes(np.ones((1, 8)))


def test_hand_doc_example():
    # query 11111111; database: d=0 relevant, d=1 not, d=8 relevant -> ranking rel, not, rel
    # AP = (1/2) (1/1 + 2/3) = 5/6; P@2 = 1/2, R@2 = 1/2; AP@2 by h_2 = (1/1) / 1 = 1
    db = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8])
    assert mean_average_precision(Q8, [0], db, [0, 1, 0]) == pytest.approx(5 / 6, abs=1e-15)
    assert mean_average_precision(Q8, [0], db, [0, 1, 0], k=2, normalize="retrieved") == 1.0
    # AP@2 by R = (1/1) / 2
    assert mean_average_precision(Q8, [0], db, [0, 1, 0], k=2) == 0.5
    assert precision_recall_at_k(Q8, [0], db, [0, 1, 0], k=2) == (0.5, 0.5)


def test_hand_ties():
    # query 00000000; database: [0x01 (d=1, irrelevant), 0x02 (d=1, relevant), 0x00 (d=0, irr.)]
    q = np.zeros((1, 1), dtype=np.uint8)
    db = np.array([[1], [2], [0]], dtype=np.uint8)
    y_db = ["b", "a", "b"]
    # stable ranking: 0x00, 0x01, 0x02 -> relevant at rank 3: AP = 1/3
    assert mean_average_precision(q, ["a"], db, y_db, ties="stable") == pytest.approx(1 / 3)
    # tie-aware: the d=1 pair is in either order; relevant at rank 2 or 3: (1/2 + 1/3) / 2 = 5/12
    assert mean_average_precision(q, ["a"], db, y_db) == pytest.approx(5 / 12, abs=1e-15)
    # top 2, tie-aware: E[sum] = P(rel at rank 2) * 1/2 = 1/4, E[h_2] = 1/2
    #   normalised by R = 1: 1/4; by E[h_2]: (1/4) / (1/2) = 1/2
    assert mean_average_precision(q, ["a"], db, y_db, k=2) == pytest.approx(1 / 4, abs=1e-15)
    assert mean_average_precision(q, ["a"], db, y_db, k=2, normalize="retrieved") == pytest.approx(
        1 / 2, abs=1e-15
    )
    # stable, top 2: 0x00, 0x01 are both irrelevant: h_2 = 0 -> AP 0 under both normalisations
    assert (
        mean_average_precision(q, ["a"], db, y_db, k=2, ties="stable", normalize="retrieved") == 0.0
    )
    # precision@2: stable 0/2; tie-aware E[h_2] / 2 = 1/4
    assert precision_at_k(q, ["a"], db, y_db, k=2, ties="stable") == 0.0
    assert precision_at_k(q, ["a"], db, y_db, k=2) == pytest.approx(1 / 4, abs=1e-15)


def test_hand_no_relevant_policies():
    # two queries: one finds its only relevant item first (AP 1), one has no relevant item
    db = pack_codes([[1] * 8, [-1] * 8])
    q = pack_codes([[1] * 8, [1] * 8])
    y_q, y_db = [0, 5], [0, 1]
    assert mean_average_precision(q, y_q, db, y_db) == 0.5  # (1 + 0) / 2
    assert mean_average_precision(q, y_q, db, y_db, no_relevant="skip") == 1.0  # 1 / 1
    # recall@1: (1 + 0) / 2 or 1 / 1; precision@1: (1 + 0) / 2 or 1 / 1
    assert precision_recall_at_k(q, y_q, db, y_db, k=1) == (0.5, 0.5)
    assert precision_recall_at_k(q, y_q, db, y_db, k=1, no_relevant="skip") == (1.0, 1.0)


def test_hand_multilabel_sparse():
    # labels {0,1}, {1}, {2}, {}: query {0,1} is relevant to {1} only (shared label 1)
    Y = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]))
    codes = pack_codes([[1] * 8, [-1] * 8, [1] * 7 + [-1], [1] * 6 + [-1] * 2])
    # leave-one-out; query 0 (11111111) ranks item 2 (d=1), item 3 (d=2), item 1 (d=8):
    # relevant at rank 3 -> AP = 1/3. Query 1 ({1}) ranks 3 (d=6), 2 (d=7), 0 (d=8):
    # relevant at rank 3 -> 1/3. Queries 2 ({2}) and 3 ({}) have no relevant item -> 0.
    assert mean_average_precision(codes, Y, ties="stable") == pytest.approx((1 / 3 + 1 / 3) / 4)
    assert mean_average_precision(codes, Y, no_relevant="skip") == pytest.approx(1 / 3)


def test_hand_radius_pairs():
    # query A = 11111111 (label 0) vs database d = 0 (rel), 1 (irr), 8 (rel)
    # query B = 00000000 (label 1) vs the same database: d = 8 (irr), 7 (rel), 0 (irr)
    db = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8])
    q = pack_codes([[1] * 8, [-1] * 8])
    p, r = radius_precision_recall(q, [0, 1], db, [0, 1, 0])
    # radius 0: pairs (A, item0 rel), (B, item2 irr) -> precision 1/2; relevant pairs 3 -> 1/3
    # radius 1: adds (A, item1 irr) -> 1/3, recall 1/3
    # radius 7: adds (B, item1 rel) -> 2/4, recall 2/3;  radius 8: everything, 3/6, recall 1
    np.testing.assert_allclose(p[[0, 1, 7, 8]], [1 / 2, 1 / 3, 2 / 4, 3 / 6], **TOL)
    np.testing.assert_allclose(r[[0, 1, 7, 8]], [1 / 3, 1 / 3, 2 / 3, 1.0], **TOL)
    # per query at radius 1: A 1/2, B 0/1 -> 1/4; recall A 1/2, B 0 -> 1/4
    p, r = radius_precision_recall(q, [0, 1], db, [0, 1, 0], average="queries")
    np.testing.assert_allclose([p[1], r[1]], [1 / 4, 1 / 4], **TOL)
    assert precision_within_radius(q, [0, 1], db, [0, 1, 0], radius=1) == pytest.approx(1 / 4)


def test_hand_precision_within_radius_empty():
    # query 11111111 vs database at d = 3 and d = 5: nothing within radius 2
    db = pack_codes([[1] * 5 + [-1] * 3, [1] * 3 + [-1] * 5])
    q = pack_codes([[1] * 8, [1] * 5 + [-1] * 3])
    # query 2 sees item 0 at d = 0 (relevant) and item 1 at d = 2 (irrelevant) -> 1/2
    y_q, y_db = [0, 0], [0, 1]
    assert precision_within_radius(q, y_q, db, y_db) == pytest.approx(1 / 4)  # (0 + 1/2) / 2
    assert precision_within_radius(q, y_q, db, y_db, empty="skip") == pytest.approx(1 / 2)


def test_hand_matlab_distance():
    # query 0x00 0x00; item 0 = 0x7F 0x01 (relevant), item 1 = 0xFF 0x00 (irrelevant).
    # exact distances 7 + 1 = 8 and 8: tie, stable keeps item 0 first -> AP = 1.
    # MATLAB table: 0xFF counts 7, so item 1 (7) comes before item 0 (8) -> AP = 1/2.
    q = np.zeros((1, 2), dtype=np.uint8)
    db = np.array([[0x7F, 0x01], [0xFF, 0x00]], dtype=np.uint8)
    assert mean_average_precision(q, [1], db, [1, 0], ties="stable") == 1.0
    assert mean_average_precision(q, [1], db, [1, 0], ties="stable", distance="matlab") == 0.5
    # radius 7 holds item 1 only under the MATLAB distance
    p, _ = radius_precision_recall(q, [1], db, [1, 0], distance="matlab")
    assert p[7] == 0.0 and p[8] == 0.5
    np.testing.assert_array_equal(ref.hamming_matlab(q, db), [[8, 7]])


def test_all_queries_skipped_warns():
    q = pack_codes(np.ones((2, 8)))
    with pytest.warns(UndefinedMetricWarning):
        assert mean_average_precision(q, [3, 4], q, [0, 1], no_relevant="skip") == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mean_average_precision(q, [3, 4], q, [0, 1]) == 0.0


# ----------------------------------------------------------------------------
# Literature protocols, transcribed from their evaluation code
# ----------------------------------------------------------------------------


def _protocol_data(seed, n_query, n_db, n_bits, multilabel):
    rng = np.random.default_rng(seed)
    prototypes = rng.random((6, n_bits)) < 0.5
    prototypes = np.concatenate([prototypes, ~prototypes])
    q_pm1 = np.where(
        prototypes[rng.integers(0, 12, n_query)] ^ (rng.random((n_query, n_bits)) < 0.15), 1, -1
    )
    db_pick = rng.integers(0, 12, n_db)
    db_pm1 = np.where(prototypes[db_pick] ^ (rng.random((n_db, n_bits)) < 0.15), 1, -1)
    if multilabel:
        q_lab = (rng.random((n_query, 8)) < 0.15).astype(int)
        db_lab = (rng.random((n_db, 8)) < 0.15).astype(int)
        q_lab[:3] = 0
    else:
        q_lab = np.eye(10, dtype=int)[rng.integers(0, 9, n_query)]  # one-hot, class 9 absent
        q_lab[:3] = np.eye(10, dtype=int)[9]
        db_lab = np.eye(10, dtype=int)[rng.integers(0, 9, n_db)]
    return q_pm1, q_lab, db_pm1, db_lab


def _compactbit(b):
    """MATLAB ``compactbit``: 0/1 bits into uint8 words, least significant bit first."""
    n_bytes = b.shape[1] // 8
    cb = np.zeros((b.shape[0], n_bytes), dtype=np.uint8)
    for j in range(b.shape[1]):
        w = j // 8
        cb[:, w] = cb[:, w] | (b[:, j].astype(np.uint8) << np.uint8(j % 8))
    return cb


def _matlab_hamming_dist(B1, B2):
    """MATLAB ``hammingDist``: BitCnt(xor + 1) with saturating uint8 arithmetic."""
    bit_cnt = np.array([bin(v).count("1") for v in range(256)])  # BitCnt(1..256)
    xor = B1[:, None, :] ^ B2[None, :, :]
    index_1based = np.minimum(xor.astype(np.int64) + 1, 255)  # uint8(x) + 1 saturates at 255
    return bit_cnt[index_1based - 1].sum(axis=2)


def test_protocol_dstdh():
    """DSTDH: MATLAB sort (stable), AP normalised by R, R = 0 counts 0, MATLAB distance."""
    q_pm1, q_lab, db_pm1, db_lab = _protocol_data(0, 30, 300, 16, multilabel=True)
    hamm = _matlab_hamming_dist(_compactbit(q_pm1 > 0), _compactbit(db_pm1 > 0))
    S = (q_lab @ db_lab.T > 0).astype(int)
    ap = np.zeros(len(q_pm1))
    p_at = {k: np.zeros(len(q_pm1)) for k in (50, 100, 200)}
    for i in range(len(q_pm1)):
        idx = np.argsort(hamm[i], kind="stable")  # [~, idx] = sort(hamm(i, :))
        gnd = S[i, idx]
        R = gnd.sum()
        for k in p_at:
            p_at[k][i] = gnd[:k].sum() / k
        if R == 0:
            continue  # ap(i) stays 0 and is still averaged
        pos = np.flatnonzero(gnd) + 1
        ap[i] = np.mean(np.arange(1, R + 1) / pos)
    args = (pack_codes(q_pm1), q_lab, pack_codes(db_pm1), db_lab)
    params = dict(ties="stable", no_relevant="zero", distance="matlab")
    assert (S.sum(axis=1) == 0).any()
    np.testing.assert_allclose(
        mean_average_precision(*args, normalize="relevant", **params), ap.mean(), **TOL
    )
    np.testing.assert_allclose(
        precision_at_k(*args, k=list(p_at), **params), [v.mean() for v in p_at.values()], **TOL
    )
    # hash-lookup precision / recall, pairs over all queries together
    p, r = radius_precision_recall(*args, average="pairs", distance="matlab")
    for d in range(17):
        within = hamm <= d
        n_pairs = within.sum()
        # MATLAB gives NaN (0/0) where no pair is within d; skhash gives 0
        expected_p = (within & (S == 1)).sum() / n_pairs if n_pairs else 0.0
        np.testing.assert_allclose(p[d], expected_p, **TOL)
        np.testing.assert_allclose(r[d], (within & (S == 1)).sum() / S.sum(), **TOL)


def test_protocol_wsih_map_at_1000():
    """WSIH fast_PR_MAP: mAP@1000 normalised by h_k, skip R = 0, h_k = 0 counts 0, MATLAB."""
    q_pm1, q_lab, db_pm1, db_lab = _protocol_data(1, 40, 1300, 16, multilabel=False)
    hamm = _matlab_hamming_dist(_compactbit(q_pm1 > 0), _compactbit(db_pm1 > 0))
    S = (q_lab @ db_lab.T > 0).astype(int)
    topk = 1000
    ks = np.arange(50, 1001, 50)
    aps, precisions, recalls = [], [], []
    for i in range(len(q_pm1)):
        idx = np.argsort(hamm[i], kind="stable")
        gnd = S[i, idx]
        if gnd.sum() == 0:
            continue  # queries without any relevant item are left out
        tgnd = gnd[:topk]
        h = tgnd.sum()
        aps.append(np.mean(np.arange(1, h + 1) / (np.flatnonzero(tgnd) + 1)) if h else 0.0)
        precisions.append([gnd[:k].sum() / k for k in ks])
        recalls.append([gnd[:k].sum() / gnd.sum() for k in ks])
    args = (pack_codes(q_pm1), q_lab, pack_codes(db_pm1), db_lab)
    params = dict(ties="stable", no_relevant="skip", distance="matlab")
    got = mean_average_precision(*args, k=1000, normalize="retrieved", **params)
    np.testing.assert_allclose(got, np.mean(aps), **TOL)
    p, r = precision_recall_at_k(*args, k=ks, **params)
    np.testing.assert_allclose(p, np.mean(precisions, axis=0), **TOL)
    np.testing.assert_allclose(r, np.mean(recalls, axis=0), **TOL)
    assert len(aps) < len(q_pm1)  # some queries were skipped


@pytest.mark.parametrize("topk", [100, 600])
def test_protocol_deephash_pytorch_calc_top_map(topk):
    """DeepHash-pytorch CalcTopMap with a stable argsort."""
    q_pm1, q_lab, db_pm1, db_lab = _protocol_data(2, 40, 600, 32, multilabel=True)

    def calc_hamming_dist(B1, B2):
        q = B2.shape[1]
        return 0.5 * (q - np.dot(B1, B2.transpose()))

    def calc_top_map(rB, qB, retrievalL, queryL, topk):
        num_query = queryL.shape[0]
        topkmap = 0
        for it in range(num_query):
            gnd = (np.dot(queryL[it, :], retrievalL.transpose()) > 0).astype(np.float32)
            hamm = calc_hamming_dist(qB[it, :], rB)
            ind = np.argsort(hamm, kind="stable")
            gnd = gnd[ind]
            tgnd = gnd[0:topk]
            tsum = np.sum(tgnd).astype(int)
            if tsum == 0:
                continue
            count = np.linspace(1, tsum, tsum)
            tindex = np.asarray(np.where(tgnd == 1)) + 1.0
            topkmap_ = np.mean(count / (tindex))
            topkmap = topkmap + topkmap_
        topkmap = topkmap / num_query
        return topkmap

    expected = calc_top_map(db_pm1, q_pm1, db_lab, q_lab, topk)
    got = mean_average_precision(
        pack_codes(q_pm1),
        q_lab,
        pack_codes(db_pm1),
        db_lab,
        k=topk,
        ties="stable",
        normalize="retrieved",
        no_relevant="zero",
    )
    np.testing.assert_allclose(got, expected, **TOL)


def test_parallel_equals_serial():
    """The parallel kernels (all threads) give exactly what one thread gives."""
    rng = np.random.default_rng(5)
    prototypes = rng.random((6, 24)) < 0.5
    codes = pack_codes(prototypes[rng.integers(0, 6, 1500)] ^ (rng.random((1500, 24)) < 0.1))
    labels = sp.csr_matrix(rng.random((1500, 30)) < 0.05)
    calls = [
        lambda: mean_average_precision(codes, labels, ties="stable", k=100),
        lambda: mean_average_precision(codes, labels, distance="matlab"),
        lambda: precision_recall_at_k(
            codes[:200], labels[:200], codes, labels, k=[5, 50], ties="stable"
        ),
        lambda: radius_precision_recall(codes[:300], labels[:300], codes, labels),
    ]
    serial = [c() for c in calls]
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    try:
        assert numba.get_num_threads() >= 2 or numba.config.NUMBA_NUM_THREADS == 1
        parallel = [c() for c in calls]
    finally:
        numba.set_num_threads(1)
    for s_value, p_value in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(
            np.asarray(s_value, dtype=object).tolist(), np.asarray(p_value, dtype=object).tolist()
        )


# ----------------------------------------------------------------------------
# Input validation
# ----------------------------------------------------------------------------

_Q = pack_codes(np.random.default_rng(0).integers(0, 2, (5, 16)))
_DB = pack_codes(np.random.default_rng(1).integers(0, 2, (6, 16)))
_YQ = np.array([0, 1, 0, 2, 1])
_YDB = np.array([1, 1, 0, 2, 0, 0])
GOOD = dict(query_codes=_Q, query_labels=_YQ, database_codes=_DB, database_labels=_YDB)

BAD_INPUTS = {
    "float-codes": (dict(query_codes=_Q.astype(float)), TypeError, "query_codes"),
    "unpacked-pm1-codes": (dict(database_codes=unpack_codes(_DB)), TypeError, "database_codes"),
    "1d-codes": (dict(query_codes=_Q[0]), ValueError, "query_codes"),
    "3d-codes": (dict(database_codes=_DB[None]), ValueError, "database_codes"),
    "sparse-codes": (dict(query_codes=sp.csr_matrix(_Q)), TypeError, "query_codes"),
    "empty-queries": (dict(query_codes=_Q[:0], query_labels=_YQ[:0]), ValueError, "query_codes"),
    "empty-database": (
        dict(database_codes=_DB[:0], database_labels=_YDB[:0]),
        ValueError,
        "database_codes",
    ),
    "widths": (dict(database_codes=_DB[:, :1]), ValueError, "database_codes"),
    "query-label-rows": (dict(query_labels=_YQ[:4]), ValueError, "query_labels"),
    "database-label-rows": (dict(database_labels=_YDB[1:]), ValueError, "database_labels"),
    "nan-labels": (dict(query_labels=np.array([0, np.nan, 1, 1, 0])), ValueError, "query_labels"),
    "inf-labels": (
        dict(database_labels=np.array([0, 1, np.inf, 1, 0, 0])),
        ValueError,
        "database_labels",
    ),
    "3d-labels": (dict(query_labels=np.zeros((5, 2, 2))), ValueError, "query_labels"),
    "no-labels": (dict(query_labels=None), ValueError, "query_labels"),
    "labels-no-codes": (dict(database_codes=None), ValueError, "database_labels"),
    "non-binary-indicator": (
        dict(query_labels=np.full((5, 3), 2), database_labels=np.ones((6, 3))),
        ValueError,
        "query_labels",
    ),
    "non-binary-sparse": (
        dict(query_labels=sp.csr_matrix(np.full((5, 3), 2)), database_labels=np.ones((6, 3))),
        ValueError,
        "query_labels",
    ),
    "1d-vs-2d-labels": (dict(database_labels=np.ones((6, 3))), ValueError, "database_labels"),
    "label-columns": (
        dict(query_labels=np.ones((5, 2)), database_labels=np.ones((6, 3))),
        ValueError,
        "label columns",
    ),
    "distance": (dict(distance="hamming"), ValueError, "distance"),
}


@pytest.mark.parametrize(
    "metric",
    [
        mean_average_precision,
        precision_recall_curve,
        radius_precision_recall,
        precision_within_radius,
    ],
    ids=lambda f: f.__name__,
)
@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_names_the_argument(name, metric):
    change, error, match = BAD_INPUTS[name]
    with pytest.raises(error, match=match):
        metric(**{**GOOD, **change})


@pytest.mark.parametrize(
    "metric", [precision_at_k, recall_at_k, precision_recall_at_k], ids=lambda f: f.__name__
)
@pytest.mark.parametrize("name", ["float-codes", "widths", "query-label-rows", "nan-labels"])
def test_bad_input_k_metrics(name, metric):
    change, error, match = BAD_INPUTS[name]
    with pytest.raises(error, match=match):
        metric(**{**GOOD, **change}, k=3)


def test_leave_one_out_needs_two_codes():
    with pytest.raises(ValueError, match="query_codes"):
        mean_average_precision(_Q[:1], _YQ[:1])


BAD_K = [
    (0, ValueError),
    (-3, ValueError),
    ([2, 0], ValueError),
    ([], ValueError),
    ([[1, 2]], ValueError),
    (2.5, TypeError),
    ("5", TypeError),
    (True, TypeError),
    (np.nan, TypeError),
]


@pytest.mark.parametrize("k, error", BAD_K, ids=[repr(k) for k, _ in BAD_K])
@pytest.mark.parametrize(
    "metric", [precision_at_k, recall_at_k, precision_recall_at_k], ids=lambda f: f.__name__
)
def test_bad_k(metric, k, error):
    with pytest.raises(error, match=r"\bk\b"):
        metric(**GOOD, k=k)


@pytest.mark.parametrize(
    "k, error",
    [(0, ValueError), (-1, ValueError), (1.5, TypeError), ([5, 10], TypeError), (True, TypeError)],
)
def test_bad_k_map(k, error):
    with pytest.raises(error, match=r"\bk\b"):
        mean_average_precision(**GOOD, k=k)


def test_bad_k_curve():
    with pytest.raises(ValueError, match=r"\bk\b"):
        precision_recall_curve(**GOOD, k=[0, 3])


BAD_OPTIONS = [
    (mean_average_precision, dict(ties="random")),
    (mean_average_precision, dict(normalize="R")),
    (mean_average_precision, dict(no_relevant="nan")),
    (precision_recall_at_k, dict(k=2, ties="first")),
    (precision_recall_at_k, dict(k=2, no_relevant=None)),
    (precision_recall_curve, dict(ties="Stable")),
    (radius_precision_recall, dict(average="micro")),
    (radius_precision_recall, dict(empty="nan")),
    (radius_precision_recall, dict(no_relevant="one")),
    (precision_within_radius, dict(empty="one")),
]


@pytest.mark.parametrize(
    "metric, option", BAD_OPTIONS, ids=[f"{f.__name__}-{list(o)[-1]}" for f, o in BAD_OPTIONS]
)
def test_bad_option_strings(metric, option):
    name = list(option)[-1]
    with pytest.raises(ValueError, match=name):
        metric(**GOOD, **option)


@pytest.mark.parametrize(
    "radius, error",
    [(-1, ValueError), (17, ValueError), (1.5, TypeError), (2.0, TypeError), (True, TypeError)],
)
def test_bad_radius(radius, error):
    with pytest.raises(error, match="radius"):
        precision_within_radius(**GOOD, radius=radius)


# ----------------------------------------------------------------------------
# Cut-offs beyond int64, column vectors of class ids, label memory
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("k", [float("inf"), 1e20, 2**63, 2**70, np.uint64(2**63)])
def test_huge_k_is_the_whole_ranking(k):
    """Such k were cast to a negative int64 and gave a wrong value."""
    whole = mean_average_precision(**GOOD, normalize="retrieved")
    assert mean_average_precision(**GOOD, k=k, normalize="retrieved") == whole
    np.testing.assert_array_equal(
        precision_recall_at_k(**GOOD, k=[k, 2]), precision_recall_at_k(**GOOD, k=[_DB.shape[0], 2])
    )
    assert precision_recall_at_k(**GOOD, k=k) == precision_recall_at_k(**GOOD, k=_DB.shape[0])


def test_column_vector_labels_are_class_ids():
    """(n, 1) labels follow scikit-learn's column-vector convention, not a one-label indicator."""
    q = pack_codes(np.ones((2, 8)))
    db = pack_codes([[1] * 8, [1] * 7 + [-1], [-1] * 8])
    # query 0 (class 0): ranks rel, not, rel -> AP (1 + 2/3) / 2; query 1 (class 1): not, rel -> 1/2
    expected = ((1 + 2 / 3) / 2 + 1 / 2) / 2
    column = mean_average_precision(q, [[0], [1]], db, [[0], [1], [0]], ties="stable")
    assert column == pytest.approx(expected)
    assert column == mean_average_precision(q, [0, 1], db, [0, 1, 0], ties="stable")
    sparse_column = sp.csr_matrix(np.array([[0], [1], [0]]))
    assert mean_average_precision(q, [0, 1], db, sparse_column, ties="stable") == column


def test_label_validation_memory_is_independent_of_the_labels():
    """np.isin over the indicator took 12x its memory (55 MiB at 200,000 x 24 int8)."""
    import tracemalloc

    from skhash.metrics._engine import _check_labels

    labels = (np.random.default_rng(0).random((100_000, 24)) < 0.1).astype(np.int8)
    tracemalloc.start()
    _check_labels(labels, "labels", labels.shape[0], "codes")
    _check_labels(labels.astype(np.float32), "labels", labels.shape[0], "codes")
    peak = tracemalloc.get_traced_memory()[1] - labels.nbytes * 4  # the float32 copy
    tracemalloc.stop()
    assert peak < 1.5 * 2**20
