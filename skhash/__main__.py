"""The command line: ``python -m skhash`` (also installed as ``skhash-benchmark``).

It parses the arguments and calls :mod:`skhash.benchmark`: :func:`~skhash.benchmark.run`
fits and evaluates the hashers, :meth:`~skhash.benchmark.BenchmarkResults.save`
writes the files; ``python -m skhash compare`` calls
:mod:`skhash.benchmark.compare`. ``python -m skhash --help`` says what each
option does (its text: ``docs/_static/cli_help.txt``).
"""

import argparse
import shutil
import sys
import textwrap
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import benchmark
from .benchmark import compare
from .benchmark._messages import log
from .benchmark.datasets import MIN_IMAGE_SIZE
from .benchmark.registry import FAMILIES, METHODS
from .benchmark.results import FILES
from .benchmark.runner import GALLERY_QUERIES, MAX_CODE_BITS

HELP_WIDTH = 99  # the longest line of --help, whatever the terminal's width

_SIDE = {"tags": "tags", "web set": "a web set", "labels": "labels"}


def _formatter(prog: str) -> argparse.HelpFormatter:
    width = min(HELP_WIDTH, shutil.get_terminal_size().columns - 1)
    return argparse.RawDescriptionHelpFormatter(prog, width=width, max_help_position=28)


def _methods_text() -> str:
    """The registry's methods, each named once, grouped by family."""
    lines = ["methods (--methods NAME ..., default: all of them):"]
    label = max(len(f) for f in FAMILIES) + 2
    for family in FAMILIES:
        names = []
        for name, method in METHODS.items():
            if method.family == family:
                side = method.side_input
                names.append(f"{name} ({_SIDE[side]})" if side else name)
        if names:
            text = textwrap.fill(
                ", ".join(names),
                width=HELP_WIDTH - 2 - label,
                break_on_hyphens=False,
            )
            text = textwrap.indent(text, " " * (label + 2))
            lines.append("  " + family.ljust(label) + text[label + 2 :])
    lines.append(
        "  Each runs at the code lengths it can learn from the dataset; the others are\n"
        "  skipped, with the reason on the fit's line (a usage error if named by --methods)."
    )
    return "\n".join(lines)


def _files_text() -> str:
    lines = [
        "files written to --output (if it holds an earlier run's files: a new folder",
        "skhash_results-2, ... unless --overwrite):",
    ]
    width = max(map(len, FILES)) + 2
    for name, what in FILES.items():
        wrapped = textwrap.wrap(what, width=HELP_WIDTH - 4 - width)
        lines.append("  " + name.ljust(width) + wrapped[0])
        lines += [" " * (2 + width) + more for more in wrapped[1:]]
    return "\n".join(lines)


EXAMPLES = """\
examples:
  python -m skhash --methods LSH ITQ --bits 16 32
  python -m skhash --dataset mirflickr25k --data-home ~/data/mirflickr --random-state 0 1 2
  python -m skhash compare --mirflickr-home ~/data/mirflickr --cifar10-home ~/data/cifar-10"""


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _code_length(text: str) -> int:
    """``--bits`` values: positive multiples of 8, evaluable by skhash.metrics."""
    value = _int(text)
    if value < 8 or value % 8 or value > MAX_CODE_BITS:
        raise argparse.ArgumentTypeError(
            f"{value} is not a code length: a multiple of 8 between 8 and {MAX_CODE_BITS}"
        )
    return value


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _seed(text: str) -> int:
    """``--random-state`` values: seeds of numpy's RandomState."""
    value = _int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**32 - 1, got {value}")
    return value


