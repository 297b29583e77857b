"""Cost of fine-tuning the top of the image network: cache, epochs, memory, a bare torch loop.

Usage::

    python benchmarks/bench_end_to_end.py [--n-photos 5000] [--n-all 300] [--epochs 2]
        [--dstdh] [--out benchmarks/bench_end_to_end_results.json]

On the first ``--n-photos`` MIRFlickr-25K photos at 128 px, each measurement
in a child process of its own (its peak resident memory is the child's
``ru_maxrss``), one after the other in one run, so the ratios compare
contenders on the same machine state:

- ``cache k``: the one-off cost of the frozen part's outputs (a fresh cache
  folder; ``k=0`` is the features themselves) and the cache's disk use;
- ``epoch k``: seconds an epoch of ``GreedyHashHasher(n_bits=32,
  extractor=ImageFeatureExtractor(image_size=128, trainable_blocks=k))`` with
  the cache present (wall and CPU time from a callback around each epoch; the
  table shows the fastest epoch, the least disturbed by other jobs);
  ``"all"`` trains every layer, on ``--n-all`` photos only (it does not fit
  on 2 cores otherwise), per photo figures scale it;
- ``bare``: the same epochs as a plain torch loop (the same trunk, hash layer,
  loss, SGD, batch size and cached activations, no skorch): the overhead of
  skhash's plumbing is the ratio of ``epoch 1`` to it;
- ``dstdh`` (``--dstdh``): ``DSTDHHasher(n_bits=32, extractor=...(k=1))``
  fitted with its defaults, the whole fit, cache present.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, machine_info  # noqa: E402
from cache_features import DEFAULT_DATA_HOME  # noqa: E402

SIZE = 128


def _paths(n):
    from skhash.datasets import load_mirflickr25k

    return load_mirflickr25k(Path(DEFAULT_DATA_HOME) / "mirflickr25k").paths[:n]


def _extractor(k, cache_dir):
    from skhash.features import ImageFeatureExtractor

    return ImageFeatureExtractor(
        image_size=SIZE, trainable_blocks=k, cache_dir=cache_dir, device="cpu"
    )


def _disk(folder):
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())


class _Clock:
    """skorch callback: wall and CPU seconds of each epoch in the history."""

    def __new__(cls):
        from skorch.callbacks import Callback

        class Clock(Callback):
            def on_epoch_begin(self, net, **kwargs):
                self.start_ = (time.perf_counter(), time.process_time())

            def on_epoch_end(self, net, **kwargs):
                wall, cpu = time.perf_counter(), time.process_time()
                net.history.record("wall", wall - self.start_[0])
                net.history.record("cpu", cpu - self.start_[1])

        return Clock()


def _k(value):
    return value if value == "all" else int(value)


def run_one(name, k, n, epochs, cache_dir):
    """One measurement (in the child process); returns its dict."""
    from skhash._finetune import frozen_outputs

    paths = _paths(n)
    extractor = _extractor(k, cache_dir)
    out = {"name": name, "trainable_blocks": k, "n_photos": n}
    wall, cpu = time.perf_counter(), time.process_time()
    if name == "cache":
        inputs = frozen_outputs(extractor.fit(paths), paths)
        out.update(shape=list(inputs.shape), dtype=str(inputs.dtype))
    elif name == "epoch":
        from skhash import GreedyHashHasher

        hasher = GreedyHashHasher(
            n_bits=32, max_epochs=epochs, extractor=extractor, random_state=0, callbacks=[_Clock()]
        ).fit(paths)
        out.update(
            epoch_wall=hasher.net_.history[:, "wall"], epoch_cpu=hasher.net_.history[:, "cpu"]
        )
    elif name == "bare":
        out.update(_bare_loop(extractor.fit(paths), paths, epochs))
    elif name == "pairs":
        out.update(_pairs(extractor, paths, epochs))
    elif name == "dstdh":
        from skhash import DSTDHHasher
        from skhash.datasets import load_mirflickr25k

        tags = load_mirflickr25k(Path(DEFAULT_DATA_HOME) / "mirflickr25k").tags[:n]
        hasher = DSTDHHasher(n_bits=32, extractor=extractor, random_state=0).fit(paths, tags=tags)
        out.update(max_epochs=hasher.max_epochs, n_rounds=hasher.n_rounds)
    out.update(
        wall=time.perf_counter() - wall,
        cpu=time.process_time() - cpu,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    return out


def _bare_setup(extractor, paths):
    """The cached activations, the pretrained centred features, a trunk, head, loss, SGD."""
    import torch

    from skhash._finetune import Trunk, frozen_outputs, split_point
    from skhash.estimators._deep_baselines_modules import FeatureMLP, GreedyHashLoss

    A = torch.as_tensor(frozen_outputs(extractor, paths))
    trunk = Trunk(extractor.model, SIZE, split_point(extractor.trainable_blocks))
    with torch.no_grad():
        F = torch.cat([trunk(chunk) for chunk in A.split(256)])
    mean = F.mean(dim=0)
    torch.manual_seed(0)
    head = FeatureMLP(F.shape[1], 32)
    params = [*trunk.parameters(), *head.parameters()]
    opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9, weight_decay=5e-4)
    return A, F - mean, mean, trunk, head, GreedyHashLoss(), opt


def _bare_epoch(A, F, mean, trunk, head, loss_fn, opt):
    """One GreedyHash epoch as a plain torch loop; returns (wall, CPU) seconds."""
    import torch

    wall, cpu = time.perf_counter(), time.process_time()
    order = torch.randperm(len(A))
    for start in range(0, len(A), 32):
        idx = order[start : start + 32]
        if len(idx) < 2:
            continue
        opt.zero_grad()
        loss = loss_fn(head(trunk(A[idx]) - mean), F[idx])
        loss = loss[0] if isinstance(loss, tuple) else loss
        loss.backward()
        opt.step()
    return time.perf_counter() - wall, time.process_time() - cpu


def _bare_loop(extractor, paths, epochs):
    """GreedyHash's epochs as a plain torch loop over the cached activations."""
    setup = _bare_setup(extractor, paths)
    walls, cpus = zip(*[_bare_epoch(*setup) for _ in range(epochs)], strict=True)
    return {"epoch_wall": list(walls), "epoch_cpu": list(cpus)}


