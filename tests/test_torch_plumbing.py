"""Tests of the deep hashers' shared torch plumbing (skhash/estimators/_torch.py).

Data sets, batches and splits; and, for every deep hasher, what the plumbing gives it:
skorch callbacks and a validation split, divergence and collapse errors, checks of NaN
projections and of float32's range, progress output, untouched global random state, and
model selection that agrees between one and two jobs within the thread-count tolerance.
"""

import re

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _reproducibility import seed_tolerance
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Checkpoint, EarlyStopping, LRScheduler, ProgressBar

from skhash.estimators._torch import ArrayDataset, Batches, ValidationSplit, torch_rng
from skhash.estimators.bihalf import BiHalfHasher
from skhash.estimators.dstdh import DSTDHHasher
from skhash.estimators.greedyhash import GreedyHashHasher
from skhash.estimators.lsh import LSHHasher
from skhash.estimators.ssdh import SSDHHasher
from skhash.estimators.wsih import WebSet, WSIHHasher
from skhash.exceptions import ConstantBitsWarning, DivergedFitError
from skhash.metrics import map_scorer


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    n_threads = torch.get_num_threads()
    yield
    torch.set_num_threads(n_threads)


def _data(n=120, n_features=16, n_concepts=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(n_concepts, n_features))
    y = rng.integers(n_concepts, size=n)
    return centres[y] + rng.normal(size=(n, n_features)), y


X, Y = _data(seed=1)
X_WEB, Y_WEB = _data(seed=0)


def wsih(**params):
    defaults = dict(n_bits=8, web_set=WebSet(X_WEB, Y_WEB), stage1_epochs=2, stage2_epochs=2)
    return WSIHHasher(**{**defaults, "device": "cpu", "random_state": 0, **params})


def dstdh(**params):
    defaults = dict(n_bits=8, n_anchors=8, max_iter=5, itq_iter=5, max_epochs=2)
    return DSTDHHasher(**{**defaults, "device": "cpu", "random_state": 0, **params})


def _feature_net(cls):
    def make(**params):
        defaults = dict(n_bits=8, max_epochs=2, batch_size=32, device="cpu", random_state=0)
        return cls(**{**defaults, **params})

    return make


ssdh, greedyhash, bihalf = map(_feature_net, (SSDHHasher, GreedyHashHasher, BiHalfHasher))

# Every deep hasher, with how its (last) net's epochs and learning rate are named.
DEEP = {
    "WSIH": (wsih, "stage2_epochs", "stage2_lr"),
    "DSTDH": (dstdh, "max_epochs", "lr"),
    "SSDH": (ssdh, "max_epochs", "lr"),
    "GreedyHash": (greedyhash, "max_epochs", "lr"),
    "BiHalf": (bihalf, "max_epochs", "lr"),
}


@pytest.fixture(params=sorted(DEEP))
def deep(request):
    return DEEP[request.param]


# -- data, batches, split -----------------------------------------------------------------
def test_array_dataset_batches_and_subset():
    Xa = np.arange(20, dtype=np.float64).reshape(10, 2)
    tags = sp.csr_matrix(np.eye(10)[:, :4])
    ds = ArrayDataset(Xa, np.arange(10), tags=tags)
    inputs, y = ds.batch(torch.tensor([3, 1]))
    assert inputs["X"].dtype == torch.float32 and y.dtype == torch.int64
    np.testing.assert_array_equal(inputs["X"].numpy(), Xa[[3, 1]])
    np.testing.assert_array_equal(inputs["tags"].numpy(), np.eye(10)[[3, 1], :4])
    assert ArrayDataset(Xa, Xa).y.dtype == torch.float32
    # y=None: the targets are the inputs
    Xb, yb = ArrayDataset(Xa).batch(slice(2, 5))
    assert torch.equal(Xb, yb) and len(Xb) == 3
    sub = ds.subset([7, 2])
    assert len(sub) == 2 and sub.y.tolist() == [7, 2]
    np.testing.assert_array_equal(sub.batch(slice(None))[0]["tags"].numpy(), np.eye(10)[[7, 2], :4])
    # read-only inputs (memmaps, joblib's shared arrays) are copied, not rejected
    frozen = Xa.copy()
    frozen.flags.writeable = False
    assert ArrayDataset(frozen).X.shape == (10, 2)


