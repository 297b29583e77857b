"""Tests of DSTDHHasher: contract, tags handling, skorch stage, routing and real data."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn import config_context
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from skhash.codes import unpack_codes
from skhash.estimators.dstdh import DSTDHHasher, HashMLP

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FAST = dict(n_anchors=8, n_hyperedges=10, max_iter=10, itq_iter=5, max_epochs=3)


def make_social_images(n=240, d=24, c=40, n_classes=4, seed=0):
    """Features weakly tied to a class, tags strongly tied to it (plus noise tags)."""
    rng = np.random.RandomState(seed)
    y = rng.randint(n_classes, size=n)
    centres = rng.normal(size=(n_classes, d))
    X = (0.6 * centres[y] + rng.normal(size=(n, d))).astype(np.float32)
    class_tags = np.array_split(rng.permutation(c), n_classes)
    T = np.zeros((n, c))
    for i in range(n):
        T[i, rng.choice(class_tags[y[i]], 3, replace=False)] = 1
        T[i, rng.choice(c, 1)] = 1  # a noisy tag
    T[:3] = 0  # photos without tags
    return X, y, sp.csr_matrix(T)


@pytest.fixture(scope="module")
def social():
    return make_social_images()


# -- scikit-learn contract: check_estimator runs in tests/test_common.py ------
def test_transform_returns_packed_codes_and_codes_(social):
    X, _, T = social
    params = {**FAST, "max_epochs": 60, "lr": 0.01, "dropout": 0.0}
    h = DSTDHHasher(n_bits=16, random_state=0, **params).fit(X, tags=T)
    codes = h.transform(X)
    assert codes.shape == (len(X), 2) and codes.dtype == np.uint8
    assert h.codes_.shape == (len(X), 2) and h.codes_.dtype == np.uint8
    assert set(np.unique(unpack_codes(h.codes_))) <= {-1, 1}
    assert len(h.objective_) == 1 and len(h.objective_[0]) == h.n_iter_
    assert isinstance(h.net_.module_, HashMLP)
    assert h.hyperedge_sigma_ > 0 and h.anchor_sigma_ > 0
    # the network learned its targets on the training set
    agreement = np.mean(unpack_codes(codes) == unpack_codes(h.codes_))
    assert agreement > 0.85


def test_tags_formats_give_the_same_codes(social):
    X, _, T = social
    dense = T.toarray()
    ref = DSTDHHasher(n_bits=8, random_state=0, **FAST).fit(X, tags=T).transform(X)
    for tags in (dense, dense.astype(bool), sp.csc_matrix(T), sp.coo_matrix(T), dense.tolist()):
        codes = DSTDHHasher(n_bits=8, random_state=0, **FAST).fit(X, tags=tags).transform(X)
        np.testing.assert_array_equal(codes, ref)


def test_tags_none_is_the_visual_part(social):
    X, _, T = social
    h = DSTDHHasher(n_bits=8, random_state=0, **FAST).fit(X)
    assert h.hyperedge_sigma_ is None
    with_tags = DSTDHHasher(n_bits=8, random_state=0, **FAST).fit(X, tags=T)
    assert not np.array_equal(h.codes_, with_tags.codes_)


@pytest.mark.parametrize(
    "tags, error, match",
    [
        (np.ones((5, 3)), ValueError, "tags has 5 rows but X has 240"),
        ("twos", ValueError, "tags must be binary"),
        (np.zeros((240, 0)), ValueError, "tags has 0 columns"),
        (sp.csr_matrix((240, 30)), ValueError, "tags has no nonzero entry"),
        (np.ones(240), ValueError, "tags must be a 2-D"),
    ],
)
def test_bad_tags(social, tags, error, match):
    X, _, T = social
    if isinstance(tags, str):
        tags = T * 2
    with pytest.raises(error, match=match):
        DSTDHHasher(n_bits=8, **FAST).fit(X, tags=tags)


def test_nan_inf_rejected(social):
    X, _, T = social
    for bad in (np.nan, np.inf):
        Xb = X.copy()
        Xb[0, 0] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            DSTDHHasher(n_bits=8, **FAST).fit(Xb, tags=T)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1}, "alpha"),
        ({"n_rounds": 0}, "n_rounds"),
        ({"threshold": "median"}, "threshold"),
        ({"hidden_layer_sizes": (16, 0)}, "hidden_layer_sizes"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"n_bits": 12}, "n_bits"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_parameters(social, params, match):
    X, _, T = social
    with pytest.raises(ValueError, match=match):
        DSTDHHasher(**{"n_bits": 8, **FAST, **params}).fit(X, tags=T)


def test_optimizer_must_be_a_torch_optimizer(social):
    X, _, _ = social
    with pytest.raises(TypeError, match="optimizer"):
        DSTDHHasher(n_bits=8, optimizer=dict, **FAST).fit(X)


# -- verbosity and randomness -------------------------------------------------
def test_verbose(social, capsys):
    X, _, T = social
    DSTDHHasher(n_bits=8, random_state=0, **FAST).fit(X, tags=T)
    assert capsys.readouterr() == ("", "")
    h = DSTDHHasher(n_bits=8, random_state=0, verbose=1, n_rounds=2, **FAST).fit(X, tags=T)
    out = capsys.readouterr().out
    assert out.count("ADMM iteration") == h.n_iter_
    assert "round 2/2" in out
    assert "train_loss" in out and out.count("\n") > h.n_iter_ + 2 * FAST["max_epochs"]


def test_random_state_reproducible_and_global_state_untouched(social):
    X, _, T = social
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    a = DSTDHHasher(n_bits=16, random_state=3, n_rounds=2, **FAST).fit(X, tags=T)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    b = DSTDHHasher(n_bits=16, random_state=3, n_rounds=2, **FAST).fit(X, tags=T)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    np.testing.assert_array_equal(a.codes_, b.codes_)
    c = DSTDHHasher(n_bits=16, random_state=4, n_rounds=2, **FAST).fit(X, tags=T)
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_pickle_gives_identical_codes(social):
    X, _, T = social
    h = DSTDHHasher(n_bits=16, random_state=0, threshold="mean", **FAST).fit(X, tags=T)
    h2 = pickle.loads(pickle.dumps(h))
    np.testing.assert_array_equal(h.transform(X), h2.transform(X))
    np.testing.assert_array_equal(h.project(X), h2.project(X))


def test_n_rounds_alternates(social):
    X, _, T = social
    h = DSTDHHasher(n_bits=8, random_state=0, n_rounds=3, **FAST).fit(X, tags=T)
    assert len(h.objective_) == 3
    assert h.n_iter_ == sum(len(o) for o in h.objective_)
    assert len(h.net_.history) == 3 * FAST["max_epochs"]


def test_threshold_mean_centres_training_outputs(social):
    X, _, T = social
    h = DSTDHHasher(n_bits=8, random_state=0, threshold="mean", **FAST).fit(X, tags=T)
    np.testing.assert_allclose(h.project(X).mean(axis=0), 0, atol=1e-6)
    assert DSTDHHasher(n_bits=8, **FAST).fit(X).threshold_.tolist() == [0.0] * 8


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu_codes(social):
    X, _, T = social
    gpu = DSTDHHasher(n_bits=16, device="cuda", random_state=0, **FAST).fit(X, tags=T)
    assert gpu.device_.startswith("cuda")
    assert next(gpu.net_.module_.parameters()).is_cuda
    codes = gpu.transform(X)
    assert codes.shape == (len(X), 2)
    cpu = DSTDHHasher(n_bits=16, device="cpu", random_state=0, **FAST).fit(X, tags=T)
    np.testing.assert_array_equal(gpu.codes_, cpu.codes_)  # the solver runs on the CPU
    assert np.mean(unpack_codes(codes) == unpack_codes(cpu.transform(X))) > 0.9
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(gpu)).transform(X), codes)


def test_device_auto(social):
    X, _, _ = social
    h = DSTDHHasher(n_bits=8, **FAST).fit(X)
    assert h.device_ == ("cuda" if torch.cuda.is_available() else "cpu")


# -- user modules and optimisers ------------------------------------------------
class TinyNet(nn.Module):
    def __init__(self, in_features, n_bits, width=4):
        super().__init__()
        self.width = width
        self.body = nn.Sequential(
            nn.Linear(in_features, width), nn.Tanh(), nn.Linear(width, n_bits)
        )

    def forward(self, X):
        return torch.tanh(self.body(X))


class TagAwareNet(TinyNet):
    seen_tags = []

    def forward(self, X, tags=None):
        if tags is not None:
            TagAwareNet.seen_tags.append(tags.shape)
        return super().forward(X)


def test_user_module_class_and_params(social):
    X, _, T = social
    h = DSTDHHasher(
        n_bits=8, module=TinyNet, module_params={"width": 7}, random_state=0, **FAST
    ).fit(X, tags=T)
    assert isinstance(h.net_.module_, TinyNet) and h.net_.module_.width == 7
    assert h.transform(X).shape == (len(X), 1)
    cloned = clone(h)
    assert cloned.module is TinyNet and cloned.module_params == {"width": 7}
    assert h.get_params()["module_params"] == {"width": 7}
    # default module: module_params override hidden_layer_sizes
    h = DSTDHHasher(n_bits=8, module_params={"hidden_layer_sizes": (5,)}, **FAST).fit(X)
    assert h.net_.module_.layers[0].out_features == 5


def test_user_module_instance_is_copied(social):
    X, _, _ = social
    module = TinyNet(X.shape[1], 8)
    before = [p.detach().clone() for p in module.parameters()]
    h = DSTDHHasher(n_bits=8, module=module, random_state=0, **FAST).fit(X)
    assert h.net_.module_ is not module
    for p, q in zip(before, module.parameters(), strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="module_params"):
        DSTDHHasher(n_bits=8, module=module, module_params={"width": 3}, **FAST).fit(X)


def test_module_taking_tags_gets_dense_tag_batches(social):
    X, _, T = social
    TagAwareNet.seen_tags.clear()
    h = DSTDHHasher(n_bits=8, module=TagAwareNet, batch_size=50, random_state=0, **FAST)
    h.fit(X, tags=T)
    assert TagAwareNet.seen_tags and TagAwareNet.seen_tags[0] == (50, T.shape[1])
    n_seen = len(TagAwareNet.seen_tags)
    h.transform(X)  # no tags at transform time
    assert len(TagAwareNet.seen_tags) == n_seen


def test_module_with_wrong_output_shape(social):
    X, _, _ = social
    with pytest.raises(ValueError, match="module must map"):
        DSTDHHasher(n_bits=16, module=TinyNet, module_params={"n_bits": 8}, **FAST).fit(X)
    with pytest.raises(TypeError, match="module"):
        DSTDHHasher(n_bits=8, module=dict, **FAST).fit(X)


def test_optimizers(social):
    X, _, T = social
    sgd = DSTDHHasher(
        n_bits=8,
        optimizer="sgd",
        optimizer_params={"momentum": 0.9, "weight_decay": 5e-4},
        lr=0.01,
        **FAST,
    ).fit(X, tags=T)
    opt = sgd.net_.optimizer_
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["momentum"] == 0.9
    h = DSTDHHasher(n_bits=8, optimizer=torch.optim.RMSprop, **FAST).fit(X)
    assert isinstance(h.net_.optimizer_, torch.optim.RMSprop)


def test_more_bits_than_features(social):
    X, _, T = social
    h = DSTDHHasher(n_bits=32, random_state=0, **FAST).fit(X[:, :5], tags=T)
    assert h.transform(X[:, :5]).shape == (len(X), 4)


# -- metadata routing -------------------------------------------------------------
class RecordingDSTDH(DSTDHHasher):
    """DSTDHHasher recording the tags each fit receives."""

    received = []

    def fit(self, X, y=None, tags=None):
        RecordingDSTDH.received.append(None if tags is None else sp.csr_matrix(tags))
        return super().fit(X, y, tags=tags)


def _assert_received(expected):
    got = RecordingDSTDH.received
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g is not None and g.shape == e.shape
        assert (g != sp.csr_matrix(e)).nnz == 0


def test_pipeline_legacy_fit_params(social):
    X, _, T = social
    RecordingDSTDH.received.clear()
    pipe = Pipeline([("scale", StandardScaler()), ("hash", RecordingDSTDH(n_bits=8, **FAST))])
    pipe.fit(X, hash__tags=T)
    _assert_received([T])


def _routing_pipeline(**params):
    hasher = RecordingDSTDH(**{"n_bits": 8, "random_state": 0, **FAST, **params})
    return Pipeline([("scale", StandardScaler()), ("hash", hasher.set_fit_request(tags=True))])


def test_metadata_routing_synthetic(social):
    from skhash.metrics import map_scorer

    X, y, T = social
    cv = KFold(3, shuffle=True, random_state=0)
    folds = [train for train, _ in cv.split(X)]
    with config_context(enable_metadata_routing=True):
        RecordingDSTDH.received.clear()
        _routing_pipeline().fit(X, tags=T)
        _assert_received([T])

        RecordingDSTDH.received.clear()
        res = cross_validate(
            _routing_pipeline(), X, y, cv=cv, scoring=map_scorer, params={"tags": T}
        )
        _assert_received([T[f] for f in folds])
        assert np.all(np.isfinite(res["test_score"]))

        RecordingDSTDH.received.clear()
        grid = GridSearchCV(
            _routing_pipeline(), {"hash__beta": [0.1, 1.0]}, cv=cv, scoring=map_scorer
        )
        grid.fit(X, y, tags=T)
        _assert_received([T[f] for f in folds] * 2 + [T])


# -- real data ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def mirflickr():
    """Features, labels and tags of the first 2,000 MIRFlickr photos (one cache chunk)."""
    if not (DATA / "mirflickr25k").is_dir():
        pytest.skip(f"MIRFlickr-25K not available at {DATA / 'mirflickr25k'}")
    pytest.importorskip("efficientnet_lite_pytorch")
    from skhash.datasets import load_mirflickr25k
    from skhash.features import cached_features

    mir = load_mirflickr25k(DATA / "mirflickr25k")
    n = 2000
    X = cached_features(mir.paths[:n], image_size=128)
    return X, np.asarray(mir.labels[:n]), mir.tags[:n].tocsr()


@pytest.mark.slow
def test_metadata_routing_real_data(mirflickr):
    from skhash.metrics import make_hashing_scorer

    X, labels, T = mirflickr
    X, labels, T = X[:300], labels[:300], T[:300]
    scorer = make_hashing_scorer("mean_average_precision")
    cv = KFold(3, shuffle=True, random_state=1)
    folds = [train for train, _ in cv.split(X)]
    with config_context(enable_metadata_routing=True):
        RecordingDSTDH.received.clear()
        res = cross_validate(
            _routing_pipeline(n_bits=16), X, labels, cv=cv, scoring=scorer, params={"tags": T}
        )
        _assert_received([T[f] for f in folds])
        assert np.all(res["test_score"] > 0.3)
        RecordingDSTDH.received.clear()
        grid = GridSearchCV(
            _routing_pipeline(n_bits=16), {"hash__alpha": [0.01, 0.1]}, cv=cv, scoring=scorer
        ).fit(X, labels, tags=T)
        _assert_received([T[f] for f in folds] * 2 + [T])
        assert grid.best_score_ > 0.3


@pytest.mark.slow
def test_tags_beat_itq_and_visual_part_on_mirflickr(mirflickr):
    """The issue's comparison, small: 500 queries vs 1,500 photos, 32 bits, 2 seeds."""
    from sklearn.pipeline import make_pipeline

    from skhash.estimators.itq import ITQHasher
    from skhash.metrics import mean_average_precision

    X, labels, T = mirflickr
    scores = {"ITQ": [], "DSTDH without tags": [], "DSTDH": []}
    for seed in (0, 1):
        perm = np.random.RandomState(seed).permutation(len(X))
        query, database = perm[:500], perm[500:]
        for name, hasher, tags in [
            ("ITQ", ITQHasher(32, random_state=seed), None),
            ("DSTDH without tags", DSTDHHasher(32, random_state=seed), None),
            ("DSTDH", DSTDHHasher(32, random_state=seed), T[database]),
        ]:
            pipe = make_pipeline(StandardScaler(), hasher)
            fit_params = {} if tags is None else {f"{pipe.steps[-1][0]}__tags": tags}
            pipe.fit(X[database], **fit_params)
            scores[name].append(
                mean_average_precision(
                    pipe.transform(X[query]),
                    labels[query],
                    pipe.transform(X[database]),
                    labels[database],
                )
            )
    means = {name: np.mean(s) for name, s in scores.items()}
    assert means["DSTDH"] > means["ITQ"] + 0.01, scores
    assert means["DSTDH"] > means["DSTDH without tags"] + 0.005, scores
