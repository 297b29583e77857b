"""The benchmark command."""

import contextlib
import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from skhash import LSHHasher
from skhash.__main__ import main
from skhash.benchmark import format_table, load_digits_benchmark


def test_digits_side_information_is_simulated_as_documented():
    data = load_digits_benchmark(n_queries=300, random_state=0)
    assert data.X_query.shape == (300, 64)
    assert data.X_train.shape == (1497, 64)
    assert "SIMULATED" in data.description
    tags = data.tags.toarray()
    # true digit tag on about 80% of the images
    on_true = tags[np.arange(len(tags)), data.y_database].mean()
    assert 0.75 < on_true < 0.9
    assert data.web_X.shape == (600, 64)


def test_main_prints_and_saves_the_table(tmp_path, capsys):
    out = tmp_path / "results"
    code = main(["--methods", "LSH", "ITQ", "--bits", "16", "32", "--output", str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| ITQ | 32 |" in printed
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["method"], r["n_bits"]) for r in rows] == [
        ("LSH", "16"),
        ("ITQ", "16"),
        ("LSH", "32"),
        ("ITQ", "32"),
    ]
    results = json.loads((out / "results.json").read_text())["results"]
    by_method = {(r["method"], r["n_bits"]): r for r in results}
    # ITQ beats LSH on digits at 32 bits by a wide margin
    assert by_method["ITQ", 32]["mAP"] > by_method["LSH", 32]["mAP"] + 0.05
    for r in results:
        assert 0 < r["mAP"] <= 1 and 0 <= r["P(r<=2)"] <= 1
    assert (out / "precision_recall.png").stat().st_size > 1000


def test_format_table_has_one_line_per_row():
    rows = [
        {
            "method": "LSH",
            "n_bits": 16,
            "mAP": 0.5,
            "mAP@1000": 0.6,
            "P@1000": 0.1,
            "P(r<=2)": 0.2,
            "fit_s": 1.0,
        }
    ]
    lines = format_table(rows).splitlines()
    assert lines[2] == "| LSH | 16 | 0.5000 | 0.6000 | 0.1000 | 0.2000 | 1.0 |"


def test_real_dataset_needs_data_home():
    with pytest.raises(SystemExit):
        main(["--dataset", "mirflickr25k"])


