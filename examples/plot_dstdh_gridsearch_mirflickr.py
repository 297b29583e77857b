"""
=====================================================================
DSTDH on MIRFlickr photos: routing user tags through a grid search
=====================================================================

:class:`~skhash.DSTDHHasher` learns binary codes from image features *and*
the noisy tags their owners gave the photos; at query time it hashes a photo
from its pixels alone. The tags are a side input of ``fit`` with one row per
photo, so in cross-validation they must be split along with the photos. This
is what scikit-learn's metadata routing does: the hasher declares that its
``fit`` wants ``tags`` with ``set_fit_request(tags=True)``, and
:class:`~sklearn.pipeline.Pipeline` and
:class:`~sklearn.model_selection.GridSearchCV` pass each fold its rows.

The example goes from photo files to a tuned hasher:

1. a pipeline ``ImageFeatureExtractor -> StandardScaler -> DSTDHHasher``
   fitted on photo paths and their tags;
2. a grid search of DSTDH's graph weights with an mAP scorer, on cached
   features;
3. the retrieval mAP of the selected hasher on held-out queries, against ITQ.

It reads the MIRFlickr-25K folder of ``SKHASH_DATA_HOME`` (by default the
``shared/data`` folder beside the repository). With ``SKHASH_EXAMPLE_SMALL=1``
it uses a few hundred photos and runs in well under a minute; the full run
uses the usual protocol (2,000 queries, 5,000 training photos) and takes
10 to 20 minutes on two CPU cores once the features are cached (``python -m
skhash --dataset mirflickr25k`` fills the same cache).
"""

# %%
# The data
# --------
# :func:`~skhash.datasets.load_mirflickr25k` returns the photo paths, the
# 24-concept label matrix (ground truth, for evaluation only) and the user
# tags as a sparse matrix over a 1,386-tag vocabulary.
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import sklearn
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skhash import DSTDHHasher, ITQHasher, unpack_codes
from skhash.datasets import load_mirflickr25k
from skhash.features import ImageFeatureExtractor, cached_features
from skhash.metrics import make_hashing_scorer, mean_average_precision
from skhash.plotting import RetrievalPrecisionRecallDisplay

SMALL = os.environ.get("SKHASH_EXAMPLE_SMALL") == "1"


def find_data_home():
    """``$SKHASH_DATA_HOME``, else ``shared/data`` beside the repository."""
    if os.environ.get("SKHASH_DATA_HOME"):
        return Path(os.environ["SKHASH_DATA_HOME"])
    try:
        candidates = [Path(__file__).resolve().parents[2] / "shared" / "data"]
    except NameError:  # no __file__: run interactively
        candidates = []
    candidates += [Path.cwd().parent / "shared" / "data", Path.cwd() / "shared" / "data"]
    return next((path for path in candidates if path.is_dir()), candidates[0])


mirflickr_home = find_data_home() / "mirflickr25k"
if not mirflickr_home.is_dir():
    print(
        f"MIRFlickr-25K not found in {mirflickr_home}: set SKHASH_DATA_HOME to the folder "
        "holding mirflickr25k/ (see https://press.liacs.nl/mirflickr/). Nothing to do."
    )
    sys.exit(0)

data = load_mirflickr25k(mirflickr_home)
tags, labels = data.tags, data.labels
print(f"{len(data.paths)} photos, {tags.shape[1]} tags, {labels.shape[1]} concepts")

# %%
# From photo files to codes: one pipeline
# ---------------------------------------
# :class:`~skhash.features.ImageFeatureExtractor` (a pretrained
# EfficientNet-Lite0, from a wheel: nothing is downloaded) is the first step
# of the pipeline, so the pipeline takes photo paths. With metadata routing
# enabled, ``Pipeline.fit(paths, tags=...)`` gives the tags to the step that
# requested them. The training set here is a handful of photos, and only the
# tags that at least two of them share are kept: DSTDH's cost grows with the
# cube of the number of tags, and a tag used once relates no photos. The tags
# are not needed to hash new photos.
sklearn.set_config(enable_metadata_routing=True)

n_demo = 32 if SMALL else 300
image_size = 64 if SMALL else 128
pipeline = Pipeline(
    [
        ("features", ImageFeatureExtractor(image_size=image_size)),
        ("scale", StandardScaler()),
        (
            "hash",
            DSTDHHasher(
                n_bits=16, n_anchors=8, n_hyperedges=16, max_epochs=10, random_state=0
            ).set_fit_request(tags=True),
        ),
    ]
)
demo_tags = tags[:n_demo]
demo_tags = demo_tags[:, np.flatnonzero(demo_tags.getnnz(axis=0) >= 2)]
pipeline.fit(data.paths[:n_demo], tags=demo_tags)
new_photos = data.paths[n_demo : n_demo + 3]
print("codes of three new photos:")
print(unpack_codes(pipeline.transform(new_photos), encoding="01"))