def benchmark_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m skhash``."""
    parser = argparse.ArgumentParser(
        prog="python -m skhash",
        usage="python -m skhash [options]\n       python -m skhash compare [options]",
        description=(
            "Fit skhash's hashers on one dataset at several code lengths, print a retrieval\n"
            "table (mean ± std over the random states) and save the results, the\n"
            "precision-recall curves and an HTML report.\n\n"
            "subcommands:\n"
            "  compare   compare the methods in two papers' settings, social and webly,\n"
            "            and in the supervised setting (CIFAR-10 protocols, MIRFlickr-25K\n"
            "            labels), resumable (python -m skhash compare --help)"
        ),
        epilog="\n\n".join([_methods_text(), _files_text(), EXAMPLES]),
        formatter_class=_formatter,
    )
    parser.add_argument(
        "--dataset",
        choices=benchmark.DATASETS,
        default="digits",
        help="digits (embedded, default), mirflickr25k or cifar10",
    )
    parser.add_argument(
        "--data-home",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of the dataset (required for mirflickr25k and cifar10)",
    )
    parser.add_argument(
        "--bits",
        type=_code_length,
        nargs="+",
        default=[16, 32, 64],
        metavar="N",
        help="code lengths, multiples of 8 (default 16 32 64)",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=None,
        metavar="NAME",
        help="hashers to run, by the names below (default: all of them)",
    )
    parser.add_argument(
        "--n-queries",
        type=_positive_int,
        default=None,
        metavar="N",
        help=f"queries of digits (default 300) or mirflickr25k (default 2000); at least "
        f"{GALLERY_QUERIES}, the queries of the report's galleries",
    )
    parser.add_argument(
        "--n-train",
        type=_positive_int,
        default=None,
        metavar="N",
        help="training photos of mirflickr25k (default 5000)",
    )
    parser.add_argument(
        "--random-state",
        type=_seed,
        nargs="+",
        default=[0],
        metavar="SEED",
        help="one or more random states; each draws the split and seeds the hashers, and the "
        "table shows mean ± std over them (default 0)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="feature cache (default: $SKHASH_CACHE_DIR or ~/.cache/skhash)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("skhash_results"),
        metavar="DIR",
        help="folder of the files written (default skhash_results; see below)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="write into --output even if it holds an earlier run's files",
    )
    parser.add_argument(
        "--n-threads",
        type=_positive_int,
        default=1,
        metavar="N",
        help="threads of each thread pool (BLAS, torch, numba) during the run (default 1: "
        "the fits are small, and several pools spinning on the same cores slowed the digits "
        "run 10x on a busy 2-core machine; with 1 the results do not depend on the machine)",
    )
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more progress output: -v also shows the hashers' own progress (epochs)",
    )
    talk.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bars or messages; only the table and the saved files",
    )
    return parser


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors (exit status 2) naming the option, for values known before loading data."""
    for flag in ("bits", "methods", "random_state"):
        values = getattr(args, flag)
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            parser.error(f"argument --{flag.replace('_', '-')}: {repeated[0]} is given twice")
    if args.dataset == "digits":
        if args.data_home is not None:
            parser.error("argument --data-home: not used by --dataset digits (embedded data)")
    else:
        home = args.data_home
        if home is None:
            parser.error(f"argument --data-home: required for --dataset {args.dataset}")
        if not home.is_dir():
            what = "is not a folder" if home.exists() else "does not exist"
            parser.error(f"argument --data-home: {home} {what}")
        if not any(home.iterdir()):
            parser.error(f"argument --data-home: {home} is empty")
    if args.dataset == "cifar10" and args.n_queries is not None:
        parser.error(
            "argument --n-queries: not used by --dataset cifar10 (its queries are the first "
            "200 test images of each class)"
        )
    if args.dataset != "mirflickr25k" and args.n_train is not None:
        parser.error(f"argument --n-train: not used by --dataset {args.dataset}")
    if args.cache_dir is not None and args.cache_dir.exists() and not args.cache_dir.is_dir():
        parser.error(f"argument --cache-dir: {args.cache_dir} exists and is not a folder")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m skhash`` (``python -m skhash compare ...``: the comparison)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["compare"]:
        return compare_main(argv[1:])
    parser = benchmark_parser()
    args = parser.parse_args(argv)
    verbose = 0 if args.quiet else 1 + args.verbose
    methods_named = args.methods is not None
    if not methods_named:
        args.methods = list(METHODS)
    _check_args(parser, args)
    try:
        output = benchmark.output_folder(args.output, overwrite=args.overwrite)
    except ValueError as exc:  # its message names --output
        parser.error(str(exc))
    except OSError as exc:
        parser.error(f"argument --output: {exc}")
    if output != args.output:
        log(verbose, f"{args.output} holds an earlier run's results: writing to {output}")
    try:
        results = benchmark.run(
            args.methods if methods_named else None,
            dataset=args.dataset,
            n_bits=args.bits,
            random_state=args.random_state,
            data_home=args.data_home,
            n_queries=args.n_queries,
            n_train=args.n_train,
            cache_dir=args.cache_dir,
            n_threads=args.n_threads,
            verbose=verbose,
        )
    except benchmark.UsageError as exc:
        parser.error(f"argument {exc.flag}: {exc}")
    results.metadata["command"] = ["python -m skhash", *argv]
    results.metadata["arguments"] = {
        key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()
    }
    print(results.description)
    print(
        "mAP: whole ranking, tie-aware; mAP@1000 normalised by the relevant items retrieved; "
        "P(r<=2): precision within Hamming radius 2, 0 for empty lookups"
    )
    if len(args.random_state) > 1:
        print(f"mean ± std over random states {args.random_state}")
    print(results.table())
    for path in results.save(output):
        print(f"saved {path}")
    return 0