def _pairs(extractor, paths, epochs):
    """skhash's epochs (``net_.partial_fit``) and the bare loop's, alternating, one process."""
    from skhash import GreedyHashHasher
    from skhash.estimators._torch import ArrayDataset

    hasher = GreedyHashHasher(n_bits=32, max_epochs=1, extractor=extractor, random_state=0)
    hasher.set_params(callbacks=[_Clock()]).fit(paths)
    setup = _bare_setup(hasher.extractor_, paths)
    A, F = setup[0], setup[1]
    dataset = ArrayDataset(A, F, device=hasher.device_)  # what the hasher's fit trained on
    out = {"skhash_wall": [], "skhash_cpu": [], "bare_wall": [], "bare_cpu": []}
    for _ in range(epochs):
        hasher.net_.partial_fit(dataset)
        out["skhash_wall"].append(hasher.net_.history[-1, "wall"])
        out["skhash_cpu"].append(hasher.net_.history[-1, "cpu"])
        wall, cpu = _bare_epoch(*setup)
        out["bare_wall"].append(wall)
        out["bare_cpu"].append(cpu)
    return out


def _child(args, name, k, n, cache_dir, epochs=None):
    epochs = args.epochs if epochs is None else epochs
    cmd = [sys.executable, __file__, "--child", name, str(k), str(n), str(epochs), cache_dir]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode:
        sys.stderr.write(result.stderr[-3000:])
        raise RuntimeError(f"{name} k={k} failed")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    print(json.dumps(out), flush=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-photos", type=int, default=5000)
    parser.add_argument("--n-all", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--dstdh", action="store_true")
    parser.add_argument("--ks", nargs="+", type=_k, default=[0, 1, 2, "all"])
    parser.add_argument(
        "--repeats", type=int, default=1, help="epoch runs (k=1: with the bare loop)"
    )
    parser.add_argument("--append", action="store_true", help="add to the runs of --out")
    parser.add_argument("--pairs", type=int, default=0, help="alternating k=1 epochs, 1 process")
    parser.add_argument(
        "--out", default=str(Path(__file__).with_name("bench_end_to_end_results.json"))
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, k, n, epochs, cache_dir = args.child
        print(json.dumps(run_one(name, _k(k), int(n), int(epochs), cache_dir)))
        return
    info = machine_info()
    print(describe(info), flush=True)
    results = {"machine": info, "image_size": SIZE, "epochs": args.epochs, "runs": []}
    if args.append and Path(args.out).exists():
        results["runs"] = json.loads(Path(args.out).read_text())["runs"]
    runs = results["runs"]
    with tempfile.TemporaryDirectory() as root:
        for k in args.ks:
            n = args.n_all if k == "all" else args.n_photos
            cache_dir = os.path.join(root, f"k{k}")
            run = _child(args, "cache", k, n, cache_dir)
            run["disk_mb"] = _disk(cache_dir) / 2**20
            runs.append(run)
            for _ in range(args.repeats if k == 1 else min(args.repeats, 1)):
                runs.append(_child(args, "epoch", k, n, cache_dir))
                if k == 1:  # alternating with skhash's, against the machine's drift
                    runs.append(_child(args, "bare", k, n, cache_dir))
            if k == 1 and args.pairs:
                runs.append(_child(args, "pairs", k, n, cache_dir, epochs=args.pairs))
            if k == 1 and args.dstdh:
                runs.append(_child(args, "dstdh", k, n, cache_dir))
    results.update(_table(runs, info, argv))
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    for row in results["rows"]:
        print(" | ".join(row))


_WHAT = {
    "cache": "frozen outputs, once",
    "epoch": "GreedyHash epoch (skhash)",
    "bare": "the same epoch, bare torch loop",
    "dstdh": "DSTDH fit, defaults",
}


def _pairs_row(run, k, n):
    """Alternating epochs: skhash's median epoch, and the median ratio to the bare loop's."""
    import statistics

    wall = statistics.median(run["skhash_wall"])
    cpu = statistics.median(run["skhash_cpu"])
    pairs = zip(
        run["skhash_wall"], run["bare_wall"], run["skhash_cpu"], run["bare_cpu"], strict=True
    )
    ratios = [(sw / bw, sc / bc) for sw, bw, sc, bc in pairs]
    ratio_wall = statistics.median(r[0] for r in ratios)
    ratio_cpu = statistics.median(r[1] for r in ratios)
    return [
        f"GreedyHash epoch (skhash), alternating with the bare loop, median of {len(ratios)}",
        str(k), str(n), f"{wall:.1f} ({cpu:.1f})", f"{1000 * wall / n:.1f}",
        f"{run['peak_rss_mb']:.0f}", "", f"{ratio_wall:.2f} x bare ({ratio_cpu:.2f} CPU)",
    ]  # fmt: skip


def _table(runs, info, argv):
    """The table (strings) and its provenance, in the results pages' format.

    Epochs show the fastest epoch, and repeated measurements (``--repeats``,
    ``--append``) their best: the least disturbed by the machine's other jobs.
    """
    groups = {}
    for r in runs:
        groups.setdefault((r["name"], r["trainable_blocks"], r["n_photos"]), []).append(r)
    rows = []
    for (name, k, n), group in groups.items():
        if name == "pairs":
            rows += [_pairs_row(r, k, n) for r in group]
            continue
        if name in ("epoch", "bare"):
            wall = min(min(r["epoch_wall"]) for r in group)
            cpu = min(min(r["epoch_cpu"]) for r in group)
        else:
            wall, cpu = min(r["wall"] for r in group), min(r["cpu"] for r in group)
        # separate runs minutes apart saw different loads: the ratio is the alternating row's
        ratio = ""
        disk = [r["disk_mb"] for r in group if "disk_mb" in r]
        rows.append([
            _WHAT[name] + (f", best of {len(group)}" if len(group) > 1 else ""), str(k), str(n),
            f"{wall:.1f} ({cpu:.1f})", f"{1000 * wall / n:.1f}",
            f"{max(r['peak_rss_mb'] for r in group):.0f}", f"{disk[0]:.1f}" if disk else "", ratio,
        ])  # fmt: skip
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {
        "provenance": {
            "command": " ".join(["python benchmarks/bench_end_to_end.py", *(argv or sys.argv[1:])]),
            "commit": commit,
            "machine": describe(info),
            "source": "written by the command (--out)",
        },
        "columns": [
            "measurement",
            "trainable_blocks",
            "photos",
            "wall s (CPU s)",
            "wall s per 1,000 photos",
            "peak RSS MB",
            "disk MB",
            "ratio",
        ],  # fmt: skip
        "digits": None,
        "rows": rows,
    }


if __name__ == "__main__":
    main()
