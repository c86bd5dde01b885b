"""Notebooks on disk: finding, reading with one-line errors, writing atomically, and
what ``repro-nb record`` stores in them.

Cell metadata ``repro`` holds the cell's record (the version-1 payload of
:mod:`repro.payload`, without its ``source`` key). Notebook metadata ``repro``::

    {"version": 1, "repro_version": "0.1.0", "hash_seed": "0", "kernel": "python3",
     "seed": 3,                # only with record --seed N
     "environment": {...}}     # repro.environment.capture_environment(), when repro ran in the kernel

``hash_seed`` is the PYTHONHASHSEED the notebook was recorded under (the kernel's own when
its kernelspec fixes one); verify starts its kernels with another value unless the kernel
fixes it (:mod:`repro.notebook.hashorder`).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from repro import __version__
from repro.payload import NOTICE_PREFIX
from repro.notebook.errors import InputError
from repro.notebook.shape import lone_surrogate_problem, notebook_shape_problem
from repro.notebook.results import NotebookRun

METADATA_VERSION = 1


@dataclass(frozen=True)
class Snapshot:
    """What a notebook file held when it was read: to tell whether it changed since."""

    digest: str
    size: int


def read_notebook(path: Path):
    """Read *path* as an nbformat 4 notebook (nbformat 3 is upgraded in memory).

    Raises InputError saying what is wrong: missing, not a regular file, empty, not
    JSON, not a notebook, a notebook whose fields have the wrong shape, or one holding
    a string no kernel or file can carry (a lone surrogate).
    """
    return load_notebook(path)[0]


def load_notebook(path: Path):
    """:func:`read_notebook`, and the :class:`Snapshot` of the bytes it read."""
    raw = _read_bytes(path)
    nb = parse_notebook(raw, path)
    return nb, Snapshot(hashlib.sha256(raw).hexdigest(), len(raw))


def _read_bytes(path: Path) -> bytes:
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{path}: is a directory, not a notebook")
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            raise InputError(f"{path}: not a regular file, not a notebook")
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def parse_notebook(raw: bytes, path: Path):
    """The notebook in *raw* (the bytes of *path*), or InputError with one line."""
    import nbformat

    if not raw.strip():
        raise InputError(f"{path}: empty file, not a notebook")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text, not a notebook") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except (ValueError, RecursionError) as exc:  # a 5000-digit number, nesting deeper than the parser goes
        raise InputError(f"{path}: not a notebook JSON can hold: {_first_line(exc)}") from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise InputError(f"{path}: not a notebook (no 'nbformat' field)")
    major = data.get("nbformat")
    if isinstance(major, bool) or not isinstance(major, int) or major < 3:
        raise InputError(f"{path}: nbformat {major!r} is not supported; open and save it in Jupyter to upgrade it")
    if major > 4:
        raise InputError(f"{path}: nbformat {major} is newer than this repro-nb understands")
    if major == 4 and not isinstance(data.get("cells"), list):
        raise InputError(f"{path}: not a notebook (no 'cells' list)")
    problem = notebook_shape_problem(data, joined=False) if major == 4 else None
    if problem:  # before nbformat walks the containers
        raise InputError(f"{path}: not a valid notebook: {problem}")
    try:
        if major == 4:
            # The JSON is parsed once: nbformat.reads would parse it again, and
            # build a node for every line of every multi-line output first.
            from nbformat.v4.rwbase import rejoin_lines, strip_transient

            nb = nbformat.from_dict(strip_transient(rejoin_lines(_outline_nodes(data))))
        else:
            nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        problem = notebook_shape_problem(nb) or lone_surrogate_problem(nb)
    except (Exception, RecursionError) as exc:  # nbformat raises a variety of errors for malformed content
        raise InputError(f"{path}: not a valid notebook: {_first_line(exc)}") from None
    if problem:
        raise InputError(f"{path}: not a valid notebook: {problem}")
    return nb


def write_notebook_atomic(nb, path: Path, unchanged_since: Snapshot | None = None) -> None:
    """Write *nb* to *path* so that a reader sees the old file or the new one, never a mix.

    On any failure the original file is left byte-for-byte unchanged. With
    *unchanged_since*, the file is replaced only if it still holds what was read then.
    """
    import nbformat

    renew_cell_ids(nb)  # else nbformat's validation does it, with a warning and its source line
    # A notebook that was slightly off-schema when read is written back as it
    # is rather than refused: capture_validation_error keeps nbformat from raising.
    data = nbformat.writes(nb, capture_validation_error={}).encode("utf-8")
    if not data.endswith(b"\n"):
        data += b"\n"
    write_bytes_atomic(path, data, unchanged_since)


def write_bytes_atomic(path: Path, data: bytes, unchanged_since: Snapshot | None = None) -> None:
    """Replace *path* with *data* so that a reader sees the old file or the new one, never a mix.

    A symbolic link is written through: its target is replaced and the link stays.
    The file keeps its mode and, where this process may set them, its owner and
    group. A read-only file is refused, and so is, with *unchanged_since*, a file
    that changed since it was read. On any failure the file is left byte-for-byte
    unchanged and the temporary file is removed. Raises InputError with one line.
    """
    target = Path(os.path.realpath(path))
    before = _existing(target, path)
    if unchanged_since is not None:
        _check_unchanged(target, path, unchanged_since)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _copy_ownership(before, tmp)
        if unchanged_since is not None:
            _check_unchanged(target, path, unchanged_since)
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
        raise


def check_replaceable(path: Path) -> None:
    """Raise InputError unless :func:`write_bytes_atomic` may replace *path* (read-only, not a file)."""
    _existing(Path(os.path.realpath(path)), path)


def check_report_target(target: Path, inputs: list[Path], label: str) -> None:
    """Raise InputError, its message starting with *label*, unless a report may be written
    to *target*: not a notebook nor any of *inputs*, in a folder that exists and takes files,
    and not over anything :func:`write_bytes_atomic` would refuse to replace."""
    if target.suffix == ".ipynb":
        raise InputError(f"{label}: refusing to write a report over a notebook")
    if target.is_dir():
        raise InputError(f"{label}: is a directory")
    folder = Path(os.path.realpath(target)).parent
    if not folder.is_dir():
        raise InputError(f"{label}: no folder {folder} to write it in")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{label}: cannot write in {folder}: permission denied")
    resolved = target.resolve()
    if any(Path(path).resolve() == resolved for path in inputs):
        raise InputError(f"{label}: is one of the inputs")
    try:
        check_replaceable(target)
    except InputError as exc:
        raise InputError(f"{label}: {str(exc).removeprefix(f'{target}: ')}") from None


def _existing(target: Path, path: Path) -> os.stat_result | None:
    """The stat of the file to be replaced (None: there is none); refuses a read-only file."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file: refusing to replace it")
    if not info.st_mode & 0o222:  # read-only for everyone: root could write it, and must not
        raise InputError(f"{path}: is read-only: refusing to replace it (chmod u+w to allow)")
    return info


