"""The method comparison (python -m skhash compare): settings, resumable results, tables."""

import json

import pytest

from skhash.benchmark import METHODS, load_digits_benchmark, runner
from skhash.benchmark import compare as _compare


def test_methods_of_each_setting_follow_what_they_learn_from():
    social, webly = _compare.methods_of("social"), _compare.methods_of("webly")
    assert "DSTDH" in social and "WSIH" not in social
    assert "WSIH" in webly and "DSTDH" not in webly
    for name in ("LSH", "ITQ", "SSDH", "GreedyHash", "BiHalf"):
        assert name in social and name in webly
    supervised = [m for m in METHODS if _compare.method_kind(m) == "labels"]
    for name in supervised:  # no setting gives labels for training
        assert name not in social and name not in webly


@pytest.fixture
def digits_as_datasets(monkeypatch):
    """Both datasets replaced by the digits benchmark; counts the fits."""
    fits = []
    run = runner.run_benchmark

    def counting_run(data, **kwargs):
        fits.append((kwargs["methods"][0], kwargs["bits"][0], kwargs["random_state"]))
        return run(data, **kwargs)

    def load(dataset, data_homes, random_state, cache_dir, verbose, image_size=128):
        fits.append(("load", dataset, image_size))
        return load_digits_benchmark(random_state=random_state)

    monkeypatch.setattr(_compare, "_load_data", load)
    monkeypatch.setattr(runner, "run_benchmark", counting_run)
    return fits


def test_results_are_stored_and_a_rerun_fits_only_what_is_missing(digits_as_datasets, tmp_path):
    fits, path = digits_as_datasets, tmp_path / "results.json"
    kwargs = dict(data_homes={}, results_path=path, bits=(16,), verbose=0)
    _compare.run_comparison(["social"], methods=["LSH", "ITQ"], random_states=(0, 1), **kwargs)
    assert fits.count(("load", "mirflickr25k", 128)) == 2
    fits[:] = [f for f in fits if f[0] != "load"]
    assert sorted(fits) == [("ITQ", 16, 0), ("ITQ", 16, 1), ("LSH", 16, 0), ("LSH", 16, 1)]
    stored = json.loads(path.read_text())["results"]
    assert set(stored) == {f"mirflickr25k|{m}|16|{s}" for m in ("LSH", "ITQ") for s in (0, 1)}
    fits.clear()
    # a new method and the webly setting: only the new (dataset, method) pairs are fitted
    results = _compare.run_comparison(
        ["social", "webly"], methods=["LSH", "ITQ", "PCAH"], random_states=(0, 1), **kwargs
    )
    assert sorted(fits) == sorted(
        [("PCAH", 16, 0), ("PCAH", 16, 1)]  # mirflickr25k, shared by the two settings
        + [(m, 16, s) for m in ("LSH", "ITQ", "PCAH") for s in (0, 1)]  # cifar10
        + [("load", d, 128) for d in ("mirflickr25k", "cifar10") for s in (0, 1)]
    )
    table = _compare.comparison_tables(
        results, ["social", "webly"], methods=["LSH", "ITQ", "PCAH"], bits=(16,),
        random_states=(0, 1),
    )  # fmt: skip
    assert table.count("| ITQ | features |") == 3  # social, webly MIRFlickr, webly CIFAR-10
    row = stored["mirflickr25k|ITQ|16|0"], stored["mirflickr25k|ITQ|16|1"]
    mean = (row[0]["mAP"] + row[1]["mAP"]) / 2
    assert f"| ITQ | features | {mean:.4f} ± " in table


def test_one_results_file_a_resolution(digits_as_datasets, tmp_path):
    """MIRFlickr-25K rows record their image size; a file of another size is refused."""
    fits, path = digits_as_datasets, tmp_path / "results.json"
    kwargs = dict(data_homes={}, results_path=path, bits=(16,), verbose=0, methods=["LSH"])
    _compare.run_comparison(["social"], random_states=(0,), image_size=224, **kwargs)
    assert ("load", "mirflickr25k", 224) in fits
    assert json.loads(path.read_text())["results"]["mirflickr25k|LSH|16|0"]["image_size"] == 224
    with pytest.raises(ValueError, match=r"at \[224\] px, not image_size=128"):
        _compare.run_comparison(["social"], random_states=(1,), image_size=128, **kwargs)
    old = tmp_path / "old.json"  # rows written before image_size was stored: 128 px
    stored = json.loads(path.read_text())
    del stored["results"]["mirflickr25k|LSH|16|0"]["image_size"]
    old.write_text(json.dumps(stored))
    with pytest.raises(ValueError, match=r"at \[128\] px, not image_size=224"):
        _compare.run_comparison(
            ["social"], random_states=(1,), image_size=224, **{**kwargs, "results_path": old}
        )


