"""One thread budget for every thread pool of a run, restored afterwards.

A run of skhash uses up to four thread pools at once: the BLAS of numpy and
scipy (OpenBLAS or MKL), torch's OpenMP pool and numba's threading layer.
Each sizes itself to the whole machine, so on a machine with ``c`` cores
``3c`` to ``4c`` threads compete for them, and each pool's threads spin
for a while after every parallel call, waiting for the next one. On a busy
2-core machine this made the digits benchmark 10x slower in wall time (13x
in CPU time) than with one thread a pool. The library itself never changes
these settings (they are the user's); the benchmark command and scripts set
them for the length of a run with :func:`thread_limits`.
"""

import contextlib
import sys
from collections.abc import Iterator

import numba
from threadpoolctl import threadpool_limits

from .codes import numba_num_threads


@contextlib.contextmanager
def thread_limits(n_threads: int) -> Iterator[None]:
    """Run the block with at most ``n_threads`` threads in each pool, then restore them.

    Limits the BLAS and OpenMP libraries loaded in the process (through
    :func:`threadpoolctl.threadpool_limits`), torch's intra-op threads (when
    torch is imported) and numba's threads of the calling thread; every
    setting is restored on exit, also after an exception.

    Parameters
    ----------
    n_threads : int
        Threads of each pool, at least 1.
    """
    if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer, got {n_threads!r}.")
    torch = sys.modules.get("torch")
    previous_torch = torch.get_num_threads() if torch is not None else None
    previous_numba = numba_num_threads()
    with threadpool_limits(limits=n_threads):
        numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
        if torch is not None:
            torch.set_num_threads(n_threads)
        try:
            yield
        finally:
            numba.set_num_threads(previous_numba)
            if torch is not None:
                torch.set_num_threads(previous_torch)
