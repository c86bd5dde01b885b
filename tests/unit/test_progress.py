"""Progress bars' timing fields: tqdm's meter and Keras' Progbar normalise equal across timings,
while everything a bar counts is still compared; tqdm's notebook bars by their final text."""

from __future__ import annotations

import copy
import io
import itertools
import json
import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro.notebook.compare import CompareOptions, compare_outputs, normalize_text, widget_states
from repro.notebook.compare.progress import may_hold_progress, normalize_progress_line, normalize_progress_lines
from repro.notebook.compare.widgets import WIDGET_STATE, WIDGET_VIEW, final_text, widget_state

tqdm_std = pytest.importorskip("tqdm.std")
format_meter = tqdm_std.tqdm.format_meter

DEFAULT = CompareOptions()
PROPERTY = settings(max_examples=int(os.environ.get("REPRO_FUZZ_EXAMPLES", "100")), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def stderr(text: str) -> dict:
    return {"output_type": "stream", "name": "stderr", "text": text}


def stdout(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def same(a: str, b: str, options: CompareOptions = DEFAULT) -> bool:
    return compare_outputs([stderr(a)], [stderr(b)], options) == []


# --------------------------------------------------------------------------- tqdm's text meter

COUNTS = [(0, 10), (1, 10), (5, 10), (10, 10), (3, None), (1234, 5000)]  # n, total
DESCS = ["", "my bar!", "epoch: 3: "]
POSTFIXES = [None, "loss=0.123, acc=0.9"]
TIMINGS = [(0.0, 0.004), (0.3, 2.5), (7.2, 4000.0), (59.9, 0.11)]  # elapsed, in two runs


@pytest.mark.parametrize("ascii", [False, True, " >="])  # unicode blocks, " 123456789#", a custom charset
@pytest.mark.parametrize("unit_scale", [False, True])
@pytest.mark.parametrize("unit", ["it", "B", "img"])
def test_tqdm_meters_normalise_equal_across_timings(unit, unit_scale, ascii):
    for (n, total), desc, postfix in itertools.product(COUNTS, DESCS, POSTFIXES):
        kwargs = dict(prefix=desc, unit=unit, unit_scale=unit_scale, postfix=postfix, ascii=ascii)
        lines = {format_meter(n, total, elapsed, **kwargs) for pair in TIMINGS for elapsed in pair}
        normalised = {normalize_progress_line(line) for line in lines}
        assert len(normalised) == 1, sorted(lines)
        (result,) = normalised
        assert "<elapsed>" in result and "<rate>" in result
        # What the bar counts is still there, as printed.
        assert result.split(" [")[0] == format_meter(n, total, 1.0, **kwargs).split(" [")[0]
        assert result.endswith(", loss=0.123, acc=0.9]" if postfix else "<rate>]")


def test_tqdm_hours_slow_rates_and_the_start():
    for line, expected in [
        ("dl:  50%|#####     | 5.00/10.0 [1:02:05<1:02:05, 745s/B, x=1]",
         "dl:  50%|#####     | 5.00/10.0 [<elapsed><<remaining>, <rate>, x=1]"),
        (" 30%|███       | 3/10 [01:40<03:53, 33.33s/it]", " 30%|███       | 3/10 [<elapsed><<remaining>, <rate>]"),
        ("  0%|          | 0/10000 [00:00<?, ?it/s]", "  0%|          | 0/10000 [<elapsed><<remaining>, <rate>]"),
        ("12.3MB [00:37, 334kB/s]", "12.3MB [<elapsed>, <rate>]"),
        ("train: 1.23kB [00:01, 12.3MB/s, loss=0.1]", "train: 1.23kB [<elapsed>, <rate>, loss=0.1]"),
        ("0it [00:00, ?it/s]", "0it [<elapsed>, <rate>]"),
        ("|██████████| 3/? [00:00<00:00, 128.45it/s]", "|██████████| 3/? [<elapsed><<remaining>, <rate>]"),
    ]:
        assert normalize_progress_line(line) == expected


def run_tqdm(delay: float, **kwargs) -> str:
    """What real tqdm writes for a short loop that sleeps *delay* per step."""
    out = io.StringIO()
    bar = tqdm_std.tqdm(range(6), file=out, mininterval=0, **kwargs)
    for i in bar:
        if kwargs.get("desc") == "train":
            bar.set_postfix(loss=0.5 / (i + 1))
        time.sleep(delay)
    bar.close()
    return out.getvalue()


@pytest.mark.parametrize("kwargs", [{}, {"desc": "my bar!"}, {"desc": "train", "unit": "img", "unit_scale": True},
                                    {"ascii": True, "unit": "B", "unit_scale": True}])
def test_real_tqdm_output_reproduces_at_other_speeds(kwargs):
    fast, slow = run_tqdm(0.0, **kwargs), run_tqdm(0.02, **kwargs)
    assert fast != slow
    assert same(fast, slow)
    assert not same(fast, slow, CompareOptions(progress=False))  # the timing is what differed


@pytest.mark.parametrize("kwargs", [{"ncols": 80}, {"ncols": 60, "ascii": True}, {"colour": "yellow"},
                                    {"ncols": 70, "colour": "yellow", "desc": "train"}])
def test_fixed_width_and_coloured_bars_reproduce_at_other_speeds(kwargs):
    """With a fixed line width the bar gets what the timing fields leave: its length follows their
    width. A colour puts ANSI codes inside the bar."""
    fast, slow = run_tqdm(0.0, **kwargs), run_tqdm(0.02, **kwargs)
    assert same(fast, slow)
    at = slow.rindex("6/6 [")  # the last line shows: one step less there is a difference
    assert not same(fast, slow[:at] + "5/6" + slow[at + 3:])


def test_a_bar_whose_length_follows_the_timing_fields_compares_by_the_fraction_done():
    stored = "train:  35%|███▎      | 7/20 [00:00<00:01,  9.80it/s]"  # ncols: the bar got 10
    new = "train:  35%|███▍      | 7/20 [00:00<00:00, 112.50it/s]"[:-1] + "]"
    wider = "train:  35%|███▍       | 7/20 [00:00<00:00, 99.1it/s]"  # 11 wide
    assert normalize_progress_line(stored) == normalize_progress_line(new) == normalize_progress_line(wider)
    assert normalize_progress_line(wider).startswith("train:  35%|███▌      | 7/20 [<elapsed>")  # tqdm at 10 wide
    assert not same(stored, "train:  40%|███▍      | 8/20 [00:00<00:00, 112.50it/s]")
    # A charset of the user's own is left as printed.
    custom = "train:  35%|===>      | 7/20 [00:00<00:01,  9.80it/s]"
    assert normalize_progress_line(custom).startswith("train:  35%|===>      | 7/20 [<elapsed>")


def test_several_bars_in_one_stderr_each_normalise():
    first = "\r".join(["a:   0%|          | 0/2 [00:00<?, ?it/s]", "a: 100%|██████████| 2/2 [00:00<00:00, 91.3it/s]"])
    second = "b: 100%|██████████| 3/3 [00:01<00:00,  2.95it/s, loss=0.1]"
    stored = first + "\n" + second + "\nsome warning\n" + "5it [00:00, 11.1it/s]\n"
    new = stored.replace("91.3it/s", "88.0it/s").replace("00:01<00:00,  2.95it/s", "00:00<00:00, 31.00it/s")
    new = new.replace("11.1it/s", "4.20it/s")
    assert same(stored, new)
    assert not same(stored, new.replace("some warning", "another warning"))


@pytest.mark.parametrize(("stored", "new"), [
    ("train: 100%|██████████| 5/5 [00:00<00:00, 83.0it/s, loss=0.1234]",
     "train: 100%|██████████| 5/5 [00:00<00:00, 85.1it/s, loss=0.1300]"),  # a metric in the postfix
    ("my bar!: 100%|██████████| 6/6 [00:00<00:00, 945.91it/s]",
     "my bar!:  83%|████████▎ | 5/6 [00:00<00:00, 884.19it/s]"),  # the count
    ("my bar!: 100%|██████████| 6/6 [00:00<00:00, 945.91it/s]",
     "your bar: 100%|██████████| 6/6 [00:00<00:00, 884.19it/s]"),  # the description
    ("100%|██████████| 6/6 [00:00<00:00, 945.91it/s]", "100%|██████████| 7/7 [00:00<00:00, 884.19it/s]"),  # total
    ("6it [00:00, 945.91it/s]", "6img [00:00, 884.19img/s]"),  # the unit
])
def test_what_a_bar_counts_is_still_compared(stored, new):
    diffs = compare_outputs([stderr(stored + "\n")], [stderr(new + "\n")])
    assert [d.key for d in diffs] == ["stderr"]
    assert "<rate>" in diffs[0].diff  # the report shows the timing as placeholders


def test_a_metric_within_tolerance_is_not_a_difference():
    stored = "train: 100%|██████████| 5/5 [00:00<00:00, 83.0it/s, loss=0.1234]"
    new = "train: 100%|██████████| 5/5 [00:01<00:00,  4.10it/s, loss=0.1235]"
    assert same(stored, new, CompareOptions(rtol=1e-3))
    assert not same(stored, new, CompareOptions(rtol=1e-5))
    assert not same(stored, new)


LOOKALIKES = [
    'print("took [00:01<00:02, 3.4it/s]")',
    "took [00:01<00:02, 3.4it/s]",
    "took 5it [00:01, 3.4it/s]",  # a count after a description needs ": "
    "loss: 0.1 - 2ms/step",
    "step 3 - 0s 2ms/step - loss: 0.1",
    "my bar!: 100%|█████     | 6/6 [00:00<00:00, 945.91it/s]",  # the bar is not at 100%
    "my bar!:  50%|██████████| 3/6 [00:00<00:00, 945.91it/s]",  # nor at 50%
    "my bar!:  90%|█████████ | 3/6 [00:00<00:00, 945.91it/s]",  # 3/6 is not 90%
    " 50%|#####     | 5/10 [00:37<00:37, 7.40s/it] and more",  # not the end of the line
    "5it [00:01, 3.4img/s]",  # the rate's unit is not the count's
    "10/10 [===>] - 1s 3ms/step - loss: 0.1234",  # a Keras 2 bar at 10/10 is full
    "10/10 [====>.....] - ETA: 1s - loss: 0.3",  # and 10/10 does not draw this one
    "3/100 [>.................] - ETA: 1s",  # the count is padded to the width of the total
    "10/10 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step, loss: 0.1",
    "Epoch 1/5",
    "10/10 [==============================]",
]


@pytest.mark.parametrize("line", LOOKALIKES)
def test_lines_that_only_look_like_bars_are_left_alone(line):
    assert normalize_progress_line(line) == line
    assert normalize_text(line, DEFAULT) == normalize_text(line, CompareOptions(progress=False))


# --------------------------------------------------------------------------- Keras' Progbar

KERAS = [
    # Keras 2, verbose=1: final, while it runs, without a target; TF 2.0's us/sample; Keras 2.0's elapsed only
    ("10/10 [==============================] - {s}s {ms}ms/step - loss: 0.1234 - accuracy: 0.9000",
     "10/10 [==============================] - <elapsed> <time>/step - loss: 0.1234 - accuracy: 0.9000"),
    (" 3/10 [========>.....................] - ETA: {s}s - loss: 0.3000",
     " 3/10 [========>.....................] - ETA: <eta> - loss: 0.3000"),
    ("     20/Unknown - {s}s {ms}ms/step - loss: 0.1000", "     20/Unknown - <elapsed> <time>/step - loss: 0.1000"),
    ("60000/60000 [==============================] - {s}s {ms}us/sample - loss: 0.2900",
     "60000/60000 [==============================] - <elapsed> <time>/sample - loss: 0.2900"),
    ("10/10 [==============================] - {s}s - loss: 0.1234",
     "10/10 [==============================] - <elapsed> - loss: 0.1234"),
    # Keras 2, verbose=2
    ("10/10 - {s}s - loss: 0.1234 - accuracy: 0.9000 - {ms}ms/epoch - {ms}ms/step",
     "10/10 - <elapsed> - loss: 0.1234 - accuracy: 0.9000 - <time>/epoch - <time>/step"),
    # Keras 3, verbose=1 (ANSI styling removed): final, while it runs, without a target, slow steps
    ("10/10 ━━━━━━━━━━━━━━━━━━━━ {s}s {ms}ms/step - accuracy: 0.9000 - loss: 0.1200",
     "10/10 ━━━━━━━━━━━━━━━━━━━━ <elapsed> <time>/step - accuracy: 0.9000 - loss: 0.1200"),
    (" 3/10 ━━━━━━━━━━━━━━━━━━━━ {s}s {ms}ms/step - loss: 0.3000",
     " 3/10 ━━━━━━━━━━━━━━━━━━━━ <eta> <time>/step - loss: 0.3000"),
    ("     20/Unknown {s}s {ms}ms/step - loss: 0.1000", "     20/Unknown <elapsed> <time>/step - loss: 0.1000"),
    ("2/5 ━━━━━━━━━━━━━━━━━━━━ 1:0{s} {s}s/step", "2/5 ━━━━━━━━━━━━━━━━━━━━ <eta> <time>/step"),
    # Keras 3, verbose=2
    ("10/10 - {s}s - {ms}ms/step - loss: 0.1234", "10/10 - <elapsed> - <time>/step - loss: 0.1234"),
]


@pytest.mark.parametrize(("template", "expected"), KERAS)
def test_keras_progbar_lines_normalise_equal_across_timings(template, expected):
    for s, ms in [(0, 2), (1, 15), (7, 350)]:
        assert normalize_progress_line(template.format(s=s, ms=ms)) == expected


def test_keras_epochs_as_printed_in_a_notebook():
    def fit(times):
        lines = []
        for epoch, (s, ms) in enumerate(times):
            lines.append(f"Epoch {epoch + 1}/2")
            # Keras 2 rewrites the line with backspaces and a carriage return
            lines.append(f"\r 1/10 [==>...........................] - ETA: {s + 3}s - loss: 0.9000"
                         + "\b" * 60 + f"\r10/10 [==============================] - {s}s {ms}ms/step - "
                         f"loss: {0.5 / (epoch + 1):.4f}")
        return "\n".join(lines) + "\n"

    stored, new = fit([(0, 2), (0, 3)]), fit([(1, 40), (2, 113)])
    assert compare_outputs([stdout(stored)], [stdout(new)]) == []
    changed = new.replace("loss: 0.2500", "loss: 0.2600")
    diffs = compare_outputs([stdout(stored)], [stdout(changed)])
    assert diffs and "-10/10 [==============================] - <elapsed> <time>/step - loss: 0.2500" in diffs[0].diff
    assert "Epoch 2/2" in normalize_text(new, DEFAULT)


# --------------------------------------------------------------------------- properties

ODD = st.text(alphabet=st.one_of(st.characters(codec=None), st.sampled_from("|/[]<>,:%. 0123456789?s\u2588\u2501=>\n")),
              max_size=80)


@st.composite
def bar_lines(draw):
    """Lines made of the grammar's pieces, in orders that are and are not a bar's."""
    pieces = st.sampled_from([
        "my bar!: ", " 50%", "100%", "|", "█████", "#####     ", "     ", "| ", "5/10", "10/10", "3/?", " [",
        "00:37", "1:02:05", "<", "?", ", ", " 7.40s/it", "12.3MB/s", "?it/s", "it/s", "]", ", loss=0.1", "5it",
        "12.3kB", " - ", "ETA: ", "1s", " 2ms/step", "[=====]", "━━━━", "/Unknown", "loss: 0.1", "\r", "\b",
    ])
    return "".join(draw(st.lists(st.one_of(pieces, ODD), max_size=14)))


@st.composite
def meters(draw):
    """Real tqdm meters and Keras lines, alone or run into each other and into odd text."""
    n = draw(st.integers(0, 10**7))
    total = draw(st.one_of(st.none(), st.integers(1, 10**7)))
    tqdm_line = format_meter(n, total if total is None or total >= n else n + total, draw(st.floats(0, 1e5)),
                             prefix=draw(st.sampled_from(["", "my bar!", "a: b"])), unit=draw(st.sampled_from(
                                 ["it", "B", "img"])), unit_scale=draw(st.booleans()), ascii=draw(st.booleans()),
                             postfix=draw(st.sampled_from([None, "loss=0.1", "x=| 1/2 [00:00<00:01, 3.0it/s]"])))
    keras_line = draw(st.sampled_from([t for t, _ in KERAS])).format(s=draw(st.integers(0, 99)),
                                                                     ms=draw(st.integers(0, 999)))
    parts = draw(st.lists(st.sampled_from([tqdm_line, keras_line]) | ODD, min_size=1, max_size=4))
    return draw(st.sampled_from(["", "\n", ", "])).join(parts)


@PROPERTY
@given(st.one_of(ODD, bar_lines(), meters(), st.lists(bar_lines() | meters(), max_size=4).map("\n".join)))
def test_normalisation_never_raises_and_is_idempotent(text):
    once = normalize_progress_lines(text.split("\n"))
    assert normalize_progress_lines(once) == once
    shown = normalize_text(text, DEFAULT).split("\n")  # as compared: terminal rendering, ANSI and blanks, then bars
    assert normalize_progress_lines(shown) == shown


@PROPERTY
@given(st.text(alphabet=st.characters(codec=None, blacklist_characters="/"), max_size=200))
def test_text_without_a_slash_is_never_touched(text):
    assert not may_hold_progress(text)
    assert normalize_progress_lines(text.split("\n")) == text.split("\n")
    assert normalize_text(text, DEFAULT) == normalize_text(text, CompareOptions(progress=False))


@pytest.mark.parametrize("unit", [
    "| 1/1 [00:00<00:00, 1.00it/s, ", " [00:00, 1it/s, ", "1%|", "| 1/", "00:00<", "10/10 [====] - ",
    "10/10 - 0s - 1ms/epoch - ", " " * 50, "=" * 50, "1" * 50, "10/" + "9" * 5000 + " [=] - 0s ",
])
def test_hostile_lines_cost_linear_time(unit):
    line = unit * (400_000 // len(unit)) + "]"
    start = time.perf_counter()
    normalize_progress_line(line)
    normalize_progress_line(line[:-1] + "0s 2ms/step")
    assert time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------- tqdm's notebook bars

RUNS = json.loads((Path(__file__).parent / "tqdm_widget_runs.json").read_text(encoding="utf-8"))


def run_notebook(name: str) -> dict:
    """A notebook with one recorded run's tqdm.auto cells and widget state."""
    run = copy.deepcopy(RUNS[name])
    cells = [{"cell_type": "code", "source": c["source"], "outputs": c["outputs"], "metadata": {}} for c in run["cells"]]
    return {"cells": cells, "metadata": {"widgets": run["widgets"]}}


def views(nb: dict) -> list[dict]:
    return [c["outputs"][0]["data"][WIDGET_VIEW] for c in nb["cells"]]


def html_models(nb: dict) -> dict:
    return {k: m["state"] for k, m in nb["metadata"]["widgets"][WIDGET_STATE]["state"].items()
            if m["model_name"] == "HTMLModel"}


def cell_diffs(a: dict, b: dict, options: CompareOptions = DEFAULT) -> list[list]:
    return [compare_outputs(x["outputs"], y["outputs"], options, widgets=widget_states(a, b))
            for x, y in zip(a["cells"], b["cells"])]


def test_the_final_text_of_recorded_tqdm_widgets():
    nb = run_notebook("first")
    texts = [final_text(view, widget_state(nb)) for view in views(nb)]
    assert texts == [
        "train: 100%|██████████| 7/7 [00:00<00:00, 71.05it/s, loss=0.421]\nbar_style: success",
        "hidden",  # leave=False: closed and hidden
        "boom:  40%|████      | 2/5 [00:00<00:00, 107.38it/s]\nbar_style: danger",  # the loop raised
        "|██████████| 3/? [00:00<00:00, 199.99img/s]\nbar_style: success",  # no total
    ]
    # The stored text/plain is the meter as the bar was created: it says nothing of the end.
    assert nb["cells"][0]["outputs"][0]["data"]["text/plain"] == "train:   0%|          | 0/7 [00:00<?, ?it/s]"


def test_two_recorded_runs_of_tqdm_widgets_are_the_same():
    first, second = run_notebook("first"), run_notebook("second")
    assert [v["model_id"] for v in views(first)] != [v["model_id"] for v in views(second)]
    assert cell_diffs(first, second) == [[], [], [], []]


def edit_html(nb: dict, old: str, new: str) -> None:
    edited = [m for m in html_models(nb).values() if old in m["value"]]
    assert edited
    for model in edited:
        model["value"] = model["value"].replace(old, new)


@pytest.mark.parametrize(("old", "new", "cell"), [
    ("loss=0.421", "loss=0.5", 0),  # the final postfix
    ("7/7", "6/7", 0),  # the final count
    ("boom:\u2007\u200740%", "boom:\u2007\u200760%", 2),  # how far the failed loop got
])
def test_a_changed_final_state_is_a_difference(old, new, cell):
    first, second = run_notebook("first"), run_notebook("second")
    edit_html(second, old, new)
    diffs = cell_diffs(first, second)
    assert [i for i, d in enumerate(diffs) if d] == [cell]
    assert diffs[cell][0].key == "text/plain"
    assert new.replace("\u2007", " ") in diffs[cell][0].diff


def test_a_failed_bar_against_a_finished_one_is_a_difference():
    first, second = run_notebook("first"), run_notebook("second")
    state = second["metadata"]["widgets"][WIDGET_STATE]["state"]
    (bar,) = [m["state"] for m in state.values() if m["state"].get("bar_style") == "danger"]
    bar["bar_style"] = "success"
    diffs = cell_diffs(first, second)
    assert [bool(d) for d in diffs] == [False, False, True, False]
    assert "-bar_style: danger" in diffs[2][0].diff


def test_without_widget_state_on_either_side_the_outputs_compare_as_stored():
    first, second = run_notebook("first"), run_notebook("second")
    edit_html(second, "loss=0.421", "loss=0.5")
    del second["metadata"]["widgets"]  # JupyterLab saved without widget state, say
    assert cell_diffs(first, second) == [[], [], [], []]
    assert cell_diffs(second, first) == [[], [], [], []]
    # As stored: the text/plain (timing normalised) and the view with its model id masked.
    second["cells"][0]["outputs"][0]["data"]["text/plain"] = "train:   0%|          | 0/8 [00:00<?, ?it/s]"
    assert [bool(d) for d in cell_diffs(first, second)] == [True, False, False, False]


def test_progress_off_compares_tqdm_widgets_as_stored():
    first, second = run_notebook("first"), run_notebook("second")
    edit_html(second, "loss=0.421", "loss=0.5")
    assert cell_diffs(first, second, CompareOptions(progress=False)) == [[], [], [], []]
    assert cell_diffs(first, second, CompareOptions(normalize=False)) == [[], [], [], []]


@PROPERTY
@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                    max_leaves=10))
def test_odd_widget_metadata_never_raises(value):
    first, second = run_notebook("first"), run_notebook("second")
    state = second["metadata"]["widgets"][WIDGET_STATE]["state"]
    for key in list(state)[::5]:  # models of every kind, their state odd
        state[key]["state"] = value
    first["metadata"]["widgets"] = value
    for a, b in ((first, second), (second, first), (second, second)):
        assert all(isinstance(d, list) for d in cell_diffs(a, b))
    for view in [*views(second), value]:
        assert final_text(view, state) is None or isinstance(final_text(view, state), str)


# --------------------------------------------------------------------------- switching it off

def test_progress_bars_false_in_the_table_and_the_command_line(tmp_path, monkeypatch):
    from repro.cli import _options, build_parser
    from repro.notebook.options import resolve_options

    (tmp_path / "pyproject.toml").write_text("[tool.repro]\nprogress_bars = false\n", encoding="utf-8")
    assert resolve_options(tmp_path).compare.progress is False
    assert resolve_options(tmp_path, progress_bars=True).compare.progress is True
    (tmp_path / "pyproject.toml").write_text("[tool.repro]\n", encoding="utf-8")
    assert resolve_options(tmp_path).compare.progress is True
    monkeypatch.chdir(tmp_path)
    for command in (["verify", "--no-progress-bars", "nb.ipynb"], ["diff", "--no-progress-bars", "a.ipynb", "b.ipynb"]):
        assert _options(build_parser().parse_args(command)).compare.progress is False
    assert _options(build_parser().parse_args(["verify", "nb.ipynb"])).compare.progress is True


def test_a_bad_progress_bars_value_is_one_line(tmp_path):
    from repro.notebook.errors import InputError
    from repro.notebook.options import resolve_options

    (tmp_path / "pyproject.toml").write_text("[tool.repro]\nprogress_bars = 'no'\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape("[tool.repro] progress_bars must be true or false, not 'no'")):
        resolve_options(tmp_path)
