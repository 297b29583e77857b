"""The results pages' tables equal their committed results files; the README is a front door.

The tables are rendered by ``docs/_ext/skhash_results.py`` at build time; here
each is recomputed from its file by independent code (means and standard
deviations over the random states, the claims' margins) and compared cell by
cell, and the README's and the front page's lists of hashers, its commands and
its headline verdicts are checked against the package and the results.
"""

import inspect
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import skhash

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import skhash_results as results  # noqa: E402


def _json(name):
    return json.loads((BENCHMARKS / name).read_text(encoding="utf-8"))


def _mean_std_text(values, digits):
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    std = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


# -- the digits table of the main job --------------------------------------------
def test_digits_table_equals_its_results_file():
    data = _json("digits_results.json")
    table = results.digits_table()
    assert table.header == ["method", "n_bits", "mAP", "mAP@1000", "P@1000", "P(r<=2)", "fit_s"]
    # One rendered row per (method, n_bits) of the file, each the file's values.
    assert len(table.rows) == len({(r["method"], r["n_bits"]) for r in data["results"]})
    by_key = {(row[0], int(row[1])): row for row in table.rows}
    for summary in data["summary"]:  # the command's own summary of its rows
        row = by_key[summary["method"], summary["n_bits"]]
        for column, text in zip(table.header[2:], row[2:], strict=True):
            digits = 2 if column == "fit_s" else 4
            assert text == f"{summary[column]:.{digits}f}", (summary["method"], column)


def test_digits_results_cover_the_benchmark_registry():
    # Regenerate with `python benchmarks/digits_results.py` when this fails.
    data = _json("digits_results.json")
    registry = set(results.benchmark_registry())
    in_file = {row["method"] for row in data["results"]}
    assert registry == in_file, (
        f"registry only: {sorted(registry - in_file)}; file only: {sorted(in_file - registry)}"
        "; rerun python benchmarks/digits_results.py"
    )
    assert data["commit"] and data["machine"]["cpu_count"] >= 1
    assert data["command"][0] == "python -m skhash"


# -- python -m skhash compare ------------------------------------------------------
@pytest.mark.parametrize("dataset", ["mirflickr25k", "cifar10"])
def test_compare_tables_equal_their_results_file(dataset):
    rows = [r for r in _json("compare_results.json")["results"].values() if r["dataset"] == dataset]
    table = results.compare_table(dataset)
    bits = sorted({r["n_bits"] for r in rows})
    assert table.header[:2] == ["method", "learns from"]
    assert {row[0] for row in table.rows} == {r["method"] for r in rows}
    for line in table.rows:
        cells = iter(line[2:])
        for column, digits in (("mAP", 4), ("mAP@1000", 4), ("fit_s", 1)):
            for n_bits in bits:
                values = [
                    r[column] for r in rows if r["method"] == line[0] and r["n_bits"] == n_bits
                ]
                assert next(cells) == _mean_std_text(values, digits), (line[0], column, n_bits)


def test_compare_table_reproduces_a_hand_checked_cell():
    # DSTDH on MIRFlickr-25K at 32 bits, from the three seeds' rows of the file.
    rows = _json("compare_results.json")["results"]
    values = [rows[f"mirflickr25k|DSTDH|32|{seed}"]["mAP"] for seed in (0, 1, 2)]
    row = next(r for r in results.compare_table("mirflickr25k").rows if r[0] == "DSTDH")
    assert row[1] == "features + tags"
    assert row[3] == f"{np.mean(values):.4f} ± {np.std(values):.4f}"


