"""Which kernel runs a notebook when the one its kernelspec names is not installed here.

Published notebooks carry kernel names from their author's machine (``conda-env-tqdm-py``,
``Python [Root]``). When that kernel is missing and the notebook is a Python one, it runs
on the default Python kernel, with a one-line note; a notebook in another language fails
with one line. A kernel the user names (``--kernel``, ``[tool.repro] kernel``) is never
replaced: :func:`repro.notebook.options.check_kernel` refuses a missing one before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The kernel a Python notebook whose own kernel is missing runs on.
DEFAULT_PYTHON_KERNEL = "python3"

#: What to do about a kernel that is not installed, where no fallback applies.
WAY_OUT = ("pass --kernel NAME with an installed kernel (see `jupyter kernelspec list`), "
           "or --current-python to run on the Python of repro-nb")


@dataclass(frozen=True)
class KernelChoice:
    name: str  # the kernel to start
    note: str | None = None  # why it is not the notebook's own, for the report
    missing: str | None = None  # set: no kernel can run the notebook here (one line, the run fails)


def stored_kernel_name(metadata) -> str | None:
    spec = metadata.get("kernelspec") if hasattr(metadata, "get") else None
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) and name.strip() else None


def notebook_language(metadata) -> str | None:
    """The notebook's language, from its kernelspec or its language_info, as it is spelt there."""
    for key in ("kernelspec", "language_info"):
        section = metadata.get(key) if hasattr(metadata, "get") else None
        if isinstance(section, dict):
            value = section.get("language" if key == "kernelspec" else "name")
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def is_python_notebook(metadata, kernel_name: str | None) -> bool:
    language = notebook_language(metadata)
    if language is not None:
        return language.lower().startswith("python")
    return kernel_name is not None and "python" in kernel_name.lower()


def choose_kernel(metadata, installed) -> KernelChoice:
    """The kernel for a notebook with this *metadata*; *installed(name)* says whether a kernel exists.

    The notebook's own kernel when it is installed (``python3`` when it names none);
    else the default Python kernel for a Python notebook; else a reason to fail.
    """
    name = stored_kernel_name(metadata) or DEFAULT_PYTHON_KERNEL
    if installed(name):
        return KernelChoice(name)
    if name != DEFAULT_PYTHON_KERNEL and is_python_notebook(metadata, name):
        return KernelChoice(DEFAULT_PYTHON_KERNEL, note=(
            f"the notebook's kernel {name!r} is not installed here: ran on {DEFAULT_PYTHON_KERNEL}, "
            "the default Python kernel (--kernel NAME picks another)"))
    language = notebook_language(metadata)
    what = f" (language {language})" if language else ""
    return KernelChoice(name, missing=f"the notebook's kernel {name!r}{what} is not installed here: install it, or {WAY_OUT}")
