"""The benchmark's precision-recall figure: one style per method, one legend, outside.

Every method keeps one style in every panel, every figure and the HTML report:
a colour of its own (its place in the registry picks it from ``PALETTE``), a
line style of its family (solid: classical unsupervised, dashed: deep
unsupervised, dash-dot: weakly supervised, dotted: supervised) and a marker of
its own within the family. No palette has fourteen colours that every reader
tells apart, so the line style and the marker carry the method too: a reader
who confuses two colours still tells the curves apart.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from .registry import FAMILIES, METHODS

__all__ = ["PALETTE", "method_styles", "precision_recall_figure"]

# Okabe & Ito's colour-blind-safe palette (its yellow last: faint on white),
# then Paul Tol's "muted", "bright" and "light" colours that differ from those.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#000000",  # black
    "#332288",  # indigo
    "#999933",  # olive
    "#882255",  # wine
    "#44AA99",  # teal
    "#DDCC77",  # sand
    "#AA4499",  # purple
    "#117733",  # green
    "#CC6677",  # rose
    "#88CCEE",  # cyan
    "#777777",  # grey
    "#661100",  # brown
    "#6699CC",  # pale blue
    "#EE6677",  # red (Tol's bright)
    "#228833",  # dark green (Tol's bright)
    "#AA3377",  # magenta (Tol's bright)
    "#EE8866",  # salmon (Tol's light)
    "#BBCC33",  # pear (Tol's light)
    "#BBBBBB",  # light grey
    "#F0E442",  # yellow
)
FAMILY_LINESTYLES = dict(zip(FAMILIES, ("-", "--", "-.", ":"), strict=True))
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "h", "*", "p")


def method_styles(methods: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The line style of each method: ``color``, ``linestyle`` and ``marker``.

    A registered method's style depends on its place in the registry only, so
    it is the same in every panel and figure whatever else is drawn; other
    names get the colours no registered method uses, in order, and a solid line.

    Parameters
    ----------
    methods : iterable of str
        Method names.

    Returns
    -------
    styles : dict
        ``method -> {"color": ..., "linestyle": ..., "marker": ...}``, keyword
        arguments of :meth:`matplotlib.axes.Axes.plot`.

    Examples
    --------
    >>> from skhash.benchmark.figure import method_styles
    >>> method_styles(["ITQ"])["ITQ"] == method_styles(["LSH", "ITQ"])["ITQ"]
    True
    >>> method_styles(["ITQ"])["ITQ"]["linestyle"]
    '-'
    """
    registered = list(METHODS)
    in_family: dict[str, int] = {}
    styles: dict[str, dict[str, Any]] = {}
    for position, name in enumerate(registered):
        family = METHODS[name].family
        rank = in_family[family] = in_family.get(family, -1) + 1
        styles[name] = {
            "color": PALETTE[position % len(PALETTE)],
            "linestyle": FAMILY_LINESTYLES[family],
            "marker": MARKERS[rank % len(MARKERS)],
        }
    out = {}
    extra = 0
    for name in methods:
        if name not in styles:
            styles[name] = {
                "color": PALETTE[(len(registered) + extra) % len(PALETTE)],
                "linestyle": "-",
                "marker": MARKERS[extra % len(MARKERS)],
            }
            extra += 1
        out[name] = styles[name]
    return out


def _ordered(methods: Iterable[str]) -> list[str]:
    """Registered methods in registry order (grouped by family), then the others."""
    methods = list(dict.fromkeys(methods))
    return [m for m in METHODS if m in methods] + [m for m in methods if m not in METHODS]


def precision_recall_figure(
    curves: Mapping[tuple[str, int], tuple[Any, Any]],
    *,
    mean_average_precision: Mapping[tuple[str, int], float] | None = None,
    title: str | None = None,
) -> Any:
    """Precision-recall curves, one panel per code length, one legend outside them.

    Parameters
    ----------
    curves : dict
        ``(method, n_bits) -> (precision, recall)``.
    mean_average_precision : dict, default=None
        ``(method, n_bits) -> mAP``, shown in the legend (a column per code
        length) and in each curve's label.
    title : str, default=None
        The figure's title.

    Returns
    -------
    figure : matplotlib.figure.Figure
        A figure not registered with pyplot (save it with ``savefig``).

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.benchmark.figure import precision_recall_figure
    >>> curve = (np.array([1.0, 0.5]), np.array([0.1, 1.0]))
    >>> figure = precision_recall_figure({("LSH", 16): curve, ("ITQ", 16): curve})
    >>> len(figure.axes), len(figure.legends)
    (1, 1)
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from ..plotting import RetrievalPrecisionRecallDisplay

    mean_ap = dict(mean_average_precision or {})
    bits = sorted({n_bits for _, n_bits in curves})
    methods = _ordered(method for method, _ in curves)
    styles = method_styles(methods)
    n_entries = len(methods) + len({METHODS[m].family if m in METHODS else "" for m in methods})
    height = max(4.0, 0.9 + 0.17 * n_entries)  # the legend's rows fit in the figure
    figure = Figure(figsize=(3.6 * max(len(bits), 1) + 3.4, height), layout="constrained")
    axes = figure.subplots(1, max(len(bits), 1), squeeze=False)[0]
    for ax, n_bits in zip(axes, bits, strict=False):
        for method in methods:
            if (method, n_bits) not in curves:
                continue
            precision, recall = curves[method, n_bits]
            RetrievalPrecisionRecallDisplay(
                precision, recall, name=method, mean_average_precision=mean_ap.get((method, n_bits))
            ).plot(ax=ax, markevery=0.1, markersize=4, linewidth=1.4, **styles[method])
        if ax.get_legend() is not None:
            ax.get_legend().remove()  # one legend for the figure, outside the panels
        ax.set_title(f"{n_bits} bits")
        ax.grid(alpha=0.3)
    # The legend: a heading per family, then its methods with their mAP at each code length.
    handles, labels = [], []
    width = max((len(m) for m in methods), default=0)
    heading = Line2D([], [], linestyle="none")
    family_of = {m: METHODS[m].family if m in METHODS else "other" for m in methods}
    for family in (*FAMILIES, "other"):
        members = [m for m in methods if family_of[m] == family]
        if not members:
            continue
        handles.append(heading)
        labels.append(family)
        for method in members:
            handles.append(Line2D([], [], markersize=4, linewidth=1.4, **styles[method]))
            cells = [
                f"{mean_ap[method, b]:.3f}" if (method, b) in mean_ap else "  -  " for b in bits
            ]
            labels.append(f"{method:<{width}}  " + " ".join(cells) if mean_ap else method)
    legend_title = "mAP at " + " / ".join(map(str, bits)) + " bits" if mean_ap else None
    legend = figure.legend(
        handles,
        labels,
        loc="outside right upper",
        title=legend_title,
        prop={"family": "monospace", "size": 8},
        title_fontsize=8,
        handlelength=3,
        frameon=False,
    )
    for text, label in zip(legend.get_texts(), labels, strict=True):
        if label in FAMILIES or label == "other":
            text.set_fontweight("bold")
    if title:
        figure.suptitle(title)
    return figure
