"""Verify and record jobs of the server extension, in a real Jupyter Server with real kernels:
started at once, followed cell by cell, cancelled with their kernel, refused on bad input."""

from __future__ import annotations

import json
import time

import pytest

from tests.builders import write_notebook
from tests.lab.conftest import call, post, running_server

pytest.importorskip("jupyter_server")
psutil = pytest.importorskip("psutil")
pytestmark = pytest.mark.kernel

#: Seconds a job may take in these tests (kernels start slowly on a busy machine).
JOB_TIMEOUT = 180


def start(server, path: str, action: str = "verify", **extra) -> dict:
    status, job = post(server, "jobs", {"path": path, "action": action, **extra})
    assert status == 202, job
    assert (job["state"], job["action"], job["path"]) == ("running", action, path)
    return job


def follow(server, job_id: str, until=lambda job: job["state"] != "running") -> tuple[dict, list[dict]]:
    """Poll the job until *until* holds: (the job then, every distinct progress seen while it ran)."""
    seen: list[dict] = []
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        status, job = call(server, "GET", f"jobs/{job_id}")
        assert status == 200, job
        if job["state"] == "running" and job["progress"] is not None and job["progress"] not in seen:
            seen.append(job["progress"])
        if until(job):
            return job, seen
        time.sleep(0.05)
    pytest.fail(f"job {job_id} did not get there in {JOB_TIMEOUT} s: {job}")