# %%
# Features once, for the search
# -----------------------------
# The extractor is not trained: the features of a photo do not depend on the
# fold. Computing them once, rather than in every fit of the search, gives
# the same results much faster; :func:`~skhash.features.cached_features`
# also stores them on disk (``$SKHASH_CACHE_DIR``, else ``~/.cache/skhash``),
# so a second run reads them back.
n_photos = 400 if SMALL else len(data.paths)
X = cached_features(data.paths[:n_photos], image_size=image_size)

rng = np.random.RandomState(0)
order = rng.permutation(n_photos)
n_queries = 100 if SMALL else 2000
query, database = order[:n_queries], order[n_queries:]
n_train = 200 if SMALL else 5000
train = np.sort(rng.choice(database, size=n_train, replace=False))
train_tags = tags[train]
train_tags = train_tags[:, np.flatnonzero(train_tags.getnnz(axis=0) >= 2)]
print(f"{len(query)} queries, {len(database)} database photos, {len(train)} training photos")
print(f"{train_tags.shape[1]} tags used by at least two training photos")

# %%
# Grid search with routed tags
# ----------------------------
# :func:`~skhash.metrics.make_hashing_scorer` builds the scorer: it hashes a
# validation fold and ranks it against itself (leave-one-out), with the
# concept labels ``y`` as ground truth. ``GridSearchCV.fit(X, y, tags=...)``
# routes the rows of the sparse tag matrix of each training fold to the
# hasher. The search is over the weights of DSTDH's two graphs: ``alpha``
# (visual anchor graph) and ``beta`` (image-tag hypergraph).
hasher = DSTDHHasher(
    n_bits=32,
    n_anchors=20 if SMALL else 100,
    n_hyperedges=40 if SMALL else 500,
    max_epochs=10 if SMALL else 30,
    random_state=0,
).set_fit_request(tags=True)
search = GridSearchCV(
    Pipeline([("scale", StandardScaler()), ("hash", hasher)]),
    param_grid={"hash__alpha": [0.03, 0.3], "hash__beta": [0.005, 0.05]},
    scoring=make_hashing_scorer("mean_average_precision"),
    cv=2 if SMALL else 3,
)
search.fit(X[train], labels[train], tags=train_tags)
print("best parameters:", search.best_params_)
print(f"best cross-validated mAP: {search.best_score_:.4f}")
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True
):
    print(f"  {params}: {score:.4f}")

# %%
# The cross-validated mAP of each candidate, on the grid of the two weights.
alphas = search.param_grid["hash__alpha"]
betas = search.param_grid["hash__beta"]
grid_scores = np.empty((len(alphas), len(betas)))
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True
):
    grid_scores[alphas.index(params["hash__alpha"]), betas.index(params["hash__beta"])] = score
fig_grid, ax = plt.subplots(figsize=(4.6, 3.8))
image = ax.imshow(grid_scores, cmap="viridis", origin="lower")
ax.set_xticks(range(len(betas)), [str(b) for b in betas])
ax.set_yticks(range(len(alphas)), [str(a) for a in alphas])
ax.set_xlabel("beta (image-tag hypergraph)")
ax.set_ylabel("alpha (visual anchor graph)")
for (i, j), score in np.ndenumerate(grid_scores):
    ax.text(j, i, f"{score:.3f}", ha="center", va="center", color="white")
fig_grid.colorbar(image, ax=ax, label="cross-validated mAP")
ax.set_title("DSTDH grid search")
fig_grid.tight_layout()

# %%
# Retrieval with the selected hasher
# ----------------------------------
# ``search`` is refitted on all the training photos with the best parameters.
# The held-out queries are ranked against the database, and the mAP is
# compared with ITQ fitted on the same features without tags.
itq = Pipeline([("scale", StandardScaler()), ("hash", ITQHasher(n_bits=32, random_state=0))])
itq.fit(X[train])
fig_pr, ax = plt.subplots(figsize=(5, 4.2))
for name, model in [("DSTDH (tuned)", search.best_estimator_), ("ITQ", itq)]:
    args = (
        model.transform(X[query]),
        labels[query],
        model.transform(X[database]),
        labels[database],
    )
    score = mean_average_precision(*args)
    print(f"{name:14s} mAP {score:.4f}")
    RetrievalPrecisionRecallDisplay.from_codes(*args, name=f"{name}, mAP {score:.3f}", ax=ax)

# %%
# The precision-recall curves of the held-out queries over the Hamming ranking.
fig_pr.tight_layout()
sklearn.set_config(enable_metadata_routing=False)

if plt.get_backend().lower() == "agg":
    output = Path(os.environ.get("SKHASH_EXAMPLE_OUTPUT", "."))
    fig_grid.savefig(output / "dstdh_gridsearch.png", dpi=100)
    fig_pr.savefig(output / "dstdh_precision_recall.png", dpi=100)
    print(f"saved dstdh_gridsearch.png and dstdh_precision_recall.png in {output}")
else:
    plt.show()
