"""tqdm's notebook bars (``tqdm.notebook``, ``tqdm.auto`` in Jupyter), compared by their final text.

Such a bar is an ipywidgets ``HBox`` of three children: an ``HTML`` with the
description and percentage, a ``FloatProgress`` (value, max, ``bar_style``) and an
``HTML`` with the counts, timing and postfix. Its output is a ``display_data``
holding the box's model id (``application/vnd.jupyter.widget-view+json``) and, as
``text/plain``, the meter as it was when the bar was created: ``0%``, whatever the
loop then did. Where the bar ended (``100%``, ``7/7``, ``loss=0.0654``) is only in
the widget state that a notebook saves in its metadata
(``metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]``): nbclient
stores it when it executes a notebook (so ``repro-nb record`` and ``verify`` do),
JupyterLab when the user saves widget state.

When both notebooks hold the models of a pair of such outputs, each output's
``text/plain`` is replaced by the bar's final text, in tqdm's own meter format
(``auto: 100%|██████████| 7/7 [00:00<00:00, 64.89it/s, loss=0.0654]``, the bar
drawn for the percentage, then a line ``bar_style: success``, or ``danger`` for a
loop that raised), whose timing :mod:`repro.notebook.compare.progress` then
normalises; a bar closed with ``leave=False`` shows nothing and reads ``hidden``.
When either lacks them, the outputs compare as stored (``text/plain`` normalised,
model ids masked): one side having saved widget state and the other not is no
difference. Pure functions of plain data.
"""

from __future__ import annotations

from repro.notebook.compare.progress import draw_bar

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_REFERENCE = "IPY_MODEL_"
_PROGRESS_MODELS = ("FloatProgressModel", "IntProgressModel")


def widget_state(nb) -> dict | None:
    """The widget models *nb* saved (model id -> model), or None when it saved none."""
    metadata = nb.get("metadata") if isinstance(nb, dict) else None
    widgets = metadata.get("widgets") if isinstance(metadata, dict) else None
    saved = widgets.get(WIDGET_STATE) if isinstance(widgets, dict) else None
    state = saved.get("state") if isinstance(saved, dict) else None
    return state if isinstance(state, dict) and state else None


def widget_states(expected_nb, actual_nb) -> tuple[dict | None, dict | None]:
    """The ``widgets`` argument of :func:`~repro.notebook.compare.outputs.compare_outputs`."""
    return widget_state(expected_nb), widget_state(actual_nb)


def with_final_text(expected_data: dict, actual_data: dict, states) -> tuple[dict, dict] | None:
    """Both outputs' MIME data with ``text/plain`` replaced by their bars' final text, or None
    unless both are tqdm bars whose models *states* (expected, actual) hold."""
    if not isinstance(states, tuple) or len(states) != 2:
        return None
    e_text = final_text(expected_data.get(WIDGET_VIEW), states[0])
    a_text = final_text(actual_data.get(WIDGET_VIEW), states[1])
    if e_text is None or a_text is None:
        return None
    return {**expected_data, "text/plain": e_text}, {**actual_data, "text/plain": a_text}


def final_text(view, state) -> str | None:
    """The final text of the tqdm bar whose widget view is *view* (``{"model_id": ...}``), or
    None unless *state* holds an ``HBox`` of ``HTML``, progress and ``HTML`` models for it."""
    if not isinstance(view, dict) or not isinstance(state, dict):
        return None
    box = _model(state, view.get("model_id"), ("HBoxModel",))
    children = box.get("children") if box is not None else None
    if not isinstance(children, list) or len(children) != 3:
        return None
    left = _model(state, _referenced(children[0]), ("HTMLModel",))
    bar = _model(state, _referenced(children[1]), _PROGRESS_MODELS)
    right = _model(state, _referenced(children[2]), ("HTMLModel",))
    if left is None or bar is None or right is None:
        return None
    layout = _model(state, _referenced(box.get("layout")), ("LayoutModel",))
    if layout is not None and layout.get("visibility") == "hidden":
        return "hidden"  # closed with leave=False: nothing shows, and its text may be stale
    description = _html_text(left)
    lines = [f"{description}|{_bar(description, bar)}|{_html_text(right)}"]
    if isinstance(bar.get("bar_style"), str) and bar["bar_style"]:
        lines.append(f"bar_style: {bar['bar_style']}")
    return "\n".join(lines)


def _referenced(value) -> str | None:
    """The model id in a reference (``"IPY_MODEL_<id>"``)."""
    if isinstance(value, str) and value.startswith(_REFERENCE):
        return value[len(_REFERENCE):]
    return None


def _model(state: dict, model_id, names: tuple[str, ...]) -> dict | None:
    """The state of model *model_id* when it is one of *names*."""
    model = state.get(model_id) if isinstance(model_id, str) else None
    if not isinstance(model, dict) or not isinstance(model.get("state"), dict):
        return None
    name = model.get("model_name", model["state"].get("_model_name"))
    return model["state"] if name in names else None


def _html_text(model: dict) -> str:
    """An ``HTML`` model's value as tqdm wrote it: unescaped, figure spaces back to spaces."""
    value = model.get("value")
    if not isinstance(value, str):
        return ""
    if "&" in value:
        import html

        value = html.unescape(value)
    return value.replace("\u2007", " ")


def _bar(description: str, model: dict) -> str:
    """The bar tqdm's text meter draws (10 characters, unicode blocks): for the percentage that
    ends *description*, else for the progress model's ``value / max``."""
    percent = description[-4:-1]
    if description.endswith("%") and percent.strip().isdigit():
        frac = int(percent) / 100.0
    else:
        value, top = model.get("value"), model.get("max")
        numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (value, top))
        frac = value / top if numbers and top > 0 else 0.0
    return draw_bar(frac)
