"""Compare a code cell's new outputs with its stored ones.

Pure functions, data in and data out: :func:`compare_outputs` takes two lists of
nbformat v4 output dicts and returns a list of :class:`OutputDiff` (empty when
the outputs are the same). :mod:`~repro.notebook.compare.text` normalises and
diffs text, :mod:`~repro.notebook.compare.media` compares JSON, SVG and images.
"""

from repro.notebook.compare.ipython import options_for_cell
from repro.notebook.compare.model import CompareOptions, OutputDiff
from repro.notebook.compare.outputs import compare_outputs
from repro.notebook.compare.text import normalize_text, render_terminal, unified_diff
from repro.notebook.compare.widgets import widget_states

__all__ = ["CompareOptions", "OutputDiff", "compare_outputs", "normalize_text", "options_for_cell", "render_terminal",
           "unified_diff", "widget_states"]
