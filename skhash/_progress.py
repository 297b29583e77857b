"""Progress bars of long work (feature extraction, the benchmark command's steps)."""

import sys

__all__ = ["progress_bar"]


def progress_bar(verbose, **kwargs):
    """A tqdm progress bar on stderr; disabled (every call a no-op) at ``verbose=0``.

    Parameters
    ----------
    verbose : int or bool
        Show the bar if true.
    **kwargs
        Passed to :class:`tqdm.tqdm` (``total``, ``desc``, ``unit``, ``leave``...).

    Returns
    -------
    bar : tqdm.tqdm
        Use ``bar.update(n)``, ``bar.set_postfix_str(text)``, ``bar.close()``,
        or iterate over it when ``iterable`` is given.
    """
    from tqdm.auto import tqdm

    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(disable=not verbose, **kwargs)
