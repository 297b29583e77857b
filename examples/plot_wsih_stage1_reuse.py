"""
==========================================================
WSIH in model selection: the web set and stage-1 reuse
==========================================================

:class:`~skhash.estimators.wsih.WSIHHasher` learns from two data sets that are
not aligned: the unlabelled *target* features ``X`` it hashes, and a weakly
labelled *web set* (features of images found by searching concept names,
labelled with the searched concept). This example shows the two design
choices that make it work inside scikit-learn's model selection:

1. The web set is a **constructor parameter** (a
   :class:`~skhash.estimators.wsih.WebSet`), not a fit parameter. scikit-learn
   slices fit parameters whose length equals ``X``'s in cross-validation; a
   constructor parameter is never sliced, whatever its size, and a
   ``WebSet`` is shared (not copied) when the hasher is cloned.
2. **Stage 1** (concept prototypes learned on the web set) depends only on the
   web set, its own parameters, ``n_bits`` and the seed, so with ``memory``
   (as in :class:`~sklearn.pipeline.Pipeline`) it is trained once and reused
   by every fit that only changes stage-2 parameters or the target data:
   every fold and every candidate of a grid search over stage-2 parameters.
"""

# %%
# Data: a web set and a target set
# --------------------------------
# Synthetic stand-ins for CNN features: three concepts, each a cluster. The
# web labels are noisy (20% are another concept) and the target images come
# unlabelled; their true concepts ``y`` are used for scoring only. The web set
# has exactly as many rows as ``X``, the case where a fit parameter would be
# silently sliced.
import os
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from skhash.estimators.wsih import WebSet, WSIHHasher
from skhash.metrics import map_scorer

rng = np.random.default_rng(0)
centres = rng.normal(scale=0.4, size=(3, 64))


def sample(n):
    y = rng.integers(3, size=n)
    return np.abs(centres[y] + rng.normal(size=(n, 64))), y


X_web, y_web = sample(300)
noisy = np.where(rng.random(300) < 0.2, rng.integers(3, size=300), y_web)
web_set = WebSet(X_web, np.array(["cat", "dog", "fox"])[noisy])
X, y = sample(300)
print(web_set, X.shape)

# %%
# The web set reaches every fold whole
# ------------------------------------
# ``cross_validate`` clones the hasher for each fold; the clones share the
# ``WebSet`` and each fold's stage 1 is trained on all 300 web images, while
# stage 2 sees only the fold's target rows.
hasher = WSIHHasher(n_bits=16, web_set=web_set, stage1_epochs=20, stage2_epochs=5, random_state=0)
result = cross_validate(hasher, X, y, cv=KFold(3), scoring=map_scorer, return_estimator=True)
for fold in result["estimator"]:
    assert fold.web_set is web_set
print("mAP per fold:", np.round(result["test_score"], 3))

# %%
# Stage 1 is trained once for a grid search over stage-2 parameters
# -----------------------------------------------------------------
# With ``memory`` and an integer ``random_state``, the first fit stores stage
# 1 (the prototype network's weights and the prototypes); the 4 candidates x
# 2 folds + refit of the search below load it back. A stage-1 parameter (or
# ``n_bits``) is part of the cache key, so changing one trains a new stage 1.
cache = tempfile.mkdtemp(prefix="wsih-")
hasher = WSIHHasher(
    n_bits=16,
    web_set=web_set,
    stage1_epochs=20,
    stage2_epochs=5,
    memory=cache,
    random_state=0,
)
grid = {"quantization_weight": [0.1, 1.0], "stage2_lr": [2e-4, 1e-3]}
start = time.perf_counter()
search = GridSearchCV(hasher, grid, cv=2, scoring=map_scorer).fit(X, y)
print(f"{len(grid['quantization_weight']) * len(grid['stage2_lr']) * 2 + 1} fits in "
      f"{time.perf_counter() - start:.1f} s; best {search.best_params_}, "
      f"mAP {search.best_score_:.3f}")  # fmt: skip


def stage1_trainings(location):
    """Stage-1 results stored in the joblib cache: one folder per training."""
    (func_dir,) = Path(location).rglob("_fit_prototype_network")
    return sum(entry.is_dir() for entry in func_dir.iterdir())


print("stage-1 trainings:", stage1_trainings(cache))

# %%
# The candidates' cross-validated mAP, and their mean fit time over the two
# folds: the first fit of the search trained stage 1 (the first candidate's
# time includes it), the other fits loaded it.
results = search.cv_results_
names = [
    f"q={params['quantization_weight']}\nlr={params['stage2_lr']}" for params in results["params"]
]
fig, (ax_score, ax_time) = plt.subplots(1, 2, figsize=(9, 3.6))
ax_score.bar(names, results["mean_test_score"], yerr=results["std_test_score"], capsize=3)
ax_score.set_ylabel("cross-validated mAP")
ax_score.set_title("Grid over stage-2 parameters")
ax_time.bar(names, results["mean_fit_time"], color="tab:orange")
ax_time.set_ylabel("mean fit time (s)")
ax_time.set_title("Stage 1 trained once, then loaded")
fig.tight_layout()

# %%
# A stage-1 parameter is a different stage 1; the target data are not.
hasher.set_params(balance_weight=0.5).fit(X)
hasher.set_params(balance_weight=0.1).fit(X[:100])
print("stage-1 trainings:", stage1_trainings(cache))

# %%
# Why not a fit parameter, or a fitted stage-1 estimator?
# -------------------------------------------------------
# - ``fit(X, web_set=...)`` would be sliced by ``cross_validate`` and
#   ``GridSearchCV`` whenever the web set has as many rows as ``X`` (and
#   needs metadata routing set up through every meta-estimator).
# - A separately fitted stage-1 estimator passed as a parameter would be
#   reset by :func:`~sklearn.base.clone` (which clones nested estimators
#   unfitted), so every fold would train it again anyway unless wrapped in
#   ``FrozenEstimator``; and its ``n_bits`` would have to be kept equal to the
#   hasher's by hand. ``memory`` keeps one estimator with flat, searchable
#   parameters, and stage 1 is still trained only once per stage-1 setting.
#
# Without a web set, WSIH with both transfers switched off
# (``parameter_transfer=False, prototype_attention=False``) is a plain
# unsupervised deep hasher: the ablation baseline of the method.
baseline = WSIHHasher(
    n_bits=16, parameter_transfer=False, prototype_attention=False, stage2_epochs=5,
    random_state=0,
).fit(X)  # fmt: skip
print("baseline codes:", baseline.transform(X[:2]))

if plt.get_backend().lower() == "agg":
    output = Path(os.environ.get("SKHASH_EXAMPLE_OUTPUT", ".")) / "wsih_stage1_reuse.png"
    fig.savefig(output, dpi=100)
    print(f"saved {output}")
else:
    plt.show()