def kernels_of(pid: int) -> list:
    """The kernel processes below the server's process."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "ipykernel" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def test_a_verify_job_reports_progress_then_the_cli_json_of_the_notebook(server):
    path = write_notebook(server["root"] / "slow.ipynb", "%load_ext repro\n%seed 1",
                          "import random, time\ntime.sleep(0.5)\nprint(random.random())", "time.sleep(0.5)\nprint(2)")
    status, recorded = post(server, "record", {"path": "slow.ipynb"})
    assert status == 200 and recorded["written"], recorded
    ids = [cell["id"] for cell in json.loads(path.read_text())["cells"]]

    job, seen = follow(server, start(server, "slow.ipynb")["id"])
    assert job["state"] == "done" and job["message"] is None, job
    assert seen, "no progress was seen while the job ran"
    assert all(p["run"] == 0 and p["cells"] == 4 and 1 <= p["cell"] <= 3 for p in seen), seen
    result = job["result"]
    assert result["path"].endswith("slow.ipynb") and result["status"] == "reproduced"
    assert [(c["index"], c["status"], c["cell_id"], c["report"]) for c in result["cells"]] == [
        (1, "same", ids[1], []), (2, "same", ids[2], []), (3, "same", ids[3], [])]
    assert result["report"][0].startswith("ok ") and "reproduced" in result["report"][0]


def test_a_verify_job_marks_the_cell_edited_by_hand_with_the_words_of_the_report(server):
    path = write_notebook(server["root"] / "edited.ipynb", "%load_ext repro\n%seed 5",
                          "import random\nprint(random.random())", "print('kept')")
    assert post(server, "record", {"path": "edited.ipynb"})[1]["written"] is True
    nb = json.loads(path.read_text())
    nb["cells"][2]["outputs"][0]["text"] = "0.5\n"
    path.write_text(json.dumps(nb))
    job, _ = follow(server, start(server, "edited.ipynb", runs=1)["id"])
    cells = job["result"]["cells"]
    assert [c["status"] for c in cells] == ["same", "differs", "same"]
    report = cells[1]["report"]
    assert report[0].startswith("cell 3 (In [2]): first difference")
    assert "  -0.5" in report and any(line.startswith("  +0.") for line in report)
    assert cells[1]["cell_id"] == nb["cells"][2]["id"]


def test_cancelling_a_job_kills_its_kernel_at_once(server):
    write_notebook(server["root"] / "sleeper.ipynb", "import time", "time.sleep(600)", "print('never')")
    job = start(server, "sleeper.ipynb")
    follow(server, job["id"], until=lambda j: (j["progress"] or {}).get("cell") == 2 or j["state"] != "running")
    assert kernels_of(server["pid"]), "the job's kernel is not running"
    time.sleep(0.5)  # the sleep cell is running now
    began = time.monotonic()
    status, cancelled = call(server, "DELETE", f"jobs/{job['id']}")
    took = time.monotonic() - began
    assert status == 200 and cancelled["state"] == "cancelled", cancelled
    assert took < 30, f"the DELETE took {took:.1f} s"
    assert kernels_of(server["pid"]) == []
    status, later = call(server, "GET", f"jobs/{job['id']}")
    assert (status, later["state"], later["result"]) == (200, "cancelled", None)
    # cancelling again, or a finished job, changes nothing
    assert call(server, "DELETE", f"jobs/{job['id']}")[1]["state"] == "cancelled"


def test_a_record_job_refuses_a_file_changed_meanwhile(server):
    path = write_notebook(server["root"] / "saved.ipynb", "import time\ntime.sleep(3)", "print(1)")
    job = start(server, "saved.ipynb", action="record")
    follow(server, job["id"], until=lambda j: (j["progress"] or {}).get("cell") == 1 or j["state"] != "running")
    saved = path.read_text().replace("print(1)", "print(2)")
    path.write_text(saved)  # an editor saved the notebook while it ran
    done, _ = follow(server, job["id"])
    assert done["state"] == "done", done
    assert done["result"]["written"] is False
    assert "changed on disk" in done["result"]["message"]
    assert path.read_text() == saved


def test_a_record_job_writes_the_notebook(server):
    path = write_notebook(server["root"] / "fresh.ipynb", "print(41 + 1)")
    done, _ = follow(server, start(server, "fresh.ipynb", action="record")["id"])
    assert done["state"] == "done" and done["result"]["written"] is True, done
    assert done["result"]["message"].startswith("recorded ")
    assert "".join(json.loads(path.read_text())["cells"][1]["outputs"][0]["text"]) == "42\n"


@pytest.mark.parametrize("path", ["../outside.ipynb", "sub/../../outside.ipynb", "/etc/passwd", "", None])
def test_a_job_for_a_path_outside_the_root_is_refused(server, path):
    status, answer = post(server, "jobs", {"path": path, "action": "verify"})
    assert status == 400 and "\n" not in answer["message"], answer


def test_bad_job_requests_get_a_one_line_message(server):
    write_notebook(server["root"] / "ok.ipynb", "print(1)")
    (server["root"] / "broken.ipynb").write_text("{not a notebook")
    for body in ({"path": "ok.ipynb"}, {"path": "ok.ipynb", "action": "run"},
                 {"path": "ok.ipynb", "action": "verify", "runs": 0},
                 {"path": "missing.ipynb", "action": "verify"}, {"path": "broken.ipynb", "action": "record"}):
        status, answer = post(server, "jobs", body)
        assert status == 400 and answer["message"] and "\n" not in answer["message"], (body, answer)
    assert post(server, "jobs", b"{not json")[0] == 400


def test_jobs_need_the_token(server):
    write_notebook(server["root"] / "tokened.ipynb", "print(1)")
    assert post(server, "jobs", {"path": "tokened.ipynb", "action": "verify"}, token=None)[0] == 403
    job, _ = follow(server, start(server, "tokened.ipynb")["id"])
    assert call(server, "GET", f"jobs/{job['id']}", token=None)[0] == 403
    assert call(server, "DELETE", f"jobs/{job['id']}", token="wrong")[0] == 403


def test_an_unknown_job_is_404(server):
    for method in ("GET", "DELETE"):
        status, answer = call(server, method, "jobs/0123456789abcdef")
        assert status == 404 and "no such repro job" in answer["message"]


def test_a_server_stopped_while_a_job_runs_leaves_no_kernel(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir(), outside.mkdir()
    with running_server(root, outside) as server:
        # the cell leaves a process of its own session behind, as a server or a daemon would
        write_notebook(root / "sleeper.ipynb", "import subprocess, time",
                       "subprocess.Popen(['sleep', '600'], start_new_session=True)\ntime.sleep(600)")
        job = start(server, "sleeper.ipynb")
        follow(server, job["id"], until=lambda j: (j["progress"] or {}).get("cell") == 2 or j["state"] != "running")
        deadline = time.monotonic() + 30
        while len(started := psutil.Process(server["pid"]).children(recursive=True)) < 2:
            assert time.monotonic() < deadline, f"the kernel and its sleep did not start: {started}"
            time.sleep(0.1)
        assert kernels_of(server["pid"]), "the job's kernel is not running"
    gone, alive = psutil.wait_procs(started, timeout=5)
    for process in alive:  # ours: end them before failing
        process.kill()
    assert alive == [], f"outlived the server: {[p.cmdline() for p in alive]}"
