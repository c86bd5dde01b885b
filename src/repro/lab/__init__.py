"""The Lab side: a Jupyter Server extension that verifies and records notebooks.

Its REST handlers (:mod:`repro.lab.handlers`) call the same library entry point as
the CLI and the pytest plugin (:func:`repro.verify_notebook`,
:func:`repro.record_notebook`) and answer with the same JSON as
``repro-nb verify --format json``. It never imports the kernel side: what a
kernel knows about a cell reaches Lab in the execute replies (:mod:`repro.payload`).
Needs ``jupyter_server`` (``pip install "repro-nb[lab]"``); nothing else imports it.
"""

from __future__ import annotations


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "repro.lab"}]


def _load_jupyter_server_extension(server_app) -> None:
    """Add repro's handlers to a running Jupyter Server."""
    from repro.lab.handlers import handlers

    web_app = server_app.web_app
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", handlers(base_url))
    server_app.log.info("repro: verify and record at %srepro/api/", base_url)