def _copy_ownership(before: os.stat_result | None, tmp: Path) -> None:
    if before is None:
        os.chmod(tmp, 0o644)
        return
    os.chmod(tmp, stat.S_IMODE(before.st_mode))
    if hasattr(os, "chown") and (before.st_uid, before.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.chown(tmp, before.st_uid, before.st_gid)
        except PermissionError:  # not root: the file becomes ours, as any editor's save would make it
            pass


def _check_unchanged(target: Path, path: Path, snapshot: Snapshot) -> None:
    try:
        raw = target.read_bytes()
    except OSError:
        raw = b""
    if len(raw) != snapshot.size or hashlib.sha256(raw).hexdigest() != snapshot.digest:
        raise InputError(f"{path}: changed on disk while repro-nb ran (saved from an editor?): "
                         "not replaced, and the new outputs were not written")


def expand_paths(paths: list[Path]) -> list[Path]:
    """Notebook paths, with each directory replaced by the notebooks below it (sorted)."""
    expanded: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file()
            )
            if not found:
                raise InputError(f"{path}: is a directory with no notebooks in it")
            expanded.extend(found)
        else:
            expanded.append(path)
    return expanded


def select_shard(paths: list[Path], shard: tuple[int, int] | None) -> list[Path]:
    """The notebooks of shard I/N: round-robin over the paths sorted as text, so every
    machine computes the same split and the shares differ in size by at most one."""
    if shard is None:
        return paths
    index, total = shard
    ordered = sorted(paths, key=lambda p: p.as_posix())
    return [path for position, path in enumerate(ordered) if position % total == index - 1]


