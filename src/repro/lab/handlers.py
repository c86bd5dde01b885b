"""REST handlers of the server extension, behind Jupyter's authentication.

``POST {base_url}repro/api/jobs`` with ``{"path": ..., "action": "verify"|"record",
"runs": 1}`` starts a job (:mod:`repro.lab.jobs`) and answers ``202`` at once with
``{"id", "action", "path", "runs", "state": "running", ...}``; ``GET
{base_url}repro/api/jobs/ID`` tells its state, the cell it is at and, once done, its
result; ``DELETE`` cancels it: its kernel is killed at once, and the answer comes once
the kernel is gone. Bad input is refused before the job starts, as below.

``POST {base_url}repro/api/verify`` with ``{"path": "dir/nb.ipynb", "runs": 1}``
answers ``200`` with the JSON of ``repro-nb verify --format json`` for that one
notebook, and ``POST {base_url}repro/api/record`` with ``{"path": ...}`` records it
with the safety of ``repro-nb record`` (a file saved meanwhile is kept, not
overwritten), answering ``{"written": true|false, "message": "recorded ..." or why not}``. Paths are
relative to the server's root directory and confined to it: an absolute path, a
``..`` step, or a link that leads outside is refused with ``400``. A request
without the server's token is refused by Jupyter Server (``403``). The notebook runs
in a fresh kernel in a worker thread, so the server's event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path, PurePosixPath

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from repro.lab.jobs import ACTIONS, Job, JobStore, TooBusy, record_job, verify_job

#: Most runs a request may ask for.
MAX_RUNS = 5

#: Seconds a DELETE waits for the cancelled job's kernel to be gone.
CANCEL_WAIT = 30.0


class _ReproHandler(APIHandler):
    def _body(self) -> dict:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise web.HTTPError(400, f"the request body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the request body must be a JSON object")
        return body

    def _notebook(self, body: dict) -> Path:
        root = Path(self.settings.get("server_root_dir") or self.contents_manager.root_dir)
        return confined_path(root, body.get("path"))

    def _fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.finish(json.dumps({"message": message}))


def _runs(body: dict) -> int:
    runs = body.get("runs", 1)
    if type(runs) is not int or not 1 <= runs <= MAX_RUNS:
        raise web.HTTPError(400, f"runs must be a whole number from 1 to {MAX_RUNS}")
    return runs


class JobsHandler(_ReproHandler):
    def initialize(self, jobs: JobStore) -> None:
        self.jobs = jobs

    @web.authenticated
    async def post(self) -> None:
        body = self._body()
        action = body.get("action")
        if action not in ACTIONS:
            raise web.HTTPError(400, "action must be \"verify\" or \"record\"")
        path = self._notebook(body)
        runs = _runs(body) if action == "verify" else 1
        from repro.notebook.errors import InputError

        try:  # read here, so that a bad notebook or setting is a 400, not a failed job
            work = await asyncio.get_running_loop().run_in_executor(None, _prepare, action, path, runs)
            job = self.jobs.start(Job(action, body["path"], runs), work)
        except InputError as exc:
            return self._fail(400, str(exc))
        except TooBusy as exc:
            return self._fail(429, str(exc))
        self.set_status(202)
        self.set_header("Location", url_path_join(self.request.path, job.id))
        self.finish(json.dumps(job.to_json()))


class JobHandler(_ReproHandler):
    def initialize(self, jobs: JobStore) -> None:
        self.jobs = jobs

    def _job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise web.HTTPError(404, f"no such repro job: {job_id}")
        return job

    @web.authenticated
    async def get(self, job_id: str) -> None:
        self.finish(json.dumps(self._job(job_id).to_json()))

    @web.authenticated
    async def delete(self, job_id: str) -> None:
        job = self._job(job_id)
        self.jobs.cancel(job)
        await asyncio.get_running_loop().run_in_executor(None, job.finished.wait, CANCEL_WAIT)
        self.finish(json.dumps(job.to_json()))


def _prepare(action: str, path: Path, runs: int):
    """The job's work, once the notebook and its settings have been read (InputError if they cannot be)."""
    import repro
    from repro.notebook.io import read_notebook

    options = repro.resolve_options(path.parent)
    nb = read_notebook(path)
    return verify_job(path, nb, options, runs) if action == "verify" else record_job(path, options)


class VerifyHandler(_ReproHandler):
    @web.authenticated
    async def post(self) -> None:
        body = self._body()
        path = self._notebook(body)
        runs = _runs(body)
        from repro.notebook.errors import InputError

        try:
            text = await asyncio.get_running_loop().run_in_executor(None, _verify, path, runs)
        except InputError as exc:
            return self._fail(400, str(exc))
        self.finish(text)


class RecordHandler(_ReproHandler):
    @web.authenticated
    async def post(self) -> None:
        path = self._notebook(self._body())
        from repro.notebook.errors import InputError

        try:
            answer = await asyncio.get_running_loop().run_in_executor(None, _record, path)
        except InputError as exc:
            return self._fail(400, str(exc))
        self.finish(json.dumps(answer))


def confined_path(root: Path, given: object) -> Path:
    """*given*, a path relative to *root* with ``/`` separators, as an absolute path inside *root*.

    Raises a ``400`` for anything else: not a string, empty, absolute, with a ``..``
    step, or leading outside *root* through a link.
    """
    if not isinstance(given, str) or not given.strip() or "\x00" in given:
        raise web.HTTPError(400, "path must be a notebook's path relative to the server's root")
    relative = PurePosixPath(given)
    if (relative.is_absolute() or not relative.parts or ".." in relative.parts or "\\" in given
            or ":" in relative.parts[0]):
        raise web.HTTPError(400, "path must stay inside the server's root")
    root = root.resolve()
    path = (root / Path(*relative.parts)).resolve()
    if path != root and root not in path.parents:
        raise web.HTTPError(400, "path must stay inside the server's root")
    return path


def _verify(path: Path, runs: int) -> str:
    import repro
    from repro.notebook.report import render_json

    options = repro.resolve_options(path.parent)
    return render_json([repro.verify_notebook(path, options, runs=runs)])


def _record(path: Path) -> dict:
    import repro

    result = repro.record_notebook(path, repro.resolve_options(path.parent))
    return {"written": result.written, "message": result.message}


def handlers(base_url: str, jobs: JobStore | None = None) -> list[tuple]:
    jobs = jobs or JobStore()
    api = url_path_join(base_url, "repro", "api")
    return [
        (url_path_join(api, "verify"), VerifyHandler),
        (url_path_join(api, "record"), RecordHandler),
        (url_path_join(api, "jobs"), JobsHandler, {"jobs": jobs}),
        (url_path_join(api, "jobs", r"([^/]+)"), JobHandler, {"jobs": jobs}),
    ]
