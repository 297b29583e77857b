"""The benchmark command."""

import csv
import json

import numpy as np
import pytest

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
        ("LSH", "16"), ("ITQ", "16"), ("LSH", "32"), ("ITQ", "32")
    ]
    results = json.loads((out / "results.json").read_text())["results"]
    by_method = {(r["method"], r["n_bits"]): r for r in results}
    # ITQ beats LSH on digits at 32 bits by a wide margin
    assert by_method["ITQ", 32]["mAP"] > by_method["LSH", 32]["mAP"] + 0.05
    for r in results:
        assert 0 < r["mAP"] <= 1 and 0 <= r["P(r<=2)"] <= 1
    assert (out / "precision_recall.png").stat().st_size > 1000


def test_format_table_has_one_line_per_row():
    rows = [{"method": "LSH", "n_bits": 16, "mAP": 0.5, "mAP@1000": 0.6, "P@1000": 0.1,
             "P(r<=2)": 0.2, "fit_s": 1.0}]
    lines = format_table(rows).splitlines()
    assert lines[2] == "| LSH | 16 | 0.5000 | 0.6000 | 0.1000 | 0.2000 | 1.0 |"


def test_real_dataset_needs_data_home():
    with pytest.raises(SystemExit):
        main(["--dataset", "mirflickr25k"])


def test_several_random_states_give_mean_and_std(tmp_path, capsys):
    out = tmp_path / "results"
    code = main(
        ["--methods", "LSH", "--bits", "16", "--random-state", "0", "1", "--output", str(out),
         "--quiet"]
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
