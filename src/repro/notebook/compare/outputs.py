"""Compare a code cell's new outputs with its stored ones.

Pure functions, data in and data out: :func:`compare_outputs` takes two lists of
nbformat v4 output dicts and returns a list of :class:`OutputDiff` (empty when
the outputs are the same). Formatting is :mod:`repro.notebook.report`'s business.

What counts as "the same":

* Streams: all ``stdout`` text of a cell is joined into one string, all
  ``stderr`` text into another, whatever outputs came between; carriage returns
  and backspaces are applied as a terminal would (progress bars).
* ``execute_result`` and ``display_data`` with equal data are equal; execution
  counts and output metadata are ignored. Rich outputs are paired by position.
* Per MIME type: images as decoded pixels (Pillow), SVG as canonical XML,
  JSON as parsed JSON, everything else as normalised text.
* Errors by ``ename`` and normalised ``evalue``; never the traceback.
* repro's own notices do not count (with ``normalize``): stderr lines that start with
  ``repro: `` and the advice displays of :func:`repro.payload.is_notice_output`.
* Text is normalised first (:func:`normalize_text`): ANSI escapes, memory
  addresses, ipykernel's temporary file names, widget model ids and trailing
  whitespace do not count; then the user's masks apply. With ``rtol``/``atol``,
  numbers inside text compare within tolerance while the text around them must
  match exactly.
* Progress bars (``progress``, on by default): in a line that has a tqdm meter's or a
  Keras ``Progbar``'s whole format, the timing fields (elapsed, remaining, rate,
  ETA, time per step) become placeholders; the description, percentage, bar, counts
  and metrics are still compared (:mod:`~repro.notebook.compare.progress`). tqdm's
  notebook bars compare by their final text, rendered from the widget state both
  notebooks saved (*widgets*), else as stored (:mod:`~repro.notebook.compare.widgets`).
* IPython's own volatile output (timing magics, ``%%writefile``'s message) is
  normalised in the cells that use those magics: see
  :mod:`~repro.notebook.compare.ipython` and ``options_for_cell``.
* With ``mime_subset``, a rich output compares only the MIME types both sides have
  (when they have at least one in common).

Imports stay light: Pillow, XML, JSON and difflib are imported by
the functions that need them.
"""

from __future__ import annotations

from repro.notebook.compare.media import compare_mime, compare_json, describe_value
from repro.notebook.compare.model import CompareOptions, OutputDiff
from repro.notebook.compare.model import join_text as _join
from repro.notebook.compare.text import compare_text as _compare_text
from repro.notebook.compare.text import normalize_text, unified_diff
from repro.notebook.compare.widgets import WIDGET_VIEW, with_final_text
from repro.payload import NOTICE_PREFIX, is_notice_output


def _split_outputs(outputs, notices: bool = True
                   ) -> tuple[dict[str, list[str]], list[tuple[int, dict]], list[tuple[int, dict]]]:
    """Streams by name (pieces in order), rich outputs and errors with their positions among non-streams;
    without *notices*, the kernel side's advice (:func:`~repro.payload.is_notice_output`) left out."""
    streams: dict[str, list[str]] = {}
    rich: list[tuple[int, dict]] = []
    errors: list[tuple[int, dict]] = []
    position = 0
    for output in outputs or ():
        kind = output.get("output_type")
        if kind == "stream":
            streams.setdefault(output.get("name") or "stdout", []).append(_join(output.get("text", "")))
            continue
        if notices or not is_notice_output(output):
            (errors if kind == "error" else rich).append((position, output))
        position += 1
    return streams, rich, errors


def _without_repro_notices(text: str) -> str:
    """stderr without the kernel side's notices (lines that start with NOTICE_PREFIX, such
    as the PYTHONHASHSEED advice of older versions): they describe the session, not the results."""
    if NOTICE_PREFIX not in text:
        return text
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith(NOTICE_PREFIX))


