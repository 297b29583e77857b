"""The processor and thread pools a benchmark ran on, for its results file.

Speed ratios differ between processors (AMD and Intel, with or without
AVX-512, VPOPCNTDQ, AMX), so every results file names the processor: vendor
and model from ``lscpu``, the vector extensions LLVM (hence numba) compiles
for, and the BLAS/OpenMP libraries of ``threadpoolctl``.
"""

import os
import platform
import subprocess

_EXTENSIONS = ("avx2", "fma", "avx512", "amx", "popcnt", "vnni", "bf16", "f16c")


def _lscpu():
    try:
        text = subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def machine_info():
    """Processor vendor, model, vector extensions, cores, load and thread libraries."""
    import llvmlite.binding as llvm
    import numba
    from threadpoolctl import threadpool_info

    cpu = _lscpu()
    flags = cpu.get("Flags", "").split()
    llvm_features = sorted(
        f[1:]
        for f in llvm.get_host_cpu_features().flatten().split(",")
        if f.startswith("+") and any(f[1:].startswith(e) for e in _EXTENSIONS)
    )
    return {
        "vendor": cpu.get("Vendor ID", platform.processor()),
        "model": cpu.get("Model name", ""),
        "cpu_family_model": f"{cpu.get('CPU family', '?')}/{cpu.get('Model', '?')}",
        "vector_extensions": sorted(f for f in flags if any(f.startswith(e) for e in _EXTENSIONS)),
        "llvm_cpu": llvm.get_host_cpu_name(),
        "llvm_features": llvm_features,
        "logical_cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "numba": numba.__version__,
        "thread_libraries": sorted(
            {
                f"{i['internal_api']} {i.get('version')} {i.get('architecture') or ''}".strip()
                for i in threadpool_info()
            }
        ),
    }


def describe(info):
    """One line naming the processor of :func:`machine_info`."""
    return (
        f"{info['vendor']} {info['model']} (LLVM cpu {info['llvm_cpu']}; "
        f"{', '.join(info['vector_extensions'])}), {info['logical_cpus']} logical CPUs, "
        f"load {info['load_average_1min']}"
    )
