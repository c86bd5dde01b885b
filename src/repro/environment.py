"""What a result depends on besides the code: an allow-listed picture of the environment.

Runs in the kernel (``%repro env``, and ``repro-nb record`` asks the kernel for
it). Notebooks get published, so nothing here may identify a person or a
machine: no user names, host names, home paths or paths at all, and of the
environment variables only those in :data:`ENV_ALLOW_LIST`, and of those only
values of the strict shape :data:`ENV_SHAPES` gives each (others are stored as
``"<set>"``). Versions are stored only when they look like versions. Library
details are read only for libraries the notebook has already imported.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from typing import Any

# Shapes of values, all matched with ``fullmatch`` under ``re.ASCII``: ``[0-9]``, never ``\d``
# (which takes any Unicode digit), and ``re.ASCII`` also keeps ``re.IGNORECASE`` from folding
# non-ASCII letters ("ſ", "K") into ASCII ones. Nothing here admits "/", "\", "~", "@",
# whitespace or a letter outside the listed keywords, so no path, user name or UUID fits.
_COUNT = r"[0-9]{1,4}"
#: Thread counts: one number, or OpenMP's comma-separated list for nested levels ("4,2").
_THREADS = re.compile(rf"{_COUNT}(?:,{_COUNT}){{0,7}}", re.ASCII)
_SWITCH = re.compile(r"0|1|true|false", re.ASCII | re.IGNORECASE)
#: Device indices only ("0", "0,2", "-1", "" for no device). ``GPU-<uuid>`` and ``MIG-<uuid>``
#: select the same devices but name one machine's hardware, so they are never stored.
_DEVICES = re.compile(r"(?:(?:-1|[0-9]{1,3})(?:,(?:-1|[0-9]{1,3}))*)?", re.ASCII)
#: The allocator's own options (c10/cuda/CUDAAllocatorConfig): known keys, not any ``[a-z_]+``,
#: so that "alice:1" is not stored; an unknown or newer key is stored as "<set>".
_ALLOC_KEYS = (
    "backend", "max_split_size_mb", "max_non_split_rounding_mb", "garbage_collection_threshold",
    "roundup_power2_divisions", "expandable_segments", "release_lock_on_cudamalloc",
    "pinned_use_cuda_host_register", "pinned_num_register_threads", "pinned_use_background_threads",
    "pinned_reserve_segment_size_mb", "per_process_memory_fraction",
)
_ALLOC_PAIR = rf"(?:{'|'.join(_ALLOC_KEYS)}):(?:[0-9]{{1,10}}(?:\.[0-9]{{1,6}})?|True|False|native|cudaMallocAsync)"

#: Environment variables that change results, each with the one shape its value is stored in;
#: no other variable is ever recorded, and a value of any other shape is stored as "<set>".
ENV_SHAPES: dict[str, re.Pattern[str]] = {
    "PYTHONHASHSEED": re.compile(r"random|[0-9]{1,10}", re.ASCII),  # 0 .. 4294967295
    "CUBLAS_WORKSPACE_CONFIG": re.compile(r"(?::[0-9]{1,7}:[0-9]{1,4}){1,4}", re.ASCII),  # ":4096:8"
    "CUDA_VISIBLE_DEVICES": _DEVICES,
    "CUDA_LAUNCH_BLOCKING": _SWITCH,
    "OMP_NUM_THREADS": _THREADS,
    "MKL_NUM_THREADS": _THREADS,
    "OPENBLAS_NUM_THREADS": _THREADS,
    "BLIS_NUM_THREADS": _THREADS,
    "VECLIB_MAXIMUM_THREADS": _THREADS,
    "NUMEXPR_NUM_THREADS": _THREADS,
    "TF_DETERMINISTIC_OPS": _SWITCH,
    "TF_CUDNN_DETERMINISTIC": _SWITCH,
    "TF_CUDNN_USE_AUTOTUNE": _SWITCH,
    "TF_ENABLE_ONEDNN_OPTS": _SWITCH,
    "CUPY_SEED": re.compile(r"[0-9]{1,20}", re.ASCII),
    "PYTORCH_CUDA_ALLOC_CONF": re.compile(rf"{_ALLOC_PAIR}(?:,{_ALLOC_PAIR}){{0,7}}", re.ASCII),
    "KERAS_BACKEND": re.compile(r"tensorflow|jax|torch|numpy|openvino", re.ASCII),
}
ENV_ALLOW_LIST = tuple(ENV_SHAPES)

#: What a value of another shape is stored as: that the variable is set is visible, not its value.
HIDDEN = "<set>"
#: Longer values are never stored, whatever their shape.
MAX_VALUE_LENGTH = 64
#: A version as packages spell it ("2.4.6", "2.3.0+cu121", "0.1.dev3+g1a2b3c"): it starts with a
#: digit (so a bare word such as a user name does not fit) and holds no "/", "\" or whitespace.
_VERSION = re.compile(r"[vV]?[0-9][0-9A-Za-z.+!_-]{0,39}", re.ASCII)
#: A short token (BLAS threading layer, architecture): the version alphabet, without the digit.
_TOKEN = re.compile(r"[0-9A-Za-z.+!_-]{1,40}", re.ASCII)


def _shaped(value: str, shape: re.Pattern[str]) -> str:
    """*value* if it is short and has *shape*, else :data:`HIDDEN`."""
    if len(value) <= MAX_VALUE_LENGTH and shape.fullmatch(value):
        return value
    return HIDDEN


def _env_values() -> dict[str, str]:
    return {name: _shaped(os.environ[name], shape) for name, shape in ENV_SHAPES.items() if name in os.environ}


#: Packages whose versions are recorded when the notebook has imported them.
KEY_PACKAGES = (
    "numpy", "scipy", "pandas", "torch", "torchvision", "tensorflow", "keras", "jax", "jaxlib",
    "cupy", "sklearn", "xgboost", "lightgbm", "numba", "transformers", "matplotlib",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _package_versions() -> dict[str, str]:
    versions = {}
    for name in KEY_PACKAGES:
        module = sys.modules.get(name)
        if module is not None:
            version = getattr(module, "__version__", None)
            if isinstance(version, str):
                versions[name] = _shaped(version, _VERSION)
    return versions


#: What is kept of threadpoolctl's description, and in which shape (None: a count); never
#: "filepath" or "prefix", which are paths.
_BLAS_FIELDS = {"user_api": _TOKEN, "internal_api": _TOKEN, "version": _VERSION, "num_threads": None,
                "threading_layer": _TOKEN, "architecture": _TOKEN}


def _blas_value(value: Any, shape: re.Pattern[str] | None) -> Any:
    if shape is None:
        return value if type(value) is int else HIDDEN
    return _shaped(value, shape) if isinstance(value, str) else HIDDEN


def _blas() -> list[dict[str, Any]]:
    if "threadpoolctl" not in sys.modules and "numpy" not in sys.modules and "torch" not in sys.modules:
        return []  # no BLAS loaded by the notebook: don't load one to look at it
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [{key: _blas_value(info[key], shape) for key, shape in _BLAS_FIELDS.items() if info.get(key) is not None}
            for info in threadpool_info()]


def _torch() -> dict[str, Any]:
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    info: dict[str, Any] = {
        "threads": torch.get_num_threads(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "cuda": _shaped(torch.version.cuda, _VERSION) if isinstance(torch.version.cuda, str) else None,
    }
    # Never initialize CUDA just to describe it.
    if torch.cuda.is_initialized():
        info["cudnn"] = torch.backends.cudnn.version()
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        get_driver = getattr(torch._C, "_cuda_getDriverVersion", None)
        if get_driver is not None:
            info["driver"] = get_driver()
    return info


def _tensorflow() -> dict[str, Any]:
    config = sys.modules.get("tensorflow.python.framework.config")
    if config is None:
        return {}
    return {"op_determinism": bool(config.is_op_determinism_enabled())}


def capture_environment() -> dict[str, Any]:
    """The allow-listed environment of this process, as JSON-ready data."""
    env = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "packages": _package_versions(),
        "blas": _blas(),
        "env": _env_values(),
    }
    torch = _torch()
    if torch:
        env["torch"] = torch
    tensorflow = _tensorflow()
    if tensorflow:
        env["tensorflow"] = tensorflow
    return env


def capture_environment_json() -> str:
    return json.dumps(capture_environment(), sort_keys=True)


def flatten(env: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"packages.numpy": "2.4.6", "blas[0].num_threads": "2", ...}``: comparable leaves."""
    flat: dict[str, str] = {}
    for key, value in env.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    flat.update(flatten(item, f"{name}[{index}]."))
                else:
                    flat[f"{name}[{index}]"] = str(item)
        else:
            flat[name] = str(value)
    return flat


def environment_changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """What differs between two captured environments: (key, recorded, current), sorted."""
    before, after = flatten(recorded), flatten(current)
    return [
        (key, before.get(key), after.get(key))
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]


def format_environment(env: dict[str, Any]) -> str:
    """A readable listing, for ``%repro env``."""
    return "\n".join(f"{key}: {value}" for key, value in flatten(env).items())