def test_claim_verdicts_follow_the_results():
    rows = list(_json("compare_results.json")["results"].values())
    verdicts = results.claim_verdicts()
    table = results.claims_table()
    assert len(table.rows) == len(verdicts)

    def value(dataset, method, n_bits, seed, column):
        (row,) = [
            r
            for r in rows
            if (r["dataset"], r["method"], r["n_bits"], r["random_state"])
            == (dataset, method, n_bits, seed)
        ]
        return row[column]

    # DSTDH against CCA-ITQ in mAP@1000: recomputed seed by seed.
    entry = verdicts["dstdh_beats_cca_itq_at_1000"]
    for n_bits, (margin, best, won, n) in entry["by_bits"].items():
        ours = [value("mirflickr25k", "DSTDH", n_bits, s, "mAP@1000") for s in (0, 1, 2)]
        theirs = [value("mirflickr25k", "CCA-ITQ", n_bits, s, "mAP@1000") for s in (0, 1, 2)]
        assert best == "CCA-ITQ" and n == 3
        assert margin == pytest.approx(np.mean(ours) - np.mean(theirs), abs=1e-12)
        assert won == sum(a > b for a, b in zip(ours, theirs, strict=True))
    expected = (
        "yes"
        if all(m > 0 and w == n for m, _, w, n in entry["by_bits"].values())
        else "no"
        if all(m <= 0 for m, _, _, _ in entry["by_bits"].values())
        else "partly"
    )
    assert entry["verdict"] == expected
    # A fit-time claim: the margin is in seconds, positive when the claimant is faster.
    fit = verdicts["wsih_fits_faster_cifar10"]["by_bits"][32]
    wsih = np.mean([value("cifar10", "WSIH", 32, s, "fit_s") for s in (0, 1, 2)])
    rival = np.mean([value("cifar10", fit[1], 32, s, "fit_s") for s in (0, 1, 2)])
    assert fit[0] == pytest.approx(rival - wsih, abs=1e-12)


# -- benchmarks/learning_curve.py ---------------------------------------------------
@pytest.mark.parametrize("image_size", [224, 128])
def test_learning_curve_tables_equal_their_results_file(image_size):
    rows = [
        r
        for r in _json("learning_curve_results.json")["rows"]
        if r["image_size"] == image_size and r["n_bits"] == 32 and not r.get("tag")
    ]
    table = results.learning_curve_table(image_size)
    sizes = sorted({r["n_train"] for r in rows})
    assert table.header == ["method"] + [f"{c} n={n:,}" for c in ("mAP", "mAP@1000") for n in sizes]
    assert [line[0] for line in table.rows] == list(dict.fromkeys(r["method"] for r in rows))
    for line in table.rows:
        cells = iter(line[1:])
        for column in ("mAP", "mAP@1000"):
            for n in sizes:
                values = [r[column] for r in rows if r["method"] == line[0] and r["n_train"] == n]
                text = next(cells)
                if not values:
                    assert text == "-"
                    continue
                assert text.startswith(_mean_std_text(values, 4)), (line[0], column, n)
                most = max(
                    sum(r["method"] == m and r["n_train"] == k for r in rows)
                    for m in {r["method"] for r in rows}
                    for k in sizes
                )
                mark = f"({len(values)} seed{'s' if len(values) > 1 else ''})"
                assert text.endswith(mark) == (len(values) < most)


def test_learning_curve_variants_table_equals_its_file():
    rows = _json("learning_curve_tuning.json")["rows"]
    table = results.learning_curve_variants_table()
    assert sum(len(line[-1].split(", ")) for line in table.rows) == len(rows)
    for line in table.rows:
        group = [
            r
            for r in rows
            if (r["tag"], str(r["image_size"]), f"{r['n_train']:,}", r["method"]) == tuple(line[:4])
        ]
        assert line[5] == _mean_std_text([r["mAP"] for r in group], 4)
        assert line[6] == _mean_std_text([r["mAP@1000"] for r in group], 4)


# -- python -m skhash compare --settings supervised -------------------------------------
SUPERVISED_DATASETS = ["cifar10:cifar10", "cifar10:cifar10-1", "cifar10:cifar10-2", "mirflickr25k"]
LABEL_ROWS = {"SDH", "DPSH", "HashNet", "DSH", "CSQ", "OrthoHash", "CCA-ITQ (labels)"}


def _supervised_rows(dataset=None):
    rows = _json("compare_supervised_results.json")["results"].values()
    return [r for r in rows if dataset is None or r["dataset"] == dataset]