@pytest.mark.parametrize("size", ["31", "abc"])
def test_image_size_flag_is_validated(size, capsys):
    from skhash.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--table-only", "--image-size", size])
    assert exit_info.value.code == 2
    assert "--image-size" in capsys.readouterr().err


@pytest.mark.parametrize("size", [31, 224.0, True, "224"])
def test_load_mirflickr_benchmark_rejects_a_bad_image_size(size, tmp_path):
    from skhash.benchmark import UsageError, load_mirflickr_benchmark

    with pytest.raises(UsageError, match="image_size must be an integer of at least 32") as err:
        load_mirflickr_benchmark(tmp_path, image_size=size)  # checked before the data
    assert err.value.flag == "--image-size"


def test_missing_seeds_are_marked_in_the_table():
    row = {"dataset": "cifar10", "method": "LSH", "n_bits": 16, "mAP": 0.5, "mAP@1000": 0.6}
    row.update({"P@1000": 0.1, "P(r<=2)": 0.2, "fit_s": 1.0, "random_state": 0})
    table = _compare.comparison_tables(
        {"a": row}, ["webly"], methods=["LSH"], bits=(16, 32), random_states=(0, 1, 2)
    )
    assert "| LSH | features | 0.5000 (1 seed) | - |" in table


def test_the_committed_results_file_still_loads_and_prints(capsys):
    """``python -m skhash compare --table-only`` on benchmarks/compare_results.json."""
    from pathlib import Path

    from skhash.__main__ import main

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_results.json"
    assert main(["compare", "--table-only", "--results", str(path)]) == 0
    out = capsys.readouterr().out
    assert "### social: MIRFlickr-25K, user tags" in out
    assert "### webly: CIFAR-10, web set with CIFAR-10N 'worse' labels" in out
    assert "| DSTDH | features + tags |" in out and "| WSIH | web set |" in out
    with pytest.raises(SystemExit):  # fitting needs the datasets' folders
        main(["compare", "--settings", "social"])


# -- the supervised setting ------------------------------------------------------------------
def test_supervised_rows_are_the_issues_list():
    rows = _compare.methods_of("supervised")
    assert rows == [
        "ITQ", "DSTDH", "WSIH", "CCA-ITQ (labels)", "SDH", "DPSH", "HashNet", "DSH", "CSQ",
        "OrthoHash",
    ]  # fmt: skip
    assert _compare.method_kind("CCA-ITQ (labels)") == "labels"
    assert _compare.method_kind("CCA-ITQ") == "tags"  # the social setting's CCA-ITQ
    # naming the registry method selects its supervised row
    assert _compare.methods_of("supervised", ["CCA-ITQ", "DPSH"]) == ["CCA-ITQ (labels)", "DPSH"]
    assert "CCA-ITQ (labels)" not in _compare.methods_of("social")
    assert _compare.data_home_of("cifar10:cifar10-2") == "cifar10"
    assert _compare.data_home_of("mirflickr25k") == "mirflickr25k"


def test_cca_itq_with_labels_as_its_second_view_is_its_fit_on_y():
    """The supervised row fits CCA-ITQ on ``tags`` = the label indicator: the codes of fit(X, y)."""
    from skhash import CCAITQHasher

    data = load_digits_benchmark(random_state=0)
    labelled = _compare._with_labels_as_second_view(data)
    assert labelled.tags.shape == (len(data.y_train), 10)
    on_y = CCAITQHasher(n_bits=8, random_state=0).fit(data.X_train, data.y_train)
    on_tags = CCAITQHasher(n_bits=8, random_state=0).fit(data.X_train, tags=labelled.tags)
    assert (on_y.transform(data.X_query) == on_tags.transform(data.X_query)).all()
    assert data.tags.shape[1] == 30  # the original Bunch keeps its tags


