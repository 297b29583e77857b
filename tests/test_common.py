"""scikit-learn's estimator checks on every skhash hasher."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skhash import (
    AGHHasher,
    BiHalfHasher,
    CCAITQHasher,
    CSQHasher,
    DPSHHasher,
    DSHHasher,
    DSTDHHasher,
    GreedyHashHasher,
    HashNetHasher,
    ITQHasher,
    LSHHasher,
    OrthoHashHasher,
    PCAHasher,
    SDHHasher,
    SGHHasher,
    SHHasher,
    SpHHasher,
    SSDHHasher,
)

ESTIMATORS = [
    LSHHasher(n_bits=8, random_state=0),
    PCAHasher(n_bits=8, random_state=0),
    ITQHasher(n_bits=8, n_iter=5, random_state=0),
    # small graphs and few iterations keep the checks fast; DSTDH's ITQ start
    # adds random PCA-space directions when there are fewer features than bits
    DSTDHHasher(
        n_bits=8,
        n_anchors=8,
        n_hyperedges=10,
        max_iter=10,
        itq_iter=5,
        max_epochs=3,
        random_state=0,
    ),
    SHHasher(n_bits=8, random_state=0),
    AGHHasher(n_bits=8, n_anchors=20, random_state=0),
    SGHHasher(n_bits=8, n_anchors=20, random_state=0),
    SpHHasher(n_bits=8, max_iter=20, random_state=0),
    CCAITQHasher(n_bits=8, n_iter=5, random_state=0),
    SDHHasher(n_bits=8, n_anchors=20, max_iter=2, random_state=0),
    # two epochs on the checks' small data; a hidden layer exercises the MLP
    SSDHHasher(n_bits=8, max_epochs=2, hidden_sizes=(8,), device="cpu", random_state=0),
    GreedyHashHasher(n_bits=8, max_epochs=2, device="cpu", random_state=0),
    BiHalfHasher(n_bits=8, max_epochs=2, device="cpu", random_state=0),
    # the supervised deep hashers: two epochs; a hidden layer on one of them
    DPSHHasher(n_bits=8, max_epochs=2, hidden_sizes=(8,), device="cpu", random_state=0),
    HashNetHasher(n_bits=8, max_epochs=2, device="cpu", random_state=0),
    DSHHasher(n_bits=8, max_epochs=2, device="cpu", random_state=0),
    CSQHasher(n_bits=8, max_epochs=2, device="cpu", random_state=0),
    OrthoHashHasher(n_bits=8, max_epochs=2, device="cpu", random_state=0),
]

# PCA-based hashers project on n_bits principal directions, so they need at
# least n_bits (>= 8) features; these checks fit on 2 to 5 features and the
# hasher rightly raises "n_bits=8 must not exceed ... n_features = 3". The
# behaviours they check (pickling, NaN/inf, dtypes, n_features_in_, ...) are
# the base class's, exercised through LSHHasher above and on wide data in
# tests/test_estimators.py.
_NEEDS_N_FEATURES_GE_N_BITS = (
    "check_dict_unchanged check_dont_overwrite_parameters check_estimators_dtypes "
    "check_estimators_fit_returns_self check_estimators_nan_inf "
    "check_estimators_overwrite_params check_estimators_pickle "
    "check_f_contiguous_array_estimator check_fit2d_predict1d check_fit_check_is_fitted "
    "check_fit_idempotent check_fit_score_takes_y check_methods_sample_order_invariance "
    "check_methods_subset_invariance check_n_features_in check_n_features_in_after_fitting "
    "check_pipeline_consistency check_positive_only_tag_during_fit "
    "check_readonly_memmap_input check_transformer_data_not_an_array check_transformer_general"
).split()


# CCA gives at most rank(centred y) = n_classes - 1 directions, and these checks
# fit on y with 2 to 4 classes: CCAITQHasher rightly raises "n_bits=8 exceeds
# the 1 canonical directions CCA can give". The same behaviours are tested on
# data with enough classes in tests/test_cca_itq.py (pickle, idempotence,
# subset invariance, NaN/inf, dtypes, n_features_in_, clone).
_NEEDS_N_CLASSES_GT_N_BITS = sorted(
    set(_NEEDS_N_FEATURES_GE_N_BITS)
    | {"check_dtype_object", "check_fit_score_takes_y", "check_fit2d_predict1d"}
)

# AGH gives at most (number of anchors - 1) eigenfunctions; these checks fit on
# 10 samples, or on one feature (few distinct anchors), so the anchor graph has
# fewer than n_bits = 8 nontrivial eigenvalues and AGHHasher rightly raises
# "the anchor graph has 7 nontrivial eigenvalues, fewer than the 8
# eigenfunctions n_bits needs". NaN/inf rejection is tested in tests/test_agh.py.
_AGH_TOO_FEW_SAMPLES = {
    "check_estimators_nan_inf": "fits on 10 samples: fewer than 8 nontrivial eigenvalues",
    "check_fit2d_1feature": "one feature: fewer than 8 nontrivial eigenvalues, and the "
    "error names the eigenvalues, not 'n_features = 1'",
}


# These checks fit on features drawn around loc=100 with unit spread, or on a single
# feature. DSTDH's network takes the features as they are (no centring), so after a
# few epochs every training sample gets the same code, and the fit rightly raises
# DivergedFitError ("collapsed ... scale them"), where it used to return one code for
# all. Pickling, idempotence and n_features_in_ are checked on scaled data in
# tests/test_dstdh.py and tests/test_torch_plumbing.py.
_UNCENTRED_COLLAPSE = (
    "features at loc=100 (or one feature) without scaling: every sample gets one code and "
    "the fit raises DivergedFitError (collapsed), as it should"
)
UNCENTRED_COLLAPSE_CHECKS = {
    "DSTDHHasher": (
        "check_fit2d_1feature check_fit_idempotent check_fit_check_is_fitted check_n_features_in"
    ).split(),
}


def expected_failed_checks(estimator):
    if type(estimator).__name__ in UNCENTRED_COLLAPSE_CHECKS:
        return dict.fromkeys(
            UNCENTRED_COLLAPSE_CHECKS[type(estimator).__name__], _UNCENTRED_COLLAPSE
        )
    if isinstance(estimator, (PCAHasher, ITQHasher)):
        reason = "needs n_features >= n_bits = 8; the check's data has fewer features"
        return dict.fromkeys(_NEEDS_N_FEATURES_GE_N_BITS, reason)
    if isinstance(estimator, CCAITQHasher):
        reason = "needs n_classes - 1 >= n_bits = 8; the check's y has 2 to 4 classes"
        return dict.fromkeys(_NEEDS_N_CLASSES_GT_N_BITS, reason)
    if isinstance(estimator, AGHHasher):
        return _AGH_TOO_FEW_SAMPLES
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