@pytest.mark.parametrize("dataset", SUPERVISED_DATASETS)
def test_supervised_tables_equal_their_results_file(dataset):
    rows = _supervised_rows(dataset)
    table = results.supervised_table(dataset)
    assert [line[0] for line in table.rows] == [
        m for m in results.supervised_setting()[0] if m in {r["method"] for r in rows}
    ]
    bits = sorted({r["n_bits"] for r in rows})
    fitted_rows = [r for r in rows if not (r.get("skipped") or r.get("diverged"))]
    counts = {}
    for r in fitted_rows:
        counts[r["method"], r["n_bits"]] = counts.get((r["method"], r["n_bits"]), 0) + 1
    most = max(counts.values(), default=0)
    for line in table.rows:
        kinds = {"ITQ": "features", "DSTDH": "features + tags", "WSIH": "web set"}
        assert line[1] == kinds.get(line[0], "features + labels"), line[0]
        cells = iter(line[2:])
        for column, digits in (("mAP", 4), ("mAP@1000", 4), ("fit_s", 1)):
            for n_bits in bits:
                group = [r for r in rows if (r["method"], r["n_bits"]) == (line[0], n_bits)]
                fitted = [r[column] for r in group if not (r.get("skipped") or r.get("diverged"))]
                failed = sum(bool(r.get("diverged")) for r in group)
                if fitted:
                    expected = _mean_std_text(fitted, digits)
                    if len(fitted) < most:
                        expected += f" ({len(fitted)} seed{'s' if len(fitted) > 1 else ''})"
                    expected += f" ({failed} diverged)" if failed else ""
                else:
                    expected = "diverged" if failed else "n/a" if group else "-"
                assert next(cells) == expected, (line[0], column, n_bits)


def test_supervised_gaps_follow_the_results():
    rows = _supervised_rows()
    fitted = {
        (r["dataset"], r["n_bits"], r["method"], r["random_state"]): r["mAP"]
        for r in rows
        if not (r.get("skipped") or r.get("diverged"))
    }
    gaps = results.supervised_gaps()
    table = results.supervised_gaps_table()
    assert len(table.rows) == len(gaps) > 0
    names = results.supervised_setting()[0]
    for entry, line in zip(gaps, table.rows, strict=True):
        key = entry["dataset"], entry["n_bits"]
        # every row of the setting is measured on these seeds, or cannot learn the length,
        # or diverged (and is left out of the line)
        failed = {
            r["method"] for r in rows if r.get("diverged") and (r["dataset"], r["n_bits"]) == key
        }
        assert sorted(failed) == sorted(entry["diverged"])
        for method in names:
            done = [s for s in entry["seeds"] if (*key, method, s) in fitted]
            skipped = any(
                r.get("skipped") and (r["dataset"], r["n_bits"], r["method"]) == (*key, method)
                for r in rows
            )
            assert len(done) == len(entry["seeds"]) or skipped or method in failed, (key, method)

        def mean(method, key=key, seeds=entry["seeds"], failed=failed):
            if method in failed or (*key, method, seeds[0]) not in fitted:
                return None
            return sum(fitted[(*key, method, s)] for s in seeds) / len(seeds)

        means = {m: mean(m) for m in LABEL_ROWS if mean(m) is not None}
        leader = max(means, key=means.get)
        assert entry["leader"] == leader and line[2] == str(len(entry["seeds"]))
        assert line[3] == f"{leader} ({means[leader]:.4f})"
        itq = mean("ITQ")
        for weak, column in (("DSTDH", 5), ("WSIH", 8)):
            ours = mean(weak)
            assert line[column] == f"{ours:.4f}"
            assert line[column + 1] == f"{means[leader] - ours:.4f}"
            assert line[column + 2] == f"{100 * (ours - itq) / (means[leader] - itq):.0f}%"


def test_supervised_summary_states_what_the_gaps_say():
    text = results.supervised_summary()
    gaps = results.supervised_gaps()
    paragraphs = text.split("\n\n")
    datasets = list(dict.fromkeys(e["dataset"] for e in gaps))
    assert len(paragraphs) == len(datasets)
    for dataset, paragraph in zip(datasets, paragraphs, strict=True):
        entries = [e for e in gaps if e["dataset"] == dataset]
        assert " / ".join(e["leader"] for e in entries) + "." in paragraph
        for weak in ("DSTDH", "WSIH"):
            shares = [round(100 * e["recovered"][weak]) for e in entries]
            assert f"{min(shares)}%" in paragraph and f"{max(shares)}%" in paragraph
        for e in entries:
            below = [
                m
                for m in LABEL_ROWS - {"SDH", "CCA-ITQ (labels)"}
                if m in e["mAP"] and e["mAP"][m] < e["mAP"]["SDH"]
            ]
            for m in below:
                assert f"{m}" in paragraph.split("Below SDH")[1], (dataset, m)
            if below:
                assert f" at {e['n_bits']} bits" in paragraph


