"""The notebook side: everything that runs in the ``repro-nb`` process.

:mod:`~repro.notebook.verify` is the library entry point (verify, record, diff)
that the CLI, the pytest plugin and the Python API all call.
:mod:`~repro.notebook.io` reads and writes notebooks; :mod:`~repro.notebook.execute`
runs one in a fresh kernel with nbclient, under the kernel cap of
:mod:`~repro.notebook.pool`; :mod:`~repro.notebook.compare` compares outputs;
:mod:`~repro.notebook.diagnose` explains differences; :mod:`~repro.notebook.report`
renders results. The data they pass around is in :mod:`~repro.notebook.results`.

This side never imports :mod:`repro.kernel`: it learns what happened in the
kernel from the payloads of :mod:`repro.payload`.
"""
