"""Compare skhash's hashers in the DSTDH and WSIH papers' settings (docs/results/claims.rst).

The same as ``python -m skhash compare``; see :mod:`skhash.benchmark.compare`. Resumable:
results go to a JSON file (``--results``) as they are measured, and a rerun fits
only what is missing (new methods of the registry, new seeds or code lengths).

Run from the repository root, in the background (the full run takes hours on 2 cores)::

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD nohup python benchmarks/compare_methods.py \\
        --mirflickr-home ../shared/data/mirflickr25k --cifar10-home ../shared/data/cifar10 \\
        --results benchmarks/compare_results.json > compare.log 2>&1 &
    PYTHONPATH=$PWD python benchmarks/compare_methods.py --table-only \\
        --results benchmarks/compare_results.json
"""

import sys

from skhash.__main__ import main

if __name__ == "__main__":
    sys.exit(main(["compare", *sys.argv[1:]]))
