"""
=====================================================
Early stopping of a deep hasher on a validation split
=====================================================

The deep hashers (:class:`~skhash.estimators.wsih.WSIHHasher`,
:class:`~skhash.estimators.dstdh.DSTDHHasher`) train skorch networks, and pass
two parameters to them:

- ``validation_fraction`` holds a random fraction of the training rows out of
  training (drawn with ``random_state``); the network's loss on them is
  recorded each epoch as ``valid_loss`` in ``net_.history``;
- ``callbacks`` is a list of skorch callbacks given to the network:
  :class:`~skorch.callbacks.EarlyStopping`, :class:`~skorch.callbacks.Checkpoint`,
  :class:`~skorch.callbacks.LRScheduler`, :class:`~skorch.callbacks.ProgressBar`,
  your own. They are copied at fit, so the objects you pass stay as they
  were; the fitted ones are in ``net_.callbacks_``.

Here :class:`~skhash.estimators.dstdh.DSTDHHasher`'s hash network (an MLP
regressing the codes found by DSTDH's discrete solver) is given up to 200
epochs and stopped once its validation loss has not improved by 1% for 10
epochs, with the weights of the best epoch restored. WSIH takes the same two
parameters (``callbacks`` for its second stage, ``stage1_callbacks`` for its
first; ``validation_fraction`` splits both stages' training sets).
"""

# %%
# Data
# ----
# Synthetic stand-ins for CNN features: eight overlapping clusters. The
# concepts ``y`` are used for scoring only: the hasher never sees them (and
# no tags are given here: DSTDH then uses its visual part only).
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from skorch.callbacks import EarlyStopping

from skhash.estimators.dstdh import DSTDHHasher
from skhash.metrics import mean_average_precision

SMALL = os.environ.get("SKHASH_EXAMPLE_SMALL") == "1"
rng = np.random.default_rng(0)
centres = rng.normal(scale=0.35, size=(8, 64))


def sample(n):
    y = rng.integers(8, size=n)
    return centres[y] + rng.normal(size=(n, 64)), y


X, y = sample(600)
X_query, y_query = sample(100)
max_epochs = 100 if SMALL else 200

# %%
# Stopping on the validation loss
# -------------------------------
# ``validation_fraction=0.2`` keeps 120 of the 600 training rows out of the
# network's training (the discrete solver still codes all of them).
# ``EarlyStopping`` monitors ``valid_loss`` by default; an epoch counts as an
# improvement when it lowers the best validation loss by more than
# ``threshold`` (relative), and ``load_best=True`` puts back the weights of
# the best epoch when it stops.
params = dict(
    n_bits=16,
    n_anchors=20,
    hidden_layer_sizes=(256,),
    dropout=0.0,
    max_epochs=max_epochs,
    validation_fraction=0.2,
    random_state=0,
)
stopper = EarlyStopping(patience=10, threshold=0.01, load_best=True)
stopped = DSTDHHasher(**params, callbacks=[stopper]).fit(X)
full = DSTDHHasher(**params).fit(X)
# the fitted copy of the callback (the one passed in is left as it was)
fitted_stopper = dict(stopped.net_.callbacks_)["EarlyStopping"]
print(f"early stopping: {len(stopped.net_.history)} epochs, best {fitted_stopper.best_epoch_}")
print(f"all epochs:     {len(full.net_.history)} epochs")

for name, hasher in (("early stopping", stopped), ("all epochs", full)):
    score = mean_average_precision(hasher.transform(X_query), y_query, hasher.transform(X), y)
    print(f"{name:15s} mAP = {score:.3f}")

# %%
# The losses per epoch
# --------------------
# The full run's history shows where early stopping cut it: past the stop,
# the training loss keeps falling while the validation loss barely moves.
# The mean squared error is to the solver's {-1, +1} codes of each row.
history = full.net_.history
stop = stopped.net_.history
best_epoch = fitted_stopper.best_epoch_

fig, ax = plt.subplots(figsize=(6.4, 4))
ax.plot(history[:, "epoch"], history[:, "train_loss"], label="training loss")
ax.plot(history[:, "epoch"], history[:, "valid_loss"], label="validation loss")
ax.axvline(stop[-1, "epoch"], color="grey", linestyle="--", label="EarlyStopping stops")
ax.axvline(best_epoch, color="tab:green", linestyle=":", label="best epoch (restored)")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("mean squared error to the solver's codes")
ax.set_title("DSTDHHasher(validation_fraction=0.2, callbacks=[EarlyStopping])")
ax.legend()
fig.tight_layout()

if plt.get_backend().lower() == "agg":
    output = Path(os.environ.get("SKHASH_EXAMPLE_OUTPUT", ".")) / "early_stopping.png"
    fig.savefig(output, dpi=100)
    print(f"saved {output}")
else:
    plt.show()