def test_supervised_page_validation_claim_follows_its_file():
    """The page: on CIFAR-10's validation split all five were above SDH (their defaults)."""
    curves = _json("supervised_validation.json")
    page = (ROOT / "docs" / "results" / "supervised.rst").read_text(encoding="utf-8")
    assert "on CIFAR-10's validation split" in " ".join(page.split())
    sdh = [c["curve"][-1][1] for c in curves if (c["dataset"], c["method"]) == ("cifar10", "SDH")]
    for method in ("DPSH", "HashNet", "DSH", "CSQ", "OrthoHash"):
        (last,) = [
            c["curve"][-1][1]
            for c in curves
            if (c["dataset"], c["method"], c["lr"]) == ("cifar10", method, 0.01)
            and c["params"] == ["hidden_sizes=(512,)"]
        ]
        assert last > max(sdh), method
    assert not [c for c in curves if (c["dataset"], c["method"]) == ("mirflickr", "SDH")]
    assert {c["bits"] for c in curves} == {32}  # "Its curves are all at 32 bits"
    assert "DSH's default learning rate lets the loss become non-finite" in " ".join(page.split())
    assert any(
        r.get("diverged")
        and (r["dataset"], r["method"], r["n_bits"]) == ("mirflickr25k", "DSH", 64)
        for r in _supervised_rows()
    )


def test_every_results_text_is_on_a_results_page():
    pages = "\n".join(p.read_text() for p in (ROOT / "docs" / "results").glob("*.rst"))
    used = set(re.findall(r"^\.\. results-text:: (\S+)$", pages, flags=re.MULTILINE))
    assert used == set(results.TEXTS)


# -- transcribed tables -------------------------------------------------------------
TRANSCRIBED = [name for name, (file, _) in results.TABLES.items() if "provenance" in _json(file)]


@pytest.mark.parametrize("name", TRANSCRIBED)
def test_transcribed_tables_equal_their_files(name):
    file, render = results.TABLES[name]
    data = _json(file)
    table = render()
    assert table.header == data["columns"]
    assert len(table.rows) == len(data["rows"]) > 0
    digits = data.get("digits") or [None] * len(data["columns"])
    for rendered, stored in zip(table.rows, data["rows"], strict=True):
        for text, value, d in zip(rendered, stored, digits, strict=True):
            if isinstance(value, list):
                assert text == f"{value[0]:.{d}f} ± {value[1]:.{d}f}"
            elif isinstance(value, float):
                assert text == f"{value:.{d}f}"
            else:
                assert text == str(value)


@pytest.mark.parametrize("name", sorted({file for file, _ in results.TABLES.values()}))
def test_every_results_file_says_command_commit_and_machine(name):
    info = results.provenance(name)
    assert info["command"] and info["commit"] and info["machine"]
    text = results.provenance_text(name)
    assert info["command"] in text and f"benchmarks/{name}" in text


def test_every_table_is_on_a_results_page():
    pages = "\n".join(p.read_text() for p in (ROOT / "docs" / "results").glob("*.rst"))
    used = set(re.findall(r"^\.\. results-table:: (\S+)$", pages, flags=re.MULTILINE))
    assert used == set(results.TABLES)
    for file in re.findall(r"^\.\. results-provenance:: (\S+)$", pages, flags=re.MULTILINE):
        assert (BENCHMARKS / file).is_file(), file


def test_unknown_results_file_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="no_such_results.json"):
        results.load("no_such_results.json")


# -- the README and the docs' front page -------------------------------------------
README = (ROOT / "README.md").read_text(encoding="utf-8")
HASHERS = [
    name
    for name in skhash.__all__
    if inspect.isclass(getattr(skhash, name))
    and issubclass(getattr(skhash, name), skhash.BaseHasher)
    and getattr(skhash, name) is not skhash.BaseHasher
]


def test_readme_is_a_front_door():
    assert len(README.splitlines()) <= 200
    assert not re.search(r"\b[0-9a-f]{7,40}\b", README), "no commit hashes in the README"
    assert "load average" not in README
    headings = re.findall(r"^## (.+)$", README, flags=re.MULTILINE)
    assert headings[:6] == [
        "Hashers",
        "Install",
        "The two commands",
        "Quick start",
        "Search",
        "Results",
    ]
    for page in re.findall(r"\]\((docs/results/[\w.]+)\)", README):
        assert (ROOT / page).is_file(), page
    assert len(re.findall(r"\]\(docs/results/", README)) == 7