def test_batches_unshuffled_draw_nothing_and_shuffled_are_seeded():
    ds = ArrayDataset(np.arange(129, dtype=np.float64)[:, None])
    state = torch.random.get_rng_state()
    rows = torch.cat([Xb for Xb, _ in Batches(ds, 50)])
    assert torch.equal(torch.random.get_rng_state(), state)
    assert rows[:, 0].tolist() == list(range(129))
    with torch_rng(3):
        first = [Xb[:, 0].tolist() for Xb, _ in Batches(ds, 64, shuffle=True)]
    with torch_rng(3):
        again = [Xb[:, 0].tolist() for Xb, _ in Batches(ds, 64, shuffle=True)]
    assert first == again and torch.equal(torch.random.get_rng_state(), state)
    # a shuffled epoch drops a last batch of one sample (batch norm needs two) ...
    assert [len(b) for b in first] == [64, 64]
    assert sorted(sum(first, [])) != list(range(129))
    # ... but not when every batch has one sample
    with torch_rng(0):
        assert len(list(Batches(ds, 1, shuffle=True))) == 129


def test_validation_split_is_seeded_disjoint_and_checked():
    ds = ArrayDataset(np.arange(40, dtype=np.float64)[:, None])
    train, valid = ValidationSplit(0.25, seed=0)(ds)
    train2, valid2 = ValidationSplit(0.25, seed=0)(ds)
    assert len(valid) == 10 and len(train) == 30
    assert torch.equal(valid.X, valid2.X) and torch.equal(train.X, train2.X)
    both = torch.cat([train.X, valid.X])[:, 0].sort().values
    assert both.tolist() == list(range(40))
    _, valid3 = ValidationSplit(0.25, seed=1)(ds)
    assert not torch.equal(valid.X, valid3.X)
    with pytest.raises(ValueError, match="validation_fraction=0.99"):
        ValidationSplit(0.99, seed=0)(ds)


# -- callbacks and validation split, every deep hasher -----------------------------------
def _stop_epoch(valid_losses, patience, threshold):
    """The epoch at which skorch's EarlyStopping (relative threshold) stops, or None."""
    best, misses = np.inf, 0
    for epoch, loss in enumerate(valid_losses, start=1):
        if loss < best * (1 - threshold):
            best, misses = loss, 0
        else:
            misses += 1
        if misses == patience:
            return epoch
    return None


def test_early_stopping_stops_on_the_validation_loss(deep):
    make, epochs, _ = deep
    stopper = EarlyStopping(patience=2, threshold=0.05)
    hasher = make(**{epochs: 60}, callbacks=[stopper], validation_fraction=0.25).fit(X)
    history = hasher.net_.history
    valid = history[:, "valid_loss"]
    assert len(history) < 60
    assert _stop_epoch(valid, patience=2, threshold=0.05) == len(history)
    assert stopper.dynamic_threshold_ is None  # the user's callback is copied, not trained
    assert hasher.transform(X).shape == (len(X), 1)


def test_wsih_stage1_callbacks_and_split_apply_to_stage_1():
    hasher = wsih(
        stage1_epochs=60,
        stage1_callbacks=[EarlyStopping(patience=2, threshold=0.05)],
        validation_fraction=0.25,
    ).fit(X)
    history = hasher.stage1_history_
    assert len(history) < 60
    assert _stop_epoch(history[:, "valid_loss"], 2, 0.05) == len(history)
    assert len(hasher.net_.history) == 2  # no stage-2 callback: all its epochs
    assert "valid_loss" in hasher.net_.history[-1]


def test_lr_scheduler_changes_the_learning_rate(deep):
    make, epochs, lr = deep
    base = make(**{epochs: 4, lr: 0.01})
    scheduled = make(
        **{epochs: 4, lr: 0.01}, callbacks=[LRScheduler(policy="StepLR", step_size=1, gamma=0.5)]
    ).fit(X)
    assert scheduled.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5**4)
    assert not np.array_equal(scheduled.project(X), base.fit(X).project(X))
    assert base.net_.optimizer_.param_groups[0]["lr"] == 0.01


def test_checkpoint_and_progress_bar(deep, tmp_path, capsys):
    make, epochs, _ = deep
    callbacks = [Checkpoint(dirname=str(tmp_path)), ProgressBar()]
    make(**{epochs: 3}, callbacks=callbacks, validation_fraction=0.2).fit(X)
    assert (tmp_path / "params.pt").is_file() and (tmp_path / "history.json").is_file()
    assert "it/s" in capsys.readouterr().err  # skorch's bar over the batches


def test_validation_fraction_too_large_names_the_parameter(deep):
    make, _, _ = deep
    with pytest.raises(ValueError, match="validation_fraction"):
        make(validation_fraction=0.995).fit(X)
    with pytest.raises(ValueError, match="validation_fraction"):
        make(validation_fraction=1.5).fit(X)


