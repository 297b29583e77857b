"""The benchmark's results: the table, its summary over random states, metadata and files.

:class:`BenchmarkResults` is what :func:`skhash.benchmark.run` returns; its
:meth:`~BenchmarkResults.save` writes the files of a run (``FILES``) to a folder.
"""

import csv
import datetime
import json
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "COLUMNS",
    "FILES",
    "BenchmarkResults",
    "format_table",
    "output_folder",
    "run_metadata",
    "summarize",
]

#: The columns of the results table.
COLUMNS = ("method", "n_bits", "mAP", "mAP@1000", "P@1000", "P(r<=2)", "fit_s")
METRIC_COLUMNS = COLUMNS[2:]
#: The files a run writes (:meth:`BenchmarkResults.save`), with what each holds.
FILES = {
    "results.csv": "one row per method, code length and random state",
    "results.json": "the rows, their summary and the run's metadata (version, command, "
    "date, machine)",
    "precision_recall.png": "precision-recall curves, a panel per code length",
    "report.html": "table, curves and retrieved images, in one self-contained page",
}


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over random states of each (method, n_bits).

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`~skhash.benchmark.run_benchmark`, each with a
        ``random_state`` key.

    Returns
    -------
    summary : list of dict
        One row per (method, n_bits) in first-seen order, with the mean of each
        metric column, ``<column>_std`` its standard deviation over the random
        states (``ddof=0``) and ``random_states`` the states averaged.

    Examples
    --------
    >>> from skhash.benchmark import summarize
    >>> rows = [{"method": "LSH", "n_bits": 16, "mAP": m, "mAP@1000": 0, "P@1000": 0,
    ...          "P(r<=2)": 0, "fit_s": 0, "random_state": s} for s, m in [(0, 0.2), (1, 0.4)]]
    >>> row = summarize(rows)[0]
    >>> round(row["mAP"], 6), round(row["mAP_std"], 6), row["random_states"]
    (0.3, 0.1, [0, 1])
    """
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["method"], row["n_bits"]), []).append(row)
    summary = []
    for (method, n_bits), group in groups.items():
        out: dict[str, Any] = {"method": method, "n_bits": n_bits}
        for column in METRIC_COLUMNS:
            values = np.array([r[column] for r in group], dtype=float)
            out[column] = float(values.mean())
            out[f"{column}_std"] = float(values.std())
        out["random_states"] = [r.get("random_state") for r in group]
        summary.append(out)
    return summary


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a Markdown table; ``mean ± std`` cells where rows carry ``_std`` columns.

    Examples
    --------
    >>> from skhash.benchmark import format_table
    >>> print(format_table([{"method": "LSH", "n_bits": 16, "mAP": 0.5, "mAP@1000": 0.6,
    ...                      "P@1000": 0.1, "P(r<=2)": 0.2, "fit_s": 1.0}]))
    | method | n_bits | mAP | mAP@1000 | P@1000 | P(r<=2) | fit_s |
    |---|---|---|---|---|---|---|
    | LSH | 16 | 0.5000 | 0.6000 | 0.1000 | 0.2000 | 1.0 |
    """

    def cell(row: dict[str, Any], column: str, digits: int) -> str:
        text = f"{row[column]:.{digits}f}"
        if f"{column}_std" in row and len(row.get("random_states", ())) > 1:
            text += f" ± {row[f'{column}_std']:.{digits}f}"
        return text

    header = "| " + " | ".join(COLUMNS) + " |"
    lines = [header, "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        cells = [row["method"], str(row["n_bits"])]
        cells += [cell(row, c, 4) for c in METRIC_COLUMNS[:-1]]
        cells.append(cell(row, "fit_s", 1))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def output_folder(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """The folder a run writes its results to, created; never an earlier run's.

    ``path`` itself when it does not exist, is empty or ``overwrite`` is true;
    otherwise the first of ``path-2``, ``path-3``, ... that does not exist or is
    empty, so that an earlier run's results are never overwritten silently.
    Every file of a run (results, figures, the HTML report) goes to this folder.

    Parameters
    ----------
    path : str or path-like
        The folder asked for (``--output``).
    overwrite : bool, default=False
        Write into ``path`` even if it holds an earlier run's files (``--overwrite``).

    Returns
    -------
    folder : pathlib.Path
        The folder, which exists on return.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--output {path} exists and is not a folder.")
    candidate, number = path, 1
    while not overwrite and candidate.is_dir() and any(candidate.iterdir()):
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    candidate.mkdir(parents=True, exist_ok=True)
    return candidate


def run_metadata(
    random_states: Sequence[int] = (),
    *,
    arguments: dict[str, Any] | None = None,
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """What ``results.json`` records about a run, besides its results.

    Parameters
    ----------
    random_states : sequence of int
        The random states of the run.
    arguments : dict, default=None
        The run's arguments, with their defaults filled in (paths as strings).
    command : list of str, default=None
        The command line (``["python -m skhash", *arguments]``); by default
        the Python interpreter's ``sys.argv``.

    Returns
    -------
    metadata : dict
        ``skhash_version``, ``command``, ``arguments``, ``random_states``,
        ``date`` (UTC, ISO 8601) and ``machine`` (platform, Python, CPU cores,
        torch's version, device and threads).
    """
    import torch

    from .. import __version__

    return {
        "skhash_version": __version__,
        "command": list(sys.argv if command is None else command),
        "arguments": {
            key: str(value) if isinstance(value, os.PathLike) else value
            for key, value in (arguments or {}).items()
        },
        "random_states": list(random_states),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "torch_device": "cuda" if torch.cuda.is_available() else "cpu",
            "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch_threads": torch.get_num_threads(),
        },
    }


@dataclass
class BenchmarkResults:
    """The results of :func:`skhash.benchmark.run`.

    Attributes
    ----------
    rows : list of dict
        One row per (random state, method, n_bits), with the columns of
        ``COLUMNS`` and ``random_state``.
    curves : dict
        ``(method, n_bits) -> (precision, recall)`` of the first random state.
    galleries : dict
        ``(method, n_bits) ->`` the report's gallery of the first random state.
    description : str
        The dataset and protocol, in one line.
    metadata : dict
        See :func:`run_metadata`.
    skipped : list of dict
        The code lengths a method could not learn: ``method``, ``n_bits``,
        ``random_state`` and ``reason``.
    """

    rows: list[dict[str, Any]]
    curves: dict[tuple[str, int], tuple[Any, Any]] = field(default_factory=dict)
    galleries: dict[tuple[str, int], Any] = field(default_factory=dict)
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def summary(self) -> list[dict[str, Any]]:
        """The table: mean and std over the random states, see :func:`summarize`."""
        return summarize(self.rows)

    def table(self) -> str:
        """The summary as a Markdown table (:func:`format_table`)."""
        return format_table(self.summary)

    def save(self, output: str | os.PathLike[str], *, report: bool = True) -> list[Path]:
        """Write the files of ``FILES`` to the folder ``output`` (created if needed).

        ``results.json`` holds the metadata, ``dataset`` (the description),
        ``results`` (the rows, each with its fit time ``fit_s``), ``summary``
        and ``skipped``. The figure (:func:`~skhash.benchmark.figure.precision_recall_figure`)
        needs matplotlib and the report's galleries Pillow; without them they
        are left out.

        Returns
        -------
        paths : list of pathlib.Path
            The files written.
        """
        output = Path(output)
        output.mkdir(parents=True, exist_ok=True)
        with open(output / "results.csv", "w", newline="") as f:
            writer = csv.DictWriter(
                f, fieldnames=COLUMNS + ("random_state",), extrasaction="ignore"
            )
            writer.writeheader()
            writer.writerows(self.rows)
        with open(output / "results.json", "w") as f:
            json.dump(
                {
                    **self.metadata,
                    "dataset": self.description,
                    "results": self.rows,
                    "summary": self.summary,
                    "skipped": self.skipped,
                },
                f,
                indent=2,
            )
        saved = [output / "results.csv", output / "results.json"]
        figure = self._figure()
        if figure is not None:
            figure.savefig(output / "precision_recall.png", dpi=100)
            saved.append(output / "precision_recall.png")
        if report and self.rows:
            from .report import write_report

            saved.append(
                write_report(
                    output,
                    self.summary,
                    curves=self.curves,
                    galleries=self.galleries,
                    columns=COLUMNS,
                    description=self.description,
                )
            )
        return saved

    def _figure(self) -> Any:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return None
        from .figure import precision_recall_figure

        first_state = self.rows[0].get("random_state") if self.rows else None
        mean_ap = {
            (row["method"], row["n_bits"]): row["mAP"]
            for row in self.rows
            if row.get("random_state") == first_state
        }
        title = "Precision-recall over the Hamming ranking"
        if len({row.get("random_state") for row in self.rows}) > 1:
            title += f" (random state {first_state})"
        return precision_recall_figure(self.curves, mean_average_precision=mean_ap, title=title)