def test_readme_and_front_page_list_every_hasher():
    table = [line for line in README.splitlines() if line.startswith("| `")]
    in_readme = {re.match(r"\| `(\w+)`", line).group(1) for line in table}
    front = (ROOT / "docs" / "index.rst").read_text(encoding="utf-8")
    on_front_page = set(re.findall(r":class:`~skhash\.(\w+Hasher)`", front))
    assert set(HASHERS) <= in_readme, sorted(set(HASHERS) - in_readme)
    assert set(HASHERS) <= on_front_page, sorted(set(HASHERS) - on_front_page)
    for line in table:  # hasher | family | learns from | paper
        assert len([c for c in line.strip("|").split("|") if c.strip()]) == 4, line


def test_readme_families_are_the_front_page_sections():
    # Each hasher's family in the README is the section of the front page that lists it.
    front = (ROOT / "docs" / "index.rst").read_text(encoding="utf-8")
    section_of = {}
    section = None
    lines = front.splitlines()
    for line, underline in zip(lines, lines[1:] + [""], strict=True):
        if underline and set(underline) == {"-"} and len(underline) == len(line):
            section = line.lower()
        for name in re.findall(r":class:`~skhash\.(\w+Hasher)`", line):
            section_of.setdefault(name, section)
    for line in README.splitlines():
        if match := re.match(r"\| `(\w+Hasher)` \| ([\w ]+) \|", line):
            assert section_of.get(match.group(1)) == match.group(2).strip(), line


def test_readme_commands_are_the_two_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    main = 'pip install torch==2.13.0 && pip install -e ".[all]" && python -m skhash'
    tests = 'pip install torch==2.13.0 && pip install -e ".[all]" && python -m pytest'
    assert main + "\n" in blocks and tests + "\n" in blocks
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci
    assert "pip install scikit-hashing" in README


def test_readme_headline_verdicts_follow_the_results():
    verdicts = {key: v["verdict"] for key, v in results.claim_verdicts().items()}
    headline = README[README.index("## Results") :]
    headline = " ".join(headline.split())
    assert "DSTDH beats every unsupervised method at every code length and on every seed" in (
        headline
    )
    assert verdicts["dstdh_beats_unsupervised"] == "yes"
    assert "beats CCA-ITQ, which learns from the same tags, in mAP but not in mAP@1000" in headline
    assert verdicts["dstdh_beats_cca_itq"] == "yes"
    assert verdicts["dstdh_beats_cca_itq_at_1000"] != "yes"
    assert "WSIH beats every unsupervised deep baseline on both datasets" in headline
    for dataset in ("mirflickr25k", "cifar10"):
        assert verdicts[f"wsih_beats_deep_baselines_{dataset}"] == "yes"
    assert "its fit is not shorter than theirs" in headline
    assert verdicts["wsih_fits_faster_mirflickr25k"] == "no"
    assert verdicts["wsih_fits_faster_cifar10"] == "no"


def test_readme_sentence_on_224_px_follows_the_results():
    """The unsupervised deep hashers gain more from 224 px features than DSTDH and WSIH."""
    headline = " ".join(README[README.index("## Results") :].split())
    assert "the unsupervised deep hashers gain more than DSTDH and WSIH" in headline

    def means(name):
        groups = {}
        for r in _json(name)["results"].values():
            if r["dataset"] == "mirflickr25k" and not r.get("skipped"):
                groups.setdefault((r["method"], r["n_bits"]), []).append(r["mAP"])
        return {key: np.mean(values) for key, values in groups.items()}

    assert "DSTDH stays ahead of every unsupervised method in the mean but not on every seed" in (
        headline
    )
    assert "WSIH falls behind Bi-half in mAP on MIRFlickr-25K" in headline
    verdicts = results.claim_verdicts("compare_results_224.json")
    dstdh = verdicts["dstdh_beats_unsupervised"]
    assert dstdh["verdict"] == "partly"
    assert all(margin > 0 for margin, _, _, _ in dstdh["by_bits"].values())
    wsih = verdicts["wsih_beats_deep_baselines_mirflickr25k"]
    assert wsih["verdict"] == "no"
    assert {best for _, best, _, _ in wsih["by_bits"].values()} == {"BiHalf"}
    at_128, at_224 = means("compare_results.json"), means("compare_results_224.json")
    for n_bits in (16, 32, 64):
        gain = {m: at_224[m, n_bits] - at_128[m, n_bits] for m in results.DEEP_BASELINES}
        for weak in ("DSTDH", "WSIH"):
            assert at_224[weak, n_bits] - at_128[weak, n_bits] < max(gain.values()), n_bits
    # 224 px is not better for every method: --image-size keeps 128 by default
    assert at_224["SH", 16] < at_128["SH", 16]
    from skhash.benchmark import load_mirflickr_benchmark

    default = inspect.signature(load_mirflickr_benchmark).parameters["image_size"].default
    assert default == 128