def compare_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m skhash compare`` (:mod:`skhash.benchmark.compare`)."""
    parser = argparse.ArgumentParser(
        prog="python -m skhash compare",
        formatter_class=_formatter,
        description=(
            "Compare skhash's hashers in the DSTDH and WSIH papers' settings: social\n"
            "(MIRFlickr-25K with user tags) and webly (MIRFlickr-25K and CIFAR-10 with a web\n"
            "set). Each method enters the settings whose side information it learns from\n"
            "(features alone: all). The supervised setting (CIFAR-10 protocols cifar10,\n"
            "cifar10-1, cifar10-2 and MIRFlickr-25K with its 24 concepts as labels) compares\n"
            "the supervised methods with ITQ and the weakly supervised DSTDH and WSIH.\n"
            "Resumable: each result is stored in the --results file as it is measured."
        ),
        epilog="examples:\n  python -m skhash compare --mirflickr-home ~/data/mirflickr "
        "--cifar10-home ~/data/cifar-10\n"
        "  python -m skhash compare --settings supervised --mirflickr-home ~/data/mirflickr \\\n"
        "      --cifar10-home ~/data/cifar-10 --results compare_supervised_results.json",
    )
    parser.add_argument(
        "--settings",
        nargs="+",
        choices=compare.SETTINGS,
        default=["social", "webly"],
        metavar="NAME",
        help=f"settings to fill ({', '.join(compare.SETTINGS)}; default: social webly)",
    )
    datasets = sorted({d for entries in compare.SETTINGS.values() for d, _ in entries})
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=datasets,
        default=None,
        metavar="NAME",
        help=f"fill only these datasets of the settings ({', '.join(datasets)}; default: all)",
    )
    parser.add_argument(
        "--mirflickr-home", type=Path, default=None, metavar="DIR", help="MIRFlickr-25K folder"
    )
    parser.add_argument(
        "--cifar10-home", type=Path, default=None, metavar="DIR", help="CIFAR-10 folder"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=None,
        metavar="NAME",
        help="methods to run, named as in python -m skhash --help (default: every one that "
        "applies to a setting)",
    )
    parser.add_argument(
        "--bits", type=int, nargs="+", default=[16, 32, 64], metavar="N",
        help="code lengths (default 16 32 64)",
    )  # fmt: skip
    parser.add_argument(
        "--random-state", type=int, nargs="+", default=[0, 1, 2], metavar="SEED",
        help="random states (default 0 1 2)",
    )  # fmt: skip
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("compare_results.json"),
        metavar="FILE",
        help="JSON file of results, read and updated (default compare_results.json)",
    )
    parser.add_argument(
        "--image-size", type=int, default=128, metavar="PX",
        help="side (pixels) of the MIRFlickr-25K photos given to the feature extractor "
        "(default 128; 224 is ImageFeatureExtractor's default); one --results file a size",
    )  # fmt: skip
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR", help="feature cache")
    parser.add_argument(
        "--table-only",
        action="store_true",
        help="print the tables of the stored results, fit nothing",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    args = parser.parse_args(argv)
    if args.image_size < MIN_IMAGE_SIZE:
        parser.error(
            f"--image-size must be at least {MIN_IMAGE_SIZE} pixels; got {args.image_size}"
        )
    verbose = 0 if args.quiet else 1
    if args.table_only:
        results = compare.load_results(args.results)
    else:
        homes = {"mirflickr25k": args.mirflickr_home, "cifar10": args.cifar10_home}
        needed = {
            compare.data_home_of(d)
            for s in args.settings
            for d, _ in compare.SETTINGS[s]
            if args.datasets is None or d in args.datasets
        }
        for dataset in sorted(needed):
            if homes[dataset] is None:
                flag = "--mirflickr-home" if dataset == "mirflickr25k" else "--cifar10-home"
                parser.error(f"{flag} is required for the settings {args.settings}")
        results = compare.run_comparison(
            args.settings,
            data_homes=homes,
            results_path=args.results,
            methods=args.methods,
            bits=args.bits,
            random_states=args.random_state,
            datasets=args.datasets,
            cache_dir=args.cache_dir,
            verbose=verbose,
            image_size=args.image_size,
        )
    sizes = {r.get("image_size", 128) for r in results.values() if r["dataset"] == "mirflickr25k"}
    print(
        "mAP: whole ranking, tie-aware; mAP@1000 normalised by the relevant items retrieved; "
        f"mean ± std over random states {args.random_state}; fit_s: wall-clock seconds; "
        "EfficientNet-Lite0 features of MIRFlickr-25K at "
        f"{', '.join(map(str, sorted(sizes or {args.image_size})))} px, CIFAR-10 at 96 px"
    )
    print(
        compare.comparison_tables(
            results,
            args.settings,
            methods=args.methods,
            bits=args.bits,
            random_states=args.random_state,
        )
    )
    commits = sorted({str(r.get("commit")) for r in results.values()})
    print(f"\nmeasured at commit(s): {', '.join(commits)}")
    return 0


# The names this module held before the benchmark became the package skhash.benchmark.
_MOVED = (
    "COLUMNS", "DATASETS", "METHODS", "Method", "UsageError", "evaluate", "format_table",
    "load_cifar10_benchmark", "load_digits_benchmark", "load_mirflickr_benchmark",
    "make_hasher", "output_folder", "run_benchmark", "summarize",
)  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        warnings.warn(
            f"skhash.__main__.{name} moved to skhash.benchmark.{name}; import it from there.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(benchmark, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