# -- divergence, NaN projections, float32 range -----------------------------------------------
@pytest.mark.parametrize(
    "make, params, named",
    [
        (wsih, dict(stage1_lr=1e30, stage2_lr=1e30), "stage1_lr"),
        (wsih, dict(stage2_lr=1e30), "stage2_lr"),
        (wsih, dict(stage1_lr=1e300), "stage1_lr"),
        (wsih, dict(classification_weight=1e39), "classification_weight"),
        (
            wsih,
            dict(parameter_transfer=False, prototype_attention=False, reconstruction_weight=1e39),
            "reconstruction_weight",
        ),
        (dstdh, dict(optimizer="sgd", lr=1e30, hidden_layer_sizes=(32,)), "lr (1e+30)"),
        (dstdh, dict(optimizer="sgd", lr=1e300), "lr (1e+300)"),
        (dstdh, dict(optimizer="sgd", lr=1e-3, optimizer_params={"momentum": 1e300}), "momentum"),
        (ssdh, dict(lr=1e300), "lr"),
        (greedyhash, dict(lr=1e300), "lr"),
        (bihalf, dict(lr=1e300), "lr"),
    ],
)
def test_diverging_fit_raises_naming_the_parameters(make, params, named):
    with pytest.raises(DivergedFitError, match=re.escape(named)) as info:
        make(**params).fit(X)
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)
    # which of the two a far too large learning rate causes depends on the processor
    assert "diverged" in str(info.value) or "collapsed" in str(info.value)


@pytest.mark.parametrize("name", sorted(DEEP))
def test_collapsed_codes_raise_naming_the_parameters(name, monkeypatch):
    """Whatever the processor: a network whose output ignores its input (as after every
    unit died) gives every sample one code, and a fit ending so raises."""
    make, epochs, _ = DEEP[name]
    hasher = make(**{epochs: 1})
    fitted_project = type(hasher)._project

    def constant(self, X):
        out = fitted_project(self, X)
        return np.broadcast_to(out[:1], out.shape).copy()

    monkeypatch.setattr(type(hasher), "_project", constant)
    with pytest.raises(DivergedFitError, match="collapsed: every one of the 120 training") as info:
        hasher.fit(X)
    assert "Lower " in str(info.value) and "lr" in str(info.value)


def test_a_constant_bit_warns():
    hasher = ssdh(max_epochs=1)
    fitted_project = SSDHHasher._project

    def one_bit_constant(self, X):
        out = fitted_project(self, X)
        out[:, 3] = -1.0
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SSDHHasher, "_project", one_bit_constant)
        with pytest.warns(ConstantBitsWarning, match=r"1 of the 8 bits \(3\) are the same.*lr"):
            hasher.fit(X)


@pytest.mark.parametrize(
    "weight, what", [(2e19, "grew to 2e+19"), (float("inf"), "became non-finite")]
)
def test_weights_beyond_float32_products_count_as_diverged(weight, what):
    """A weight whose products overflow float32 is caught after the epoch, whether or not the
    loss showed an inf (a saturated tanh can hide it, depending on the processor)."""
    hasher = ssdh(max_epochs=1)
    hasher.device_ = "cpu"
    net = hasher._make_net(
        torch.nn.Linear, torch.nn.MSELoss, seed=0, lr=0.1, max_epochs=1, batch_size=8,
        divergence_hint="lr (0.1)", module__in_features=2, module__out_features=1,
    )  # fmt: skip
    net.initialize()
    with torch.no_grad():
        net.module_.weight[0, 1] = weight
    net.history.new_epoch()
    pattern = f"diverged in epoch 1: the network's weights {re.escape(what)}.*Lower lr"
    with pytest.raises(DivergedFitError, match=pattern):
        dict(net.callbacks_)["finite_check"].on_epoch_end(net)
    with torch.no_grad():
        net.module_.weight[0, 1] = 1e19  # large, but its products stay finite
    dict(net.callbacks_)["finite_check"].on_epoch_end(net)


def test_identical_training_samples_collapse_on_any_processor(deep):
    """Samples equal in float32 get equal codes from any network: a real fit that collapses
    the same way on every machine."""
    make, epochs, _ = deep
    X_same = np.repeat(X[:1], 40, axis=0)
    with pytest.raises(DivergedFitError, match="collapsed: every one of the 40 training"):
        make(**{epochs: 1}).fit(X_same)


def test_nan_projection_raises_instead_of_coding(deep):
    make, _, _ = deep
    hasher = make().fit(X)
    with torch.no_grad():
        next(hasher.net_.module_.parameters()).fill_(float("nan"))
    for method in (hasher.transform, hasher.transform_pm1, hasher.project):
        with pytest.raises(ValueError, match="NaN or infinite"):
            method(X)


