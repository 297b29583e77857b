"""The benchmark's messages: progress lines on stderr and usage errors naming an option."""

import sys

__all__ = ["UsageError", "log"]


def log(verbose: int, message: str) -> None:
    """Print ``message`` on stderr if ``verbose``, above any progress bar (through tqdm)."""
    if verbose:
        from tqdm.auto import tqdm

        tqdm.write(message, file=sys.stderr)


class UsageError(ValueError):
    """A bad value of a benchmark option, found once the data are known.

    ``flag`` is the command-line option (``"--n-queries"``); the message names
    the parameter of :func:`skhash.benchmark.run` (``n_queries=...``). The
    command line reports it as a usage error (exit status 2) naming the option,
    before any fitting.

    Examples
    --------
    >>> from skhash.benchmark import UsageError
    >>> error = UsageError("--n-queries", "n_queries=1 must be at least 5")
    >>> error.flag, str(error)
    ('--n-queries', 'n_queries=1 must be at least 5')
    """

    def __init__(self, flag: str, message: str) -> None:
        super().__init__(message)
        self.flag = flag
