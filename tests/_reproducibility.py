"""The tolerance of the reproducibility promise across thread counts (docs: reproducibility).

On one machine, a thread count changes only the order in which torch's and the BLAS's
float32 sums are added. That perturbs a fit no more than a change of ``random_state`` does
(which also changes the initial weights, the batch order and the dropout masks), so the
retrieval quality at another thread count must lie within the spread that random states
give. Measured with ``random_state`` 0 to 4 on an AMD EPYC (Zen 4): the mAP's range over
seeds was 0.002 to 0.28 on the plumbing tests' toy data and 0.035 to 0.089 on digits (16
bits), and 0 to 0.065 on the 1,280-d data of tests/test_reproducibility.py (0 where every
seed reaches mAP 1.0), while 1 and 2 threads gave mAPs within 0.0006 there. The test
allows three times the range over three seeds (a fourth draw falls outside the range of
three about half of the time; for normally spread scores its distance to the first draw
exceeds three ranges in about 1% of cases or fewer), and at least ``MIN_TOLERANCE``, for
the hashers whose seeds all agree.
"""

import numpy as np

MIN_TOLERANCE = 0.02  # mAP: below this a difference means nothing on test-sized data


def seed_tolerance(scores_by_seed):
    """Largest mAP difference the thread count may cause, from scores at several seeds.

    ``scores_by_seed`` has one row per random state (one column per candidate, or a 1-d
    array); the tolerance is ``max(3 * range over the seeds, MIN_TOLERANCE)``, per column.
    """
    scores = np.asarray(scores_by_seed, dtype=float)
    return np.maximum(3 * np.ptp(scores, axis=0), MIN_TOLERANCE)