def test_several_random_states_give_mean_and_std(tmp_path, capsys):
    out = tmp_path / "results"
    code = main(
        [
            "--methods",
            "LSH",
            "--bits",
            "16",
            "--random-state",
            "0",
            "1",
            "--output",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    per_state = {r["random_state"]: r["mAP"] for r in results["results"]}
    assert sorted(per_state) == [0, 1] and per_state[0] != per_state[1]
    (summary,) = results["summary"]
    assert summary["mAP"] == pytest.approx(np.mean(list(per_state.values())))
    assert summary["mAP_std"] == pytest.approx(np.std(list(per_state.values())))
    assert f"| LSH | 16 | {summary['mAP']:.4f} ± {summary['mAP_std']:.4f} |" in printed


def test_every_method_of_the_registry_builds_a_hasher():
    from skhash.benchmark import METHODS, make_hasher
    from skhash.estimators import BaseHasher

    data = load_digits_benchmark(n_queries=300, random_state=0)
    for name in METHODS:
        hasher, fit_params = make_hasher(name, 16, data, 0)
        assert isinstance(hasher, BaseHasher) and hasher.n_bits == 16
        assert set(fit_params) <= {"tags", "y"}
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        make_hasher("nope", 16, data, 0)


def test_every_public_hasher_is_registered_once():
    import skhash
    from skhash.benchmark import FAMILIES, METHODS
    from skhash.estimators import BaseHasher

    public = {
        getattr(skhash, name)
        for name in skhash.__all__
        if isinstance(getattr(skhash, name), type)
        and issubclass(getattr(skhash, name), BaseHasher)
        and getattr(skhash, name) is not BaseHasher
    }
    registered = [method.estimator_class() for method in METHODS.values()]
    assert len(public) >= 14
    missing = sorted(cls.__name__ for cls in public - set(registered))
    assert missing == [], f"hashers exported by skhash but not in the benchmark: {missing}"
    assert len(registered) == len(set(registered))  # one entry a hasher
    assert {method.family for method in METHODS.values()} == set(FAMILIES)
    assert METHODS["SDH"].family == "supervised"


def test_run_from_python_returns_the_table():
    from skhash.benchmark import UsageError, run

    results = run(["LSH", "PCAH"], n_bits=[16], random_state=[0, 1])
    assert [(r["method"], r["random_state"]) for r in results.rows] == [
        ("LSH", 0),
        ("PCAH", 0),
        ("LSH", 1),
        ("PCAH", 1),
    ]
    lsh = results.summary[0]
    assert lsh["mAP"] == pytest.approx((results.rows[0]["mAP"] + results.rows[2]["mAP"]) / 2)
    assert results.metadata["arguments"]["n_bits"] == [16]
    assert "| PCAH | 16 |" in results.table()
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        run(["nope"])
    with pytest.raises(ValueError, match="n_bits=12"):
        run(["LSH"], n_bits=12)
    with pytest.raises(UsageError, match="n_queries=2 is too few.*at least 5") as info:
        run(["LSH"], n_bits=16, n_queries=2)
    assert info.value.flag == "--n-queries"
    with pytest.raises(UsageError, match="128 is too long for PCAH"):
        run(["PCAH"], n_bits=128)


HELP_FILE = Path(__file__).resolve().parents[1] / "docs" / "_static" / "cli_help.txt"


def _help(monkeypatch, *args):
    """``python -m skhash --help`` as printed on a wide terminal."""
    monkeypatch.setenv("COLUMNS", "200")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as info:
        main([*args, "--help"])
    assert info.value.code == 0
    return out.getvalue()


def test_help_names_subcommands_methods_files_and_examples(monkeypatch):
    from skhash.benchmark import FAMILIES, FILES, METHODS

    text = _help(monkeypatch)
    lines = text.splitlines()
    assert max(map(len, lines)) < 100
    body, _, examples = text.partition("\nexamples:\n")
    assert "compare" in body.split("options:")[0]  # the subcommand, before the options
    body_lines = body.splitlines()
    for name in METHODS:  # each method named once, in its family's (possibly wrapped) line
        assert len(re.findall(rf"(?<![\w-]){re.escape(name)}(?![\w-])", body)) == 1, name
        (i,) = [
            i
            for i, line in enumerate(body_lines)
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", line)
        ]
        while not body_lines[i].strip()[0].isalpha() or body_lines[i].startswith("    "):
            i -= 1  # a wrapped continuation: up to the line that starts with the family
        assert body_lines[i].lstrip().startswith(METHODS[name].family), name
    for family in FAMILIES:
        assert f"  {family}  " in body
    for file in FILES:
        assert re.search(rf"^  {re.escape(file)} ", body, re.M)
    example_lines = examples.rstrip("\n").splitlines()
    assert len(example_lines) == 3
    assert all(line.startswith("  python -m skhash ") for line in example_lines)
    compare_help = _help(monkeypatch, "compare")
    assert max(map(len, compare_help.splitlines())) < 100 and "CCA-ITQ" not in compare_help


def test_docs_figure_is_the_digits_runs_figure():
    """docs/_static's figure is the one benchmarks/digits_results.py keeps with its results."""
    root = Path(__file__).resolve().parents[1]
    shown = root / "docs" / "_static" / "benchmark_precision_recall.png"
    kept = root / "benchmarks" / "digits_precision_recall.png"
    assert shown.read_bytes() == kept.read_bytes(), (
        "after python benchmarks/digits_results.py: cp benchmarks/digits_precision_recall.png "
        "docs/_static/benchmark_precision_recall.png"
    )


def test_committed_help_text_is_current(monkeypatch):
    assert HELP_FILE.read_text() == _help(monkeypatch), (
        "docs/_static/cli_help.txt is out of date: COLUMNS=200 python -m skhash --help > "
        "docs/_static/cli_help.txt"
    )


def _fake_curves(methods, bits):
    rng = np.random.default_rng(0)
    curves = {}
    for method in methods:
        for n_bits in bits:
            recall = np.sort(rng.random(50))
            curves[method, n_bits] = (1 - 0.5 * recall, recall)
    return curves


def _style(line):
    return (line.get_color(), line.get_linestyle(), line.get_marker())


def test_figure_gives_each_method_one_distinct_colour_and_one_legend_outside():
    from matplotlib.colors import to_rgb

    from skhash.benchmark import METHODS
    from skhash.benchmark.figure import PALETTE, method_styles, precision_recall_figure

    # every registered method and three more (a registry grown by 3)
    methods = [*METHODS, "new1", "new2", "new3"]
    bits = (16, 32, 64)
    curves = _fake_curves(methods, bits)
    del curves["SDH", 64]  # a panel without one method
    mean_ap = dict.fromkeys(curves, 0.5)
    figure = precision_recall_figure(curves, mean_average_precision=mean_ap)
    styles = {}
    for ax in figure.axes:
        lines = ax.get_lines()
        colors = [to_rgb(line.get_color()) for line in lines]
        assert len(set(colors)) == len(colors)  # distinct within a panel
        assert ax.get_legend() is None  # no legend inside a panel
        for line in lines:
            name = line.get_label().split(" (")[0]
            assert styles.setdefault(name, _style(line)) == _style(line)  # same across panels
    assert len(styles) == len(methods) and len(figure.axes) == 3
    assert len(PALETTE) >= len(methods)
    # the legend: once, outside every panel, each method once with its panel's style
    (legend,) = figure.legends
    figure.draw_without_rendering()  # the constrained layout places the legend
    box = legend.get_window_extent()
    assert figure.bbox.x0 <= box.x0 and box.x1 <= figure.bbox.x1
    assert figure.bbox.y0 <= box.y0 and box.y1 <= figure.bbox.y1
    for ax in figure.axes:
        assert box.x0 > ax.get_window_extent().x1
    texts = [t.get_text() for t in legend.get_texts()]
    for name in methods:
        (i,) = [i for i, text in enumerate(texts) if text.split()[0] == name]
        assert _style(legend.legend_handles[i]) == styles[name]
    # a method keeps its style in a figure of fewer methods (the report's, one code length)
    alone = method_styles(["WSIH"])["WSIH"]
    assert (alone["color"], alone["linestyle"], alone["marker"]) == styles["WSIH"]


def test_report_curves_keep_the_figures_colours(tmp_path):
    import base64
    import io

    from PIL import Image

    from skhash.benchmark.figure import method_styles
    from skhash.benchmark.report import write_report

    curves = _fake_curves(["LSH", "ITQ", "WSIH"], (16, 32))
    rows = [{"method": m, "n_bits": b, "mAP": 0.5} for m, b in curves]
    page = write_report(tmp_path, rows, curves=curves).read_text()
    images = re.findall(r'<figure class="pr"><img src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2
    for data in images:
        pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
        seen = {tuple(p) for p in pixels.reshape(-1, 3)}
        for style in method_styles(["LSH", "ITQ", "WSIH"]).values():
            rgb = tuple(int(style["color"][i : i + 2], 16) for i in (1, 3, 5))
            assert rgb in seen  # each method's colour is drawn in each code length's figure


def _run(out, *extra):
    return main(["--methods", "LSH", "ITQ", "--bits", "16", "--output", str(out), *extra])


def test_results_json_records_the_run(tmp_path, capsys):
    import datetime
    import os

    import skhash

    out = tmp_path / "results"
    assert _run(out, "--random-state", "3", "-q") == 0
    capsys.readouterr()
    results = json.loads((out / "results.json").read_text())
    assert results["skhash_version"] == skhash.__version__
    assert results["command"][1:] == [
        "--methods", "LSH", "ITQ", "--bits", "16", "--output", str(out), "--random-state", "3",
        "-q",
    ]  # fmt: skip
    assert results["arguments"]["methods"] == ["LSH", "ITQ"]
    assert results["arguments"]["n_threads"] == 1  # defaults are recorded too
    assert results["arguments"]["n_train"] is None  # not used by digits
    assert results["random_states"] == [3]
    date = datetime.datetime.fromisoformat(results["date"])
    assert abs(datetime.datetime.now(datetime.timezone.utc) - date).total_seconds() < 600
    machine = results["machine"]
    assert machine["cpu_count"] == os.cpu_count()
    assert machine["torch_device"] in {"cpu", "cuda"} and machine["torch_threads"] >= 1
    for row in results["results"]:
        assert row["random_state"] == 3 and row["fit_s"] >= 0


def test_an_earlier_result_folder_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "results"
    assert _run(out, "-q") == 0
    first = (out / "results.json").read_text()
    assert _run(out, "-q", "--random-state", "1") == 0
    assert (out / "results.json").read_text() == first  # untouched
    second = tmp_path / "results-2"
    assert json.loads((second / "results.json").read_text())["random_states"] == [1]
    assert (second / "precision_recall.png").is_file() and (second / "report.html").is_file()
    assert "saved " + str(second / "results.json") in capsys.readouterr().out
    assert _run(out, "-q") == 0
    assert (tmp_path / "results-3" / "results.json").is_file()
    # --overwrite writes into the folder asked for.
    assert _run(out, "-q", "--overwrite", "--random-state", "2") == 0
    assert json.loads((out / "results.json").read_text())["random_states"] == [2]
    assert not (tmp_path / "results-4").exists()
    # An empty folder (e.g. left by a run that failed) is used as it is.
    (tmp_path / "empty").mkdir()
    assert _run(tmp_path / "empty", "-q") == 0
    assert (tmp_path / "empty" / "results.json").is_file()
    # A file is not a folder.
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit):
        _run(tmp_path / "file", "-q")


def test_precision_recall_figure_shows_each_methods_map(tmp_path, monkeypatch, capsys):
    import skhash.benchmark.figure as figure_module

    figures = []
    draw = figure_module.precision_recall_figure

    def recording(*args, **kwargs):
        figures.append(draw(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(figure_module, "precision_recall_figure", recording)
    out = tmp_path / "results"
    assert main(["--methods", "LSH", "ITQ", "--bits", "16", "32", "--output", str(out), "-q"]) == 0
    capsys.readouterr()
    rows = json.loads((out / "results.json").read_text())["results"]
    mean_ap = {(r["method"], r["n_bits"]): r["mAP"] for r in rows}
    figure = figures[0]  # precision_recall.png; then the report's, one per code length
    assert len(figures) == 3
    (legend,) = figure.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert legend.get_title().get_text() == "mAP at 16 / 32 bits"
    for method in ("LSH", "ITQ"):
        assert f"{method}  {mean_ap[method, 16]:.3f} {mean_ap[method, 32]:.3f}" in texts
    # each curve's label has its mAP too
    for ax, n_bits in zip(figure.axes, (16, 32), strict=True):
        assert sorted(line.get_label() for line in ax.get_lines()) == sorted(
            f"{m} (mAP = {mean_ap[m, n_bits]:.3f})" for m in ("LSH", "ITQ")
        )


def test_verbosity_flags(tmp_path, capsys, monkeypatch):
    out = tmp_path / "results"
    assert _run(out, "-q") == 0
    assert capsys.readouterr().err == ""  # -q: nothing but the table on stdout
    assert _run(out) == 0  # default: a progress bar over the fits, a line per fit
    err = capsys.readouterr().err
    assert "benchmark, random state 0" in err and "[2/2] ITQ" in err
    # -v also makes the hashers verbose (those that have a verbose parameter).
    from skhash.benchmark import METHODS, Method

    built = []

    class RecordingLSH(_VerboseLSH):
        def fit(self, X, y=None):
            built.append(self)
            return super().fit(X, y)

    monkeypatch.setitem(METHODS, "LSH", Method("LSH", RecordingLSH, "classical unsupervised"))
    assert main(["--methods", "LSH", "--bits", "16", "--output", str(out), "-v"]) == 0
    assert main(["--methods", "LSH", "--bits", "16", "--output", str(out)]) == 0
    assert [h.verbose for h in built] == [1, 0]
    with pytest.raises(SystemExit):
        main(["-q", "-v"])


def test_a_skipped_fit_counts_as_done_and_the_names_line_up(capsys):
    """Digits' tags have 30 columns: CCA-ITQ gives 16 bits, not 32 (skipped, with the reason)."""
    from skhash.benchmark import run_benchmark

    data = load_digits_benchmark(n_queries=300, random_state=0)
    skipped = []
    rows, _ = run_benchmark(
        data, methods=["LSH", "CCA-ITQ"], bits=(16, 32), verbose=1, skipped=skipped
    )
    assert [(r["method"], r["n_bits"]) for r in rows] == [("LSH", 16), ("CCA-ITQ", 16), ("LSH", 32)]
    err = capsys.readouterr().err
    lines = [line.split("\r")[-1] for line in err.splitlines() if "bits:" in line]
    lines = [line[line.index("[") :] for line in lines]
    assert [line[:22] for line in lines] == [
        "[1/4] LSH      16 bits",
        "[2/4] CCA-ITQ  16 bits",
        "[3/4] LSH      32 bits",
        "[4/4] CCA-ITQ  32 bits",
    ]
    assert lines[3].startswith("[4/4] CCA-ITQ  32 bits: skipped: CCA-ITQ learns at most 30 bits")
    assert "4/4 [" in err and "3/4 [" not in err.rsplit("\r", 1)[-1]  # the bar ends at 4/4
    assert skipped == [
        {"method": "CCA-ITQ", "n_bits": 32, "random_state": 0,
         "reason": "CCA-ITQ learns at most 30 bits from this dataset"}
    ]  # fmt: skip


class _VerboseLSH(LSHHasher):
    def __init__(self, n_bits=16, *, random_state=None, verbose=0):
        super().__init__(n_bits=n_bits, random_state=random_state)
        self.verbose = verbose