@pytest.mark.slow
def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the search example saves an index in the current folder
    for block in re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL):
        exec(compile(block, "README.md", "exec"), {})
    assert (tmp_path / "digits.index" / "header.json").is_file()


def test_readme_supervised_table_is_its_results_file():
    lines = results.supervised_readme_lines()
    assert "\n".join(lines) in README, "regenerate with docs/_ext: supervised_readme_lines()"
    assert len(lines) >= 3  # header, rule, a dataset at least


def test_supervised_gaps_leave_out_a_diverged_row_and_say_so():
    """Hand-made rows: DSH diverged on one seed, HashNet leads; shares by hand."""
    from skhash_supervised_results import gaps, summary

    names, _ = results.supervised_setting()
    mAP = {"ITQ": 0.5, "DSTDH": 0.6, "WSIH": 0.55, "SDH": 0.7, "HashNet": 0.9, "DSH": 0.99}
    rows = {}
    for seed in (0, 1):
        for name in names:
            row = {"dataset": "mirflickr25k", "n_bits": 16, "method": name, "random_state": seed}
            if name == "DSH" and seed == 0:
                row["diverged"] = True
            else:
                row["mAP"] = mAP.get(name, 0.65)
            rows[f"{name}|{seed}"] = row
    (entry,) = gaps(rows)
    assert entry["diverged"] == ["DSH"] and "DSH" not in entry["mAP"]
    assert entry["leader"] == "HashNet" and entry["seeds"] == [0, 1]
    assert entry["recovered"]["DSTDH"] == pytest.approx(0.25)  # (0.6 - 0.5) / (0.9 - 0.5)
    assert entry["gap"]["WSIH"] == pytest.approx(0.35)
    text = summary(rows)
    assert "Left out, a fit having diverged: DSH at 16 bits." in text
    assert "Below SDH, the classical supervised method: DPSH, CSQ, OrthoHash at 16 bits." in text


def test_readme_supervised_words_follow_the_results():
    from skhash_supervised_results import below_sdh

    headline = " ".join(README[README.index("Full against weak supervision") :].split())
    gaps = results.supervised_gaps()
    assert "DSTDH and WSIH recover less than two thirds of the best supervised hasher's gain" in (
        headline
    )
    assert all(share < 2 / 3 for e in gaps for share in e["recovered"].values())
    assert "WSIH recovers more of it on CIFAR-10, DSTDH more on MIRFlickr-25K" in headline
    for e in gaps:
        weak, strong = (
            ("DSTDH", "WSIH") if e["dataset"].startswith("cifar10") else ("WSIH", "DSTDH")
        )
        assert e["recovered"][strong] > e["recovered"][weak], (e["dataset"], e["n_bits"])
    assert "some deep supervised hashers land below SDH" in headline
    assert any(below_sdh(e) for e in gaps)
    still_to_run = "`cifar10-2`, with 50,000 training images, is still to run" in headline
    measured = any(e["dataset"] == "cifar10:cifar10-2" for e in gaps)
    assert still_to_run != measured, "the README says whether cifar10-2 has results"


def _learning_curve_means(image_size, column):
    """``{(method, n_train): mean of column}`` of the learning curve's default rows."""
    groups = {}
    for r in _json("learning_curve_results.json")["rows"]:
        if r["image_size"] == image_size and r["n_bits"] == 32 and not r.get("tag"):
            groups.setdefault((r["method"], r["n_train"]), []).append(r[column])
    return {key: float(np.mean(values)) for key, values in groups.items()}


