"""Draw the architecture and data-flow figures of the deep hashers (docs/_static/*.svg).

Run from the repository root after changing what a figure shows::

    python docs/architecture_figures.py

The SVG files are committed: the documentation build only reads them.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

STATIC = Path(__file__).resolve().parent / "_static"

# Colours: what enters fit, what fit computes on the way, what is learned and kept,
# and the path of transform.
STYLE = {
    "input": ("#dbe9f6", "#2c6aa0"),
    "step": ("#f2f2f2", "#666666"),
    "learned": ("#dff2df", "#2e7d32"),
    "transform": ("#fdebd3", "#c26a00"),
}
LEGEND = {
    "input": "what enters fit",
    "step": "computed during fit",
    "learned": "learned, kept by the fitted hasher",
    "transform": "what transform uses",
}


def box(ax, x, y, w, h, text, kind, size=8.5, weight="normal"):
    face, edge = STYLE[kind]
    ax.add_patch(
        FancyBboxPatch(
            (x, y), w, h, boxstyle="round,pad=0.4,rounding_size=1.2", fc=face, ec=edge, lw=1.3
        )
    )
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, weight=weight)
    return (x, y, w, h)


def _anchor(b, side):
    x, y, w, h = b
    return {
        "left": (x - 0.4, y + h / 2),
        "right": (x + w + 0.4, y + h / 2),
        "top": (x + w / 2, y + h + 0.4),
        "bottom": (x + w / 2, y - 0.4),
    }[side]


def arrow(ax, a, b, text=None, color="#444444", rad=0.0, offset=(0, 1.2), dashed=False):
    ax.add_patch(
        FancyArrowPatch(
            a,
            b,
            arrowstyle="-|>",
            mutation_scale=11,
            lw=1.2,
            color=color,
            connectionstyle=f"arc3,rad={rad}",
            linestyle="--" if dashed else "-",
        )
    )
    if text:
        ax.text(
            (a[0] + b[0]) / 2 + offset[0],
            (a[1] + b[1]) / 2 + offset[1],
            text,
            ha="center",
            va="bottom",
            fontsize=7.5,
            color=color,
            style="italic",
        )


def canvas(title):
    fig, ax = plt.subplots(figsize=(11, 5.6))
    ax.set_xlim(0, 110)
    ax.set_ylim(-6, 56)
    ax.axis("off")
    ax.set_title(title, fontsize=11, weight="bold", loc="left")
    handles = [
        plt.Rectangle((0, 0), 1, 1, fc=STYLE[k][0], ec=STYLE[k][1], label=v)
        for k, v in LEGEND.items()
    ]
    ax.legend(
        handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False,
        bbox_to_anchor=(0.5, -0.06),
    )  # fmt: skip
    return fig, ax


def dstdh():
    fig, ax = canvas("DSTDHHasher: fit(X, tags=T) and transform(X)")
    X = box(ax, 1, 38, 17, 8, "X\nimage features\n(n × d)", "input")
    T = box(ax, 1, 22, 17, 8, "tags T (n × c)\nsparse, noisy;\nfit only", "input")
    anchors = box(ax, 25, 40, 20, 7, "anchor graph S_a\nk-means of X (n_anchors)", "step")
    hyper = box(ax, 25, 27, 20, 8, "hypergraph Θ\nk-means of [X, T]\n(n_hyperedges)", "step")
    itq = box(ax, 25, 12, 20, 6, "start: ITQ codes of X", "step")
    box(
        ax, 51, 17, 26, 28,
        "discrete solver (ADMM)\ntarget codes Z ∈ {−1, +1}\n(n × n_bits)\n\n"
        "• Z ≈ T P + A: tags, noise A\n  (L2,1, absorbs wrong tags)\n"
        "• β Θ, α S_a: close images,\n  close codes\n• ν ‖Hx − Z‖: near the network",
        "step", size=8,
    )  # fmt: skip
    net = box(
        ax, 84, 30, 23, 14,
        "hash network f (module)\nHashMLP: X → hidden → tanh\ntrained through skorch:\n"
        "MSE(f(X), Z)",
        "learned", size=8,
    )  # fmt: skip
    thr = box(ax, 84, 15, 23, 7, "threshold_ per bit\n(0, or mean of f(X))", "learned")
    arrow(ax, _anchor(X, "right"), _anchor(anchors, "left"))
    arrow(ax, _anchor(X, "right"), _anchor(hyper, "left"))
    arrow(ax, _anchor(T, "right"), _anchor(hyper, "left"))
    arrow(ax, _anchor(X, "right"), _anchor(itq, "left"), rad=0.15)
    arrow(ax, (18.4, 23), (51 - 0.4, 19), rad=0.12, text="T: tag term", offset=(12, -4.6))
    for b in (anchors, hyper, itq):
        arrow(ax, _anchor(b, "right"), (51 - 0.4, b[1] + b[3] / 2))
    arrow(ax, (77.4, 38), (84 - 0.4, 38), text="Z")
    arrow(
        ax, (84 - 0.4, 32), (77.4, 28), text="Hx = f(X):\nnext round\n(n_rounds)", rad=0.3,
        offset=(2.5, -10.5), dashed=True,
    )  # fmt: skip
    arrow(ax, (X[0] + X[2] / 2, 46.4), (95.5, 44.4), text="X", rad=-0.12, offset=(0, 3))
    arrow(ax, _anchor(net, "bottom"), _anchor(thr, "top"))
    # transform
    t = box(
        ax, 1, 1, 106, 6,
        "transform(X_new):   features X_new  →  f  →  bit = f(X_new) ≥ threshold_  →  "
        "packed uint8 codes          (no tags, no solver, no graphs)",
        "transform", size=8.5,
    )  # fmt: skip
    arrow(ax, _anchor(thr, "bottom"), (95.5, t[1] + t[3] + 0.4))
    return fig


def wsih():
    fig, ax = canvas("WSIHHasher: fit(X) with web_set=WebSet(X_web, y_web), and transform(X)")
    web = box(ax, 1, 36, 19, 10, "web set\nX_web: features of\nweb images; y_web:\n"
              "searched concept (noisy)", "input", size=8)  # fmt: skip
    X = box(ax, 1, 15, 18, 8, "X: target features\n(unlabelled)", "input")
    s1 = box(
        ax, 27, 33, 35, 15,
        "stage 1: prototype network\nenc1 → enc2 → enc3 → hash (tanh) → classifier\n"
        "losses: classification, similarity,\nbit balance, bit decorrelation",
        "step", size=8,
    )  # fmt: skip
    protos = box(ax, 69, 41, 18, 7, "prototypes_\nmean enc1 output\nper concept", "learned",
                 size=8)  # fmt: skip
    s2 = box(
        ax, 27, 12, 46, 15,
        "stage 2: hashing network\nenc1 → prototype attention → enc2 → enc3 → hash (tanh)\n"
        "→ decoder (reconstructs X)\n"
        "losses: relation (pairwise), quantisation, reconstruction",
        "learned", size=8,
    )  # fmt: skip
    arrow(ax, _anchor(web, "right"), _anchor(s1, "left"))
    arrow(ax, _anchor(X, "right"), _anchor(s2, "left"))
    arrow(ax, (62.4, 44.5), (69 - 0.4, 44.5))
    arrow(
        ax, (39, 32.6), (39, 27.4), text="parameter transfer:\nencoder weights,\n"
        "n_frozen_layers frozen", offset=(-9.5, -2.5),
    )  # fmt: skip
    arrow(ax, _anchor(protos, "bottom"), (62, 27.4), text="feature transfer:\nattention over\n"
          "the prototypes", offset=(9, -3))  # fmt: skip
    ax.text(
        86, 30, "memory= caches stage 1:\nreused by every fit that\nchanges only stage-2\n"
        "parameters or X", fontsize=8, ha="left", va="center", color="#555555",
    )  # fmt: skip
    t = box(
        ax, 1, 1, 106, 6,
        "transform(X_new):  X_new → enc1 → attention (prototypes_) → enc2 → enc3 → hash → "
        "bit = output ≥ 0 → packed codes    (no web set)",
        "transform", size=8.5,
    )  # fmt: skip
    arrow(ax, _anchor(s2, "bottom"), (50, t[1] + t[3] + 0.4))
    return fig


def main():
    STATIC.mkdir(exist_ok=True)
    # Reproducible SVG files: no date, fixed ids.
    plt.rcParams["svg.hashsalt"] = "skhash"
    plt.rcParams["svg.fonttype"] = "path"
    for name, draw in [("dstdh_architecture", dstdh), ("wsih_architecture", wsih)]:
        fig = draw()
        path = STATIC / f"{name}.svg"
        fig.savefig(path, bbox_inches="tight", metadata={"Date": None})
        plt.close(fig)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
