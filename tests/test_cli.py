"""The benchmark command."""

import csv
import json

import numpy as np
import pytest

from skhash import LSHHasher
from skhash.__main__ import format_table, load_digits_benchmark, main


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
    from skhash.__main__ import METHODS, make_hasher
    from skhash.estimators import BaseHasher

    data = load_digits_benchmark(n_queries=300, random_state=0)
    for name in METHODS:
        hasher, fit_params = make_hasher(name, 16, data, 0)
        assert isinstance(hasher, BaseHasher) and hasher.n_bits == 16
        assert set(fit_params) <= {"tags", "y"}
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        make_hasher("nope", 16, data, 0)


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
    from skhash.plotting import RetrievalPrecisionRecallDisplay

    drawn = []
    plot = RetrievalPrecisionRecallDisplay.plot

    def recording_plot(self, *args, **kwargs):
        result = plot(self, *args, **kwargs)
        drawn.append((self.name, self.line_.get_label()))
        return result

    monkeypatch.setattr(RetrievalPrecisionRecallDisplay, "plot", recording_plot)
    out = tmp_path / "results"
    assert _run(out, "-q") == 0
    capsys.readouterr()
    rows = json.loads((out / "results.json").read_text())["results"]
    assert sorted(drawn) == sorted(
        (row["method"], f"{row['method']} (mAP = {row['mAP']:.3f})") for row in rows
    )


def test_verbosity_flags(tmp_path, capsys, monkeypatch):
    out = tmp_path / "results"
    assert _run(out, "-q") == 0
    assert capsys.readouterr().err == ""  # -q: nothing but the table on stdout
    assert _run(out) == 0  # default: a progress bar over the fits, a line per fit
    err = capsys.readouterr().err
    assert "benchmark, random state 0" in err and "[ 2/2] ITQ" in err
    # -v also makes the hashers verbose (those that have a verbose parameter).
    import skhash.__main__ as cli

    built = []
    make_hasher = cli.make_hasher

    def recording_make_hasher(*args):
        hasher, fit_params = make_hasher(*args)
        built.append(hasher)
        return hasher, fit_params

    monkeypatch.setattr(cli, "make_hasher", recording_make_hasher)
    monkeypatch.setitem(
        cli.METHODS,
        "LSH",
        cli.Method("LSH", "nothing", lambda b, data, rs: (_VerboseLSH(n_bits=b), {})),
    )
    assert main(["--methods", "LSH", "--bits", "16", "--output", str(out), "-v"]) == 0
    assert main(["--methods", "LSH", "--bits", "16", "--output", str(out)]) == 0
    assert [h.verbose for h in built] == [1, 0]
    with pytest.raises(SystemExit):
        main(["-q", "-v"])


class _VerboseLSH(LSHHasher):
    def __init__(self, n_bits=16, *, random_state=None, verbose=0):
        super().__init__(n_bits=n_bits, random_state=random_state)
        self.verbose = verbose