def test_supervised_setting_stores_rows_under_their_dataset_and_row_names(
    digits_as_datasets, tmp_path
):
    fits, path = digits_as_datasets, tmp_path / "results.json"
    results = _compare.run_comparison(
        ["supervised"],
        data_homes={},
        results_path=path,
        methods=["ITQ", "CCA-ITQ", "SDH"],
        bits=(8, 16),
        random_states=(0,),
        datasets=["cifar10:cifar10-1", "mirflickr25k"],
        verbose=0,
    )
    assert set(results) == {
        f"{d}|{m}|{b}|0"
        for d in ("cifar10:cifar10-1", "mirflickr25k")
        for m in ("ITQ", "CCA-ITQ (labels)", "SDH")
        for b in (8, 16)
    }
    assert ("CCA-ITQ", 8, 0) in fits  # the registry method ran
    # CCA-ITQ learns at most one direction per label: 16 bits from 10 digits is skipped,
    # stored with its reason and shown as n/a
    skipped = results["mirflickr25k|CCA-ITQ (labels)|16|0"]
    assert skipped["skipped"] and "at most 10 bits" in skipped["reason"]
    assert results["mirflickr25k|CCA-ITQ (labels)|8|0"]["mAP"] > 0
    table = _compare.comparison_tables(
        results, ["supervised"], methods=["ITQ", "CCA-ITQ", "SDH"], bits=(8, 16),
        random_states=(0,),
    )  # fmt: skip
    assert "### supervised: CIFAR-10, protocol cifar10-1 (" in table
    assert "### supervised: CIFAR-10, protocol cifar10 (" not in table  # not filled
    assert "| CCA-ITQ (labels) | features + labels | " in table
    cca = [line for line in table.splitlines() if line.startswith("| CCA-ITQ (labels) |")]
    assert len(cca) == 2  # one a dataset; its 16-bit mAP, mAP@1000 and fit cells are n/a
    assert all(line.count("| n/a") == 3 and line.endswith("| n/a |") for line in cca)
    fits.clear()
    _compare.run_comparison(
        ["supervised"], data_homes={}, results_path=path, methods=["ITQ", "CCA-ITQ", "SDH"],
        bits=(8, 16), random_states=(0,), datasets=["cifar10:cifar10-1", "mirflickr25k"],
        verbose=0,
    )  # fmt: skip
    assert fits == []  # resumed: everything, the skipped lengths included, is stored


def test_supervised_cli_needs_only_the_folders_of_the_datasets_asked(capsys):
    from skhash.__main__ import main

    with pytest.raises(SystemExit):
        main(["compare", "--settings", "supervised", "--datasets", "cifar10:cifar10"])
    assert "--cifar10-home is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", "--settings", "supervised", "--datasets", "cifar10:cifar10-7"])


def test_a_diverged_fit_is_stored_and_shown_not_raised(digits_as_datasets, tmp_path, monkeypatch):
    from skhash.exceptions import DivergedFitError

    run = runner.run_benchmark

    def diverging(data, **kwargs):
        if kwargs["methods"] == ["DSH"]:
            raise DivergedFitError("Training DSHHasher diverged in epoch 3: lower lr")
        return run(data, **kwargs)

    monkeypatch.setattr(runner, "run_benchmark", diverging)
    path = tmp_path / "results.json"
    kwargs = dict(
        data_homes={}, results_path=path, methods=["ITQ", "DSH"], bits=(8,),
        random_states=(0,), datasets=["mirflickr25k"], verbose=0,
    )  # fmt: skip
    results = _compare.run_comparison(["supervised"], **kwargs)
    row = results["mirflickr25k|DSH|8|0"]
    assert row["diverged"] and "epoch 3" in row["reason"] and not _compare.is_fitted(row)
    assert results["mirflickr25k|ITQ|8|0"]["mAP"] > 0
    table = _compare.comparison_tables(
        results, ["supervised"], methods=["ITQ", "DSH"], bits=(8,), random_states=(0,)
    )
    assert "| DSH | features + labels | diverged | diverged | diverged |" in table
    monkeypatch.setattr(runner, "run_benchmark", lambda *a, **k: pytest.fail("refitted"))
    _compare.run_comparison(["supervised"], **kwargs)  # resumed: the failure is a result