def test_features_beyond_float32_range_are_rejected(deep):
    make, _, _ = deep
    huge = X.copy()
    huge[3, 2] = 1e39  # finite in float64, inf in float32
    with pytest.raises(ValueError, match=r"Input X .*float32"):
        make().fit(huge)
    hasher = make().fit(X)
    with pytest.raises(ValueError, match=r"Input X .*float32"):
        hasher.transform(huge)
    # float64 hashers compute in float64: the same features are fine there
    assert LSHHasher(n_bits=8, random_state=0).fit(huge).transform(huge).shape == (len(X), 1)


def test_web_set_beyond_float32_range_is_rejected():
    Xw = X_WEB.copy()
    Xw[0, 0] = -1e39
    with pytest.raises(ValueError, match="web_set X"):
        wsih(web_set=WebSet(Xw, Y_WEB)).fit(X)


# -- output and global state ------------------------------------------------------------------
def test_verbose_output_has_no_colour_codes_and_a_progress_bar(deep, capsys):
    make, _, _ = deep
    make(verbose=1, validation_fraction=0.2).fit(X)
    out, err = capsys.readouterr()
    assert "valid_loss" in out and "\x1b[" not in out  # captured stdout is not a terminal
    assert "epoch" in err and "%" in err  # tqdm's bar over the epochs
    make(verbose=0, validation_fraction=0.2).fit(X)
    assert capsys.readouterr() == ("", "")


def test_dstdh_verbose_explains_the_objective(capsys):
    dstdh(verbose=1).fit(X)
    out, err = capsys.readouterr()
    assert "Lagrangian-like" in out and "not divergence" in out
    assert "DSTDH solver" in err


def test_transform_and_project_leave_global_random_state_alone(deep):
    make, _, _ = deep
    hasher = make().fit(X)
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()[1].copy()  # noqa: NPY002
    hasher.transform(X)
    hasher.project(X)
    hasher.transform_pm1(X)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)  # noqa: NPY002


@pytest.mark.slow
def test_grid_search_agrees_with_one_and_two_jobs(deep):
    """What the reproducibility page promises: the same candidates and folds, scores equal
    within what random states change, the same pick when the candidates are further apart.

    Two jobs run each fit in a worker with fewer threads than the parent, so its float32
    sums may be ordered differently (see tests/_reproducibility.py)."""
    make, _, lr = deep
    grid = {lr: [1e-3, 3e-2]}

    def search(n_jobs, random_state=0):
        found = GridSearchCV(
            make(random_state=random_state), grid, scoring=map_scorer, cv=2, n_jobs=n_jobs
        ).fit(X, Y)
        return found.best_params_, found.cv_results_["mean_test_score"]

    best_1, scores_1 = search(1)
    best_2, scores_2 = search(2)
    tolerance = seed_tolerance([scores_1] + [search(1, seed)[1] for seed in (1, 2)])
    assert np.all(np.abs(scores_1 - scores_2) <= tolerance), (scores_1, scores_2, tolerance)
    if abs(scores_1[0] - scores_1[1]) > 2 * tolerance.max():
        assert best_1 == best_2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_fit_with_callbacks_and_split(deep):
    make, epochs, lr = deep
    cuda_state = torch.cuda.get_rng_state()
    hasher = make(
        device="cuda",
        validation_fraction=0.2,
        callbacks=[LRScheduler(policy="StepLR", step_size=1, gamma=0.5)],
        **{epochs: 3},
    ).fit(X)
    assert hasher.device_.startswith("cuda")
    assert "valid_loss" in hasher.net_.history[-1]
    assert hasher.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(
        hasher.get_params()[lr] * 0.5**3
    )
    codes = hasher.transform(X)
    assert codes.shape == (len(X), 1)
    assert torch.equal(torch.cuda.get_rng_state(), cuda_state)
    cpu = make(validation_fraction=0.2, **{epochs: 3}).fit(X)
    # same seeds, other kernels: most bits agree
    assert (codes == cpu.transform(X)).mean() > 0.5


def test_pickle_round_trip_with_callbacks_and_split(deep):
    import pickle

    make, epochs, _ = deep
    hasher = make(
        **{epochs: 3},
        validation_fraction=0.2,
        callbacks=[EarlyStopping(patience=5), LRScheduler(policy="StepLR", step_size=1)],
    ).fit(X)
    restored = pickle.loads(pickle.dumps(hasher))
    np.testing.assert_array_equal(restored.transform(X), hasher.transform(X))
    assert restored.net_.history[-1, "valid_loss"] == hasher.net_.history[-1, "valid_loss"]
