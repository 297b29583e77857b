"""The benchmark's HTML report; moved to :mod:`skhash.benchmark.report`.

This module keeps the imports that name it working: ``from skhash.report
import write_report`` is ``from skhash.benchmark.report import write_report``.
"""

from .benchmark.report import gallery_results, write_report

__all__ = ["gallery_results", "write_report"]