def compare_outputs(expected: list[dict], actual: list[dict], options: CompareOptions = CompareOptions(), *,
                    widgets: tuple[dict | None, dict | None] | None = None) -> list[OutputDiff]:
    """What differs between a cell's stored outputs (*expected*) and its new ones; ``[]`` means the same.

    *widgets*: the widget state each side's notebook saved (:func:`~repro.notebook.compare.widgets.widget_states`),
    with which tqdm's notebook bars compare by their final text.
    """
    if not (options.normalize and options.progress):
        widgets = None
    diffs: list[OutputDiff] = []
    e_streams, e_rich, e_errors = _split_outputs(expected, notices=not options.normalize)
    a_streams, a_rich, a_errors = _split_outputs(actual, notices=not options.normalize)

    names = [n for n in ("stdout", "stderr") if n in e_streams or n in a_streams]
    names += sorted((set(e_streams) | set(a_streams)) - {"stdout", "stderr"})
    for name in names:
        e_text = "".join(e_streams.get(name, ()))
        a_text = "".join(a_streams.get(name, ()))
        if name == "stderr" and options.normalize:
            e_text, a_text = _without_repro_notices(e_text), _without_repro_notices(a_text)
        diff = _compare_text("text", name, e_text, a_text, options)
        if diff is not None:
            if name not in a_streams:
                diff = OutputDiff("missing", name, diff.expected, None, diff.diff)
            elif name not in e_streams:
                diff = OutputDiff("extra", name, None, diff.actual, diff.diff)
            diffs.append(diff)

    for i in range(max(len(e_rich), len(a_rich))):
        if i >= len(a_rich):
            position, output = e_rich[i]
            diffs.append(OutputDiff("missing", f"{output.get('output_type')}[{position}]",
                                    _describe_output(output, options), None, "", index=position))
        elif i >= len(e_rich):
            position, output = a_rich[i]
            diffs.append(OutputDiff("extra", f"{output.get('output_type')}[{position}]",
                                    None, _describe_output(output, options), "", index=position))
        else:
            diffs.extend(_compare_rich(e_rich[i], a_rich[i], options, widgets))

    for i in range(max(len(e_errors), len(a_errors))):
        e_pos, e_err = e_errors[i] if i < len(e_errors) else (None, None)
        a_pos, a_err = a_errors[i] if i < len(a_errors) else (None, None)
        key = "error" if i == 0 else f"error[{i}]"
        position = e_pos if e_pos is not None else a_pos
        e_text = _error_text(e_err, options) if e_err is not None else None
        a_text = _error_text(a_err, options) if a_err is not None else None
        if e_text is None or a_text is None:
            diffs.append(OutputDiff("error", key, e_text, a_text, unified_diff(e_text or "", a_text or ""),
                                    index=position))
            continue
        diff = _compare_text("error", key, e_text, a_text, options, index=position)
        if diff is not None:
            diffs.append(diff)
    return diffs


def _error_text(output: dict, options: CompareOptions) -> str:
    return f"{output.get('ename', '')}: {_join(output.get('evalue', ''))}"


def _describe_output(output: dict, options: CompareOptions) -> str:
    data = output.get("data")
    if not isinstance(data, dict):
        return str(output.get("output_type"))
    text = f"{output.get('output_type')}: {', '.join(data)}"
    if "text/plain" in data:
        text += "\n" + normalize_text(_join(data["text/plain"]), options)
    return text


_IGNORED_OUTPUT_KEYS = ("output_type", "metadata", "execution_count", "transient")


def _compare_rich(expected_item, actual_item, options: CompareOptions, widgets=None) -> list[OutputDiff]:
    position, expected = expected_item
    _, actual = actual_item
    e_type, a_type = expected.get("output_type"), actual.get("output_type")
    rich_types = ("execute_result", "display_data")
    if e_type not in rich_types or a_type not in rich_types:
        # An output type nbformat v4 does not define: compare everything but the ignored keys.
        if e_type != a_type:
            return [OutputDiff("mime", f"{e_type}[{position}]", str(e_type), str(a_type), "", index=position)]
        e = {k: v for k, v in expected.items() if k not in _IGNORED_OUTPUT_KEYS}
        a = {k: v for k, v in actual.items() if k not in _IGNORED_OUTPUT_KEYS}
        diff = compare_json("text", f"{e_type}[{position}]", e, a, options, position)
        return [diff] if diff is not None else []

    e_data = expected.get("data") or {}
    a_data = actual.get("data") or {}
    if widgets is not None and WIDGET_VIEW in e_data and WIDGET_VIEW in a_data:
        e_data, a_data = with_final_text(e_data, a_data, widgets) or (e_data, a_data)
    diffs = []
    mimes = list(e_data) + [m for m in a_data if m not in e_data]
    if options.mime_subset and any(m in a_data for m in e_data):
        # Only the representations both sides have; with none in common, nothing is skipped.
        mimes = [m for m in e_data if m in a_data]
    for mime in mimes:
        if mime not in a_data:
            diffs.append(OutputDiff("mime", mime, describe_value(mime, e_data[mime], options), None, "",
                                    index=position))
        elif mime not in e_data:
            diffs.append(OutputDiff("mime", mime, None, describe_value(mime, a_data[mime], options), "",
                                    index=position))
        else:
            diff = compare_mime(mime, e_data[mime], a_data[mime], options, position)
            if diff is not None:
                diffs.append(diff)
    return diffs
