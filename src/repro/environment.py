"""What a result depends on besides the code: an allow-listed picture of the environment.

Runs in the kernel (``%repro env``, and ``repro-nb record`` asks the kernel for
it). Notebooks get published, so nothing here may identify a person or a
machine: no user names, host names, home paths or paths at all, and of the
environment variables only those in :data:`ENV_ALLOW_LIST`. Library details
are read only for libraries the notebook has already imported.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from typing import Any

#: Environment variables that change results; no others are ever recorded.
ENV_ALLOW_LIST = (
    "PYTHONHASHSEED",
    "CUBLAS_WORKSPACE_CONFIG",
    "CUDA_VISIBLE_DEVICES",
    "CUDA_LAUNCH_BLOCKING",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC",
    "TF_CUDNN_USE_AUTOTUNE",
    "TF_ENABLE_ONEDNN_OPTS",
    "CUPY_SEED",
    "PYTORCH_CUDA_ALLOC_CONF",
    "KERAS_BACKEND",
)

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
                versions[name] = version
    return versions


def _blas() -> list[dict[str, Any]]:
    if "threadpoolctl" not in sys.modules and "numpy" not in sys.modules and "torch" not in sys.modules:
        return []  # no BLAS loaded by the notebook: don't load one to look at it
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {key: info.get(key) for key in ("user_api", "internal_api", "version", "num_threads", "threading_layer",
                                         "architecture") if info.get(key) is not None}
        for info in threadpool_info()
    ]


def _torch() -> dict[str, Any]:
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    info: dict[str, Any] = {
        "threads": torch.get_num_threads(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "cuda": torch.version.cuda,
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
        "env": {name: os.environ[name] for name in ENV_ALLOW_LIST if name in os.environ},
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