def test_learning_curve_page_findings_follow_the_results():
    """The words of docs/results/learning_curve.rst ("What was found"), checked on the files."""
    page = (ROOT / "docs" / "results" / "learning_curve.rst").read_text(encoding="utf-8")
    sizes = (2000, 5000, 10000)
    m224, at224 = _learning_curve_means(224, "mAP"), _learning_curve_means(224, "mAP@1000")
    m128 = _learning_curve_means(128, "mAP")
    dstdh, ablation, wsih = "DSTDH", "DSTDH, no tags", "WSIH"
    # "DSTDH leads Bi-half by about 0.01 mAP with 2,000 training photos and ties it with 5,000
    # and 10,000; its tag gain over its no-tags ablation stays under 0.01 mAP, and its
    # mAP@1000 stays below the ablation's"
    assert "leads Bi-half by about 0.01 mAP with 2,000" in page
    assert 0.005 <= m224[dstdh, 2000] - m224["BiHalf", 2000] <= 0.015
    assert all(abs(m224[dstdh, n] - m224["BiHalf", n]) < 0.005 for n in sizes[1:])
    assert all(0 < m224[dstdh, n] - m224[ablation, n] < 0.01 for n in sizes)
    assert all(at224[dstdh, n] < at224[ablation, n] for n in sizes)
    # "at 128 px it is larger with 5,000 and 10,000 photos than with 2,000"
    gain128 = {n: m128[dstdh, n] - m128[ablation, n] for n in sizes}
    assert gain128[5000] > gain128[2000] and gain128[10000] > gain128[2000]
    # "At 128 px both seed methods keep a clear lead": DSTDH over its ablation and Bi-half,
    # WSIH over Bi-half; WSIH's lead over its transfers-off ablation closes at 10,000
    for n in sizes:
        assert m128[dstdh, n] > max(m128[ablation, n], m128["BiHalf", n])
        assert m128[wsih, n] > m128["BiHalf", n]
    assert abs(m128[wsih, 10000] - m128["WSIH, transfers off", 10000]) < 0.002
    # "WSIH stays below Bi-half at 224 px, in mAP at every training size and in mAP@1000
    # from 5,000 photos on ... It stays above SSDH, GreedyHash and its transfers-off ablation"
    assert all(m224[wsih, n] < m224["BiHalf", n] for n in sizes)
    assert at224[wsih, 2000] > at224["BiHalf", 2000]
    assert all(at224[wsih, n] < at224["BiHalf", n] for n in sizes[1:])
    for rival in ("SSDH", "GreedyHash", "WSIH, transfers off"):
        assert all(m224[wsih, n] > m224[rival, n] for n in sizes), rival
    # "h1000-ts3, which leads the ablation by about 0.02 but Bi-half by about 0.01" (5,000)
    variant = [
        r["mAP"]
        for r in _json("learning_curve_tuning.json")["rows"]
        if (r["tag"], r["image_size"], r["n_train"], r["method"]) == ("h1000-ts3", 224, 5000, dstdh)
    ]
    assert len(variant) == 3
    assert 0.015 <= np.mean(variant) - m224[ablation, 5000] <= 0.025
    assert 0.005 <= np.mean(variant) - m224["BiHalf", 5000] <= 0.015


def test_end_to_end_cost_words_follow_the_results():
    """docs/results/end_to_end.rst: the DSTDH goal missed, k=1 and k=2 epochs alike."""
    page = (ROOT / "docs" / "results" / "end_to_end.rst").read_text(encoding="utf-8")
    runs = _json("bench_end_to_end_results.json")["runs"]
    dstdh = [r for r in runs if r["name"] == "dstdh" and r["n_photos"] == 5000]
    assert "within 5 minutes on 2 cores is not met" in page and "over 300 s" in page
    assert len(dstdh) == 1 and dstdh[0]["wall"] > 300 and dstdh[0]["cpu"] > 300
    # "k=1 and k=2 epochs cost about the same": the fastest epoch of each, 1,000 photos
    fastest = {
        k: min(min(r["epoch_wall"]) for r in runs if r["name"] == "epoch"
               and r["trainable_blocks"] == k and r["n_photos"] == 1000)
        for k in (1, 2)
    }  # fmt: skip
    assert "cost about the same" in page
    assert 1 / 1.5 < fastest[2] / fastest[1] < 1.5, fastest