def renew_cell_ids(nb) -> list[str]:
    """Give each cell of an nbformat 4.5+ notebook an id of its own, and say what changed.

    A duplicated id (cells copied between notebooks by hand) is replaced in every cell
    after the first that has it, and a missing one is added, as nbformat does when it
    writes (where it warns once a cell, with its own source line): one note each instead,
    "2 duplicate cell ids were renewed (cells 3, 4)".
    """
    if (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) < (4, 5):
        return []
    from nbformat.corpus.words import generate_corpus_id

    seen = {cell["id"] for cell in nb.cells if isinstance(cell.get("id"), str)}
    first: set[str] = set()
    renewed, added = [], []
    for number, cell in enumerate(nb.cells, start=1):
        if "id" in cell and cell["id"] not in first:
            first.add(cell["id"])
            continue
        (renewed if "id" in cell else added).append(number)
        new_id = generate_corpus_id()
        while new_id in seen:
            new_id = generate_corpus_id()
        seen.add(new_id)
        cell["id"] = new_id
    notes = []
    for numbers, what in ((renewed, "duplicate cell id{s} {were} renewed"),
                          (added, "missing cell id{s} {were} added")):
        if numbers:
            many = len(numbers) > 1
            what = what.format(s="s" if many else "", were="were" if many else "was")
            notes.append(f"{len(numbers)} {what} (cell{'s' if many else ''} {', '.join(map(str, numbers))})")
    return notes


def notebook_hash_seed(nb) -> str | None:
    """The PYTHONHASHSEED recorded in a notebook's metadata by ``repro-nb record``, if any."""
    value = nb.metadata.get("repro", {}).get("hash_seed")
    return str(value) if value is not None else None


def stored_payloads(nb) -> dict[int, dict]:
    """The per-cell records ``repro-nb record`` stored in cell metadata, as stored."""
    return {i: cell.metadata["repro"] for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and isinstance(cell.metadata.get("repro"), dict)}


def store_records(run: NotebookRun):
    """The executed notebook of *run*, with its records and run metadata attached.

    A code cell the run did not execute (marked skip) keeps its outputs and loses its
    execution count, as Jupyter shows a cell not run in this session (``In [ ]``): the
    counts left in the notebook are the recorded run's, in order. Cell ids are made
    unique (:func:`renew_cell_ids`), with a note on *run* saying which changed.

    Only what a later run can reproduce is stored, so that recording an unchanged notebook
    again leaves the file as it was: no per-cell execution timestamps, and the outputs of
    each executed cell as :func:`settled_outputs` gives them (no notices of repro's own).
    """
    nb = run.notebook
    run.notes.extend(renew_cell_ids(nb))
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if index not in run.executed:
            cell.execution_count = None
        else:
            cell.outputs = settled_outputs(cell.get("outputs", []))
            cell.metadata.pop("execution", None)  # timings of some earlier run, written by an editor
        cell.metadata.pop("repro", None)
        payload = run.records.get(index)
        if payload is not None:
            cell.metadata["repro"] = {k: v for k, v in payload.items() if k != "source"}
    nb.metadata["repro"] = {
        "version": METADATA_VERSION,
        "repro_version": __version__,
        "hash_seed": run.hash_seed,
        "kernel": run.kernel_name,
    }
    if run.seed is not None:  # record --seed N: verify --seed N compares like with like
        nb.metadata["repro"]["seed"] = run.seed
    if run.environment is not None:
        nb.metadata["repro"]["environment"] = run.environment
    return nb


def settled_outputs(outputs: list) -> list:
    """A cell's outputs as recorded: neighbouring pieces of one stream joined (where the kernel
    split them depends on timing), and lines of repro's own notices (:data:`NOTICE_PREFIX`)
    left out of stderr; a stream left empty is dropped."""
    settled: list = []
    for output in outputs:
        if output.get("output_type") != "stream":
            settled.append(output)
            continue
        previous = settled[-1] if settled else None
        if previous is not None and previous.get("output_type") == "stream" \
                and previous.get("name") == output.get("name"):
            previous["text"] = _text(previous) + _text(output)
        else:
            output["text"] = _text(output)
            settled.append(output)
    for output in settled:
        if output.get("output_type") == "stream" and output.get("name") == "stderr" and NOTICE_PREFIX in output["text"]:
            output["text"] = "".join(line for line in output["text"].splitlines(keepends=True)
                                     if not line.startswith(NOTICE_PREFIX))
    return [o for o in settled if o.get("output_type") != "stream" or o["text"]]


def _text(output) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else str(text)


def _outline_nodes(data: dict):
    """Wrap the notebook, its cells and their outputs as NotebookNodes, leaving line lists alone.

    Enough for nbformat's rejoin_lines to join multi-line texts in place, before
    from_dict converts what is left.
    """
    from nbformat import NotebookNode

    nb = NotebookNode(data)
    cells = []
    for cell in data.get("cells", []):
        if isinstance(cell, dict):
            cell = NotebookNode(cell)
            if isinstance(cell.get("outputs"), list):
                cell["outputs"] = [NotebookNode(o) if isinstance(o, dict) else o for o in cell["outputs"]]
        cells.append(cell)
    nb["cells"] = cells
    return nb


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
