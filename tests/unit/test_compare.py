from __future__ import annotations

import base64
import io
import subprocess
import sys

import pytest

from repro.notebook.compare import CompareOptions, OutputDiff, compare_outputs, normalize_text, render_terminal, unified_diff
from repro.notebook.compare.text import DIFF_MAX_LINES

# --------------------------------------------------------------------------- helpers


def stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def result(data, count=1, metadata=None):
    return {"output_type": "execute_result", "data": data, "metadata": metadata or {}, "execution_count": count}


def display(data, metadata=None):
    return {"output_type": "display_data", "data": data, "metadata": metadata or {}}


def error(ename, evalue, traceback=()):
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": list(traceback)}


def text(value):
    return display({"text/plain": value})


def png(width=4, height=3, color=(10, 20, 30, 255), pixels=None, mode="RGBA", fmt="PNG"):
    """A base64 image made with Pillow; *pixels* maps (x, y) to a colour."""
    from PIL import Image

    image = Image.new(mode, (width, height), color if mode == "RGBA" else color[:3])
    for xy, value in (pixels or {}).items():
        image.putpixel(xy, value if mode == "RGBA" else value[:3])
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def keys(diffs):
    return [(d.kind, d.key) for d in diffs]


TOL = CompareOptions(atol=1e-4)

# --------------------------------------------------------------------------- streams


def test_equal_streams_split_differently_are_the_same():
    expected = [stream("hello "), stream("world\n"), stream("bye\n")]
    actual = [stream("hel"), stream("lo world\nbye\n")]
    assert compare_outputs(expected, actual) == []


def test_stream_text_stored_as_a_list_of_lines_is_joined():
    assert compare_outputs([stream(["a\n", "b\n"])], [stream("a\nb\n")]) == []


def test_stdout_is_joined_across_interleaved_rich_outputs():
    expected = [stream("a\n"), text("1"), stream("b\n")]
    actual = [stream("a\nb\n"), text("1")]
    assert compare_outputs(expected, actual) == []


def test_different_stdout_is_a_text_diff_with_a_unified_diff():
    diffs = compare_outputs([stream("a\nb\nc\n")], [stream("a\nB\nc\n")])
    assert len(diffs) == 1
    d = diffs[0]
    assert (d.kind, d.key, d.expected, d.actual) == ("text", "stdout", "a\nb\nc", "a\nB\nc")
    assert d.diff.splitlines() == ["--- expected", "+++ actual", "@@ -1,3 +1,3 @@", " a", "-b", "+B", " c"]
    assert d.image is None


def test_stderr_and_stdout_are_kept_apart():
    diffs = compare_outputs([stream("x\n", "stdout")], [stream("x\n", "stderr")])
    assert keys(diffs) == [("missing", "stdout"), ("extra", "stderr")]
    assert diffs[0].expected == "x" and diffs[0].actual is None
    assert diffs[1].expected is None and diffs[1].actual == "x"


def test_stderr_is_compared():
    diffs = compare_outputs([stream("ok\n"), stream("warn 1\n", "stderr")],
                            [stream("ok\n"), stream("warn 2\n", "stderr")])
    assert keys(diffs) == [("text", "stderr")]


def test_a_stream_that_is_only_blank_counts_as_absent():
    assert compare_outputs([stream("\n")], []) == []


def test_progress_bars_with_carriage_returns_equal_their_final_state():
    expected = [stream("10%\r50%\r100%\n", "stderr"), stream("done\n")]
    actual = [stream("\r"), stream("100%\n", "stderr"), stream("done\n")]
    assert compare_outputs(expected, actual) == []
    # Split over several outputs, as tqdm writes it.
    assert compare_outputs([stream("0%"), stream("\r40%"), stream("\r100%\n")], [stream("100%\n")]) == []
    assert compare_outputs([stream("10%\r50%\r90%\n")], [stream("100%\n")]) != []


@pytest.mark.parametrize(
    "raw, rendered",
    [
        ("10%\r50%\r100%\n", "100%\n"),
        ("abc\rX", "Xbc"),
        ("a\r\nb\r\n", "a\nb\n"),
        ("ab\rabcd\rx\r", "xbcd"),
        ("abc\b\bX", "aXc"),
        ("\bab", "ab"),
        ("no controls", "no controls"),
    ],
)
def test_render_terminal(raw, rendered):
    assert render_terminal(raw) == rendered


# --------------------------------------------------------------------------- rich outputs


def test_execute_result_equals_display_data_and_counts_and_metadata_are_ignored():
    expected = [result({"text/plain": "42"}, count=3, metadata={"a": 1})]
    actual = [display({"text/plain": "42"}, metadata={"b": 2})]
    assert compare_outputs(expected, actual) == []
    assert compare_outputs([result({"text/plain": "42"}, count=1)], [result({"text/plain": "42"}, count=9)]) == []


def test_notebooknode_outputs_compare_like_dicts():
    nbformat = pytest.importorskip("nbformat")
    expected = [nbformat.from_dict(stream(["a\n", "b"])), nbformat.from_dict(result({"text/plain": ["1\n", "2"]}))]
    actual = [nbformat.from_dict(stream("a\nb")), nbformat.from_dict(display({"text/plain": "1\n2"}))]
    assert compare_outputs(expected, actual) == []
    actual[1]["data"]["text/plain"] = "1\n3"
    assert keys(compare_outputs(expected, actual)) == [("text", "text/plain")]


def test_text_plain_differs_and_reports_its_position():
    diffs = compare_outputs([stream("s"), text("a"), text("b")], [stream("s"), text("a"), text("c")])
    assert keys(diffs) == [("text", "text/plain")]
    assert diffs[0].index == 1 and diffs[0].expected == "b" and diffs[0].actual == "c"


def test_a_mime_type_on_one_side_only_is_a_mime_diff():
    diffs = compare_outputs([display({"text/plain": "x", "text/html": "<b>x</b>"})],
                            [display({"text/plain": "x"})])
    assert keys(diffs) == [("mime", "text/html")]
    assert diffs[0].expected == "<b>x</b>" and diffs[0].actual is None
    diffs = compare_outputs([display({"text/plain": "x"})], [display({"text/plain": "x", "image/png": png()})])
    assert keys(diffs) == [("mime", "image/png")]
    assert diffs[0].expected is None and "image/png" in diffs[0].actual


def test_missing_and_extra_rich_outputs():
    diffs = compare_outputs([text("a"), text("b")], [text("a")])
    assert keys(diffs) == [("missing", "display_data[1]")]
    assert "b" in diffs[0].expected and diffs[0].actual is None
    diffs = compare_outputs([result({"text/plain": "a"})], [result({"text/plain": "a"}), result({"text/plain": "b"})])
    assert keys(diffs) == [("extra", "execute_result[1]")]


def test_html_is_compared_as_normalised_text_with_tolerance():
    e = display({"text/html": "<table><td>1.2345</td><td>x</td></table>\n"})
    a = display({"text/html": "<table><td>1.2346</td><td>x</td></table>"})
    assert compare_outputs([e], [a], TOL) == []
    assert keys(compare_outputs([e], [a])) == [("text", "text/html")]


def test_json_is_compared_as_parsed_json():
    e = display({"application/json": {"a": 1, "b": [1, 2]}})
    assert compare_outputs([e], [display({"application/json": {"b": [1, 2], "a": 1}})]) == []
    assert compare_outputs([e], [display({"application/json": '{"b": [1, 2], "a": 1}'})]) == []
    diffs = compare_outputs([e], [display({"application/json": {"a": 2, "b": [1, 2]}})])
    assert keys(diffs) == [("text", "application/json")]
    assert '"a": 2' in diffs[0].diff


def test_widget_view_json_ignores_the_model_id():
    def view(model_id):
        return display({"application/vnd.jupyter.widget-view+json":
                        {"model_id": model_id, "version_major": 2, "version_minor": 0},
                        "text/plain": "IntProgress(value=0)"})

    assert compare_outputs([view("a" * 32)], [view("b" * 32)]) == []
    assert compare_outputs([view("not-hex")], [view("other")]) == []
    changed = view("b" * 32)
    changed["data"]["application/vnd.jupyter.widget-view+json"]["version_major"] = 3
    assert keys(compare_outputs([view("a" * 32)], [changed])) == [("text", "application/vnd.jupyter.widget-view+json")]


# --------------------------------------------------------------------------- images


def test_identical_png_is_the_same_even_reencoded_with_newlines_or_as_a_list():
    b64 = png()
    wrapped = "\n".join(b64[i:i + 76] for i in range(0, len(b64), 76)) + "\n"
    assert compare_outputs([display({"image/png": b64})], [display({"image/png": wrapped})]) == []
    assert compare_outputs([display({"image/png": b64})], [display({"image/png": [b64[:10], b64[10:]]})]) == []
    # Different bytes, same pixels: an RGB file against an RGBA one.
    assert png(mode="RGB") != b64
    assert compare_outputs([display({"image/png": b64})], [display({"image/png": png(mode="RGB")})]) == []


def test_one_changed_pixel_differs_with_its_fraction():
    diffs = compare_outputs([display({"image/png": png(5, 4)})],
                            [display({"image/png": png(5, 4, pixels={(2, 1): (200, 20, 30, 255)})})])
    assert keys(diffs) == [("image", "image/png")]
    d = diffs[0]
    assert d.image["expected_size"] == [5, 4] and d.image["actual_size"] == [5, 4]
    assert d.image["differing_fraction"] == pytest.approx(1 / 20)
    assert d.diff == ""
    assert "5x4" in d.expected


def test_a_pixel_changed_within_the_image_tolerance_is_the_same():
    e = [display({"image/png": png()})]
    a = [display({"image/png": png(pixels={(0, 0): (13, 20, 30, 255)})})]  # red channel +3
    assert compare_outputs(e, a, CompareOptions(image_tolerance=3)) == []
    assert compare_outputs(e, a, CompareOptions(image_tolerance=2.5)) != []
    assert compare_outputs(e, a) != []


def test_an_alpha_change_counts():
    a = [display({"image/png": png(pixels={(1, 1): (10, 20, 30, 100)})})]
    assert keys(compare_outputs([display({"image/png": png()})], a)) == [("image", "image/png")]


def test_fully_transparent_pixels_of_any_colour_are_the_same():
    e = [display({"image/png": png(color=(0, 0, 0, 0))})]
    a = [display({"image/png": png(color=(0, 0, 0, 0), pixels={(1, 1): (255, 255, 255, 0)})})]
    assert compare_outputs(e, a) == []


def test_images_of_different_sizes_differ():
    diffs = compare_outputs([display({"image/png": png(4, 3)})], [display({"image/png": png(3, 4)})])
    assert keys(diffs) == [("image", "image/png")]
    assert diffs[0].image["expected_size"] == [4, 3] and diffs[0].image["actual_size"] == [3, 4]
    assert diffs[0].image["differing_fraction"] == 1.0


def test_jpeg_is_compared_as_pixels():
    e = png(8, 8, color=(100, 100, 100, 255), mode="RGB", fmt="JPEG")
    a = png(8, 8, color=(180, 100, 100, 255), mode="RGB", fmt="JPEG")
    assert compare_outputs([display({"image/jpeg": e})], [display({"image/jpeg": e})]) == []
    diffs = compare_outputs([display({"image/jpeg": e})], [display({"image/jpeg": a})])
    assert keys(diffs) == [("image", "image/jpeg")]
    assert diffs[0].image["differing_fraction"] == 1.0


def test_an_undecodable_image_differs_without_raising():
    diffs = compare_outputs([display({"image/png": png()})], [display({"image/png": "bm90IGFuIGltYWdl"})])
    assert keys(diffs) == [("image", "image/png")]
    assert "cannot be decoded as an image: cannot identify image file" in diffs[0].actual
    assert diffs[0].expected == "image/png 4x3"


def test_a_decompression_bomb_is_compared_as_bytes_without_decoding():
    import base64
    import struct
    import zlib

    def huge_png(fill: int) -> str:
        """A PNG whose header says 13300x13300 and whose pixel data is a few bytes."""
        ihdr = struct.pack(">IIBBBBB", 13300, 13300, 8, 6, 0, 0, 0)
        chunks = b""
        for kind, body in ((b"IHDR", ihdr), (b"IDAT", zlib.compress(bytes([0, fill]))), (b"IEND", b"")):
            chunks += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        return base64.b64encode(b"\x89PNG\r\n\x1a\n" + chunks).decode()

    diffs = compare_outputs([display({"image/png": huge_png(1)})], [display({"image/png": huge_png(2)})])
    assert keys(diffs) == [("image", "image/png")]
    assert "13300x13300 is too large to compare as pixels" in diffs[0].expected


def test_an_image_too_large_to_decode_is_compared_as_bytes(monkeypatch):
    import repro.notebook.compare.media as media

    monkeypatch.setattr(media, "MAX_IMAGE_PIXELS", 10)
    diffs = compare_outputs([display({"image/png": png()})], [display({"image/png": png(color=(0, 0, 0, 255))})])
    assert keys(diffs) == [("image", "image/png")]
    assert "4x3 is too large to compare as pixels: compared as bytes" in diffs[0].expected
    assert compare_outputs([display({"image/png": png()})], [display({"image/png": png()})]) == []


# --------------------------------------------------------------------------- SVG

SVG = """<?xml version="1.0" encoding="utf-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="20" viewBox="0 0 10 20">
  <g id="a" style="fill: red">
    <rect x="1" y="2" width="3" height="4"/>
    <text x="0" y="9">hello   world</text>
  </g>
</svg>
"""

SVG_REFORMATTED = (
    '<svg viewBox="0 0 10 20" height="20" width="10" xmlns="http://www.w3.org/2000/svg">'
    '<g style="fill: red" id="a"><rect height="4" width="3" y="2" x="1"></rect>'
    '<text y="9" x="0">\n hello world\n</text></g></svg>'
)


def test_svg_with_reordered_attributes_and_other_whitespace_is_the_same():
    assert compare_outputs([display({"image/svg+xml": SVG})], [display({"image/svg+xml": SVG_REFORMATTED})]) == []
    assert compare_outputs([display({"image/svg+xml": SVG.splitlines(True)})],
                           [display({"image/svg+xml": SVG_REFORMATTED})]) == []


def test_svg_with_a_changed_attribute_differs():
    changed = SVG_REFORMATTED.replace('width="3"', 'width="5"')
    diffs = compare_outputs([display({"image/svg+xml": SVG})], [display({"image/svg+xml": changed})])
    assert keys(diffs) == [("text", "image/svg+xml")]
    assert 'width="5"' in diffs[0].diff


def test_svg_with_changed_text_differs():
    changed = SVG_REFORMATTED.replace("hello world", "hello there")
    assert compare_outputs([display({"image/svg+xml": SVG})], [display({"image/svg+xml": changed})]) != []


def test_svg_numbers_compare_within_tolerance():
    changed = SVG_REFORMATTED.replace('y="2"', 'y="2.00001"')
    assert compare_outputs([display({"image/svg+xml": SVG})], [display({"image/svg+xml": changed})], TOL) == []
    assert compare_outputs([display({"image/svg+xml": SVG})], [display({"image/svg+xml": changed})]) != []


def test_invalid_svg_falls_back_to_text():
    assert compare_outputs([display({"image/svg+xml": "<svg"})], [display({"image/svg+xml": "<svg\n"})]) == []
    assert keys(compare_outputs([display({"image/svg+xml": "<svg"})], [display({"image/svg+xml": "<sgv"})])) == [
        ("text", "image/svg+xml")]


# --------------------------------------------------------------------------- errors


def test_errors_compare_by_ename_and_evalue_not_traceback():
    e = [error("ValueError", "bad", ["Traceback...", "line 1"])]
    assert compare_outputs(e, [error("ValueError", "bad", ["other traceback"])]) == []
    diffs = compare_outputs(e, [error("ValueError", "worse")])
    assert keys(diffs) == [("error", "error")]
    assert diffs[0].expected == "ValueError: bad" and diffs[0].actual == "ValueError: worse"
    assert keys(compare_outputs(e, [error("TypeError", "bad")])) == [("error", "error")]


def test_an_error_on_one_side_only_is_an_error_diff():
    diffs = compare_outputs([stream("x\n")], [stream("x\n"), error("ZeroDivisionError", "division by zero")])
    assert keys(diffs) == [("error", "error")]
    assert diffs[0].expected is None and diffs[0].actual == "ZeroDivisionError: division by zero"
    diffs = compare_outputs([error("KeyError", "'a'")], [])
    assert keys(diffs) == [("error", "error")]
    assert diffs[0].expected == "KeyError: 'a'" and diffs[0].actual is None


def test_error_values_are_normalised():
    e = [error("AttributeError", "<Foo object at 0x7f3a2c1e4d90> has no attribute 'x'")]
    a = [error("AttributeError", "<Foo object at 0x55d1c0ffee00> has no attribute 'x'")]
    assert compare_outputs(e, a) == []


# --------------------------------------------------------------------------- normalisation

DEFAULT = CompareOptions()


@pytest.mark.parametrize(
    "raw, normalised",
    [
        ("<object at 0x7f3a2c1e4d90>", "<object at 0x<address>>"),
        ("at 0x7F3A2C1E4D90FFFF", "at 0x<address>"),  # 16 digits
        ("at 0xabcdef", "at 0x<address>"),  # 6 digits
        ("at 0xabcde", "at 0xabcde"),  # 5 digits: not an address
        ("at 0x1234567890abcdef1", "at 0x1234567890abcdef1"),  # 17 digits: not an address
        ("\x1b[31mred\x1b[0m \x1b[1;32mgreen\x1b[K", "red green"),
        ("\x1b]8;;http://x\x07link\x1b]8;;\x1b\\", "link"),
        ("File /tmp/ipykernel_12345/3456789012.py:3, in f()", "File <ipykernel>.py:3, in f()"),
        ("/var/folders/ab/x_y/T/ipykernel_123/45.py", "<ipykernel>.py"),
        ("File C:\\Users\\me\\AppData\\Local\\Temp\\ipykernel_123\\45.py:2", "File <ipykernel>.py:2"),
        ("'C:\\\\Users\\\\me\\\\Temp\\\\ipykernel_123\\\\45.py'", "'<ipykernel>.py'"),
        ('{"model_id": "0123456789abcdef0123456789abcdef"}', '{"model_id": "<model_id>"}'),
        ("a  \nb\t\n\n\n", "a\nb"),
        ("  indented\n", "  indented"),
    ],
)
def test_normalize_text(raw, normalised):
    assert normalize_text(raw, DEFAULT) == normalised


def test_masked_noise_does_not_count_in_outputs():
    e = [stream("\x1b[32m<Foo at 0x7f3a2c1e4d90>\x1b[0m  \n"), stream("/tmp/ipykernel_1/22.py:3: Warn\n", "stderr")]
    a = [stream("<Foo at 0x7f00000000aa>\n\n"), stream("/tmp/ipykernel_999/77.py:3: Warn\n", "stderr")]
    assert compare_outputs(e, a) == []


def test_normalize_off_compares_raw_text():
    e = [stream("<Foo at 0x7f3a2c1e4d90>\n")]
    a = [stream("<Foo at 0x7f00000000aa>\n")]
    assert compare_outputs(e, a, CompareOptions(normalize=False)) != []
    assert normalize_text("a \n", CompareOptions(normalize=False)) == "a \n"


def test_masks_apply_after_the_builtin_normalisation_and_in_order():
    options = CompareOptions(masks=((r"0x<address>", "ADDR"), (r"ADDR", "A2"), (r"\d{2}:\d{2}", "TIME")))
    assert normalize_text("at 0x7f3a2c1e4d90 at 12:30", options) == "at A2 at TIME"
    assert compare_outputs([stream("run 12:30\n")], [stream("run 09:15\n")], options) == []
    assert compare_outputs([stream("run 12:30\n")], [stream("run 09:15\n")]) != []


def test_long_runs_of_blanks_are_normalised_in_linear_time():
    blanks = " " * 300_000
    assert normalize_text(blanks + "x" + blanks + "\ny", DEFAULT) == blanks + "x\ny"


def test_compare_options_validate():
    with pytest.raises(ValueError, match="rtol"):
        CompareOptions(rtol=-1)
    with pytest.raises(ValueError, match="image_tolerance"):
        CompareOptions(image_tolerance=float("nan"))
    with pytest.raises(ValueError, match="invalid mask"):
        CompareOptions(masks=(("(", "x"),))
    with pytest.raises(ValueError, match="invalid mask"):
        CompareOptions(masks=((r"a", r"\1"),))
    assert CompareOptions(masks=[["a", "b"]]).masks == (("a", "b"),)


# --------------------------------------------------------------------------- numeric tolerance


def test_tolerance_accepts_close_numbers_and_zero_tolerance_refuses():
    e, a = [stream("loss: 0.12345\n")], [stream("loss: 0.12346\n")]
    assert compare_outputs(e, a, CompareOptions(atol=1e-4)) == []
    assert keys(compare_outputs(e, a)) == [("text", "stdout")]
    assert compare_outputs(e, a, CompareOptions(atol=1e-6)) != []
    assert compare_outputs(e, a, CompareOptions(rtol=1e-4)) == []
    assert compare_outputs(e, a, CompareOptions(rtol=1e-6)) != []


def test_without_tolerance_numbers_compare_as_text():
    assert compare_outputs([stream("1.0\n")], [stream("1.00\n")]) != []
    assert compare_outputs([stream("1.0\n")], [stream("1.00\n")], CompareOptions(atol=1e-12)) == []


def test_rtol_is_relative_to_the_expected_value():
    e, a = [stream("1000\n")], [stream("1001\n")]
    assert compare_outputs(e, a, CompareOptions(rtol=1e-3)) == []
    assert compare_outputs(e, a, CompareOptions(rtol=1e-4)) != []


def test_text_around_numbers_must_match_exactly():
    assert compare_outputs([stream("loss: 0.1\n")], [stream("acc: 0.1\n")], CompareOptions(atol=1)) != []
    assert compare_outputs([stream("a 1 b\n")], [stream("a 1 b 2\n")], CompareOptions(atol=1)) != []


def test_numbers_in_tensors_and_scientific_notation():
    e = [text("tensor([0.8823, 0.9150, -1.0000e-05])")]
    a = [text("tensor([0.8824, 0.9149, 1.0000e-05])")]
    assert compare_outputs(e, a, TOL) == []
    assert compare_outputs(e, a) != []
    assert compare_outputs([text("1e-05")], [text("1.00001e-05")], CompareOptions(rtol=1e-4)) == []


def test_tolerance_applies_to_every_line_and_newlines_must_match():
    e = [stream("a 1\nb 2\nc 3\n")]
    assert compare_outputs(e, [stream("a 1.00001\nb 2\nc 3.00001\n")], TOL) == []
    assert compare_outputs(e, [stream("a 1.00001\nb 2.1\nc 3.00001\n")], TOL) != []
    assert compare_outputs([stream("1\n2")], [stream("1 2")], CompareOptions(atol=1)) != []
    assert compare_outputs([stream("1\n2")], [stream("1\n2\n3")], CompareOptions(atol=1)) != []


def test_digits_inside_identifiers_are_not_numbers():
    big = CompareOptions(atol=1e9)
    for e, a in [("x1", "x2"), ("abc123", "abc124"), ("var_1", "var_2"), ("0x7f", "0x8f"), ("v1.2", "v1.3")]:
        assert compare_outputs([stream(e)], [stream(a)], big) != [], (e, a)
    assert compare_outputs([stream("x 1")], [stream("x 2")], big) == []


# --------------------------------------------------------------------------- unified diff


def test_the_diff_is_capped():
    e = "\n".join(f"line {i}" for i in range(200))
    a = "\n".join(f"LINE {i}" for i in range(200))
    lines = unified_diff(e, a).splitlines()
    assert len(lines) == DIFF_MAX_LINES + 1
    assert lines[-1] == f"... {400 + 3 - DIFF_MAX_LINES} more lines"


def test_the_diff_of_big_texts_is_near_the_first_difference_with_true_line_numbers():
    e = "".join(f"row {i}\n" for i in range(100_000))
    a = e.replace("row 90000\n", "row 9000O\n")
    diff = unified_diff(e, a)
    assert diff.splitlines() == [
        "--- expected", "+++ actual", "@@ -89999,5 +89999,5 @@",
        " row 89998", " row 89999", "-row 90000", "+row 9000O", " row 90001", " row 90002",
    ]


def test_the_diff_handles_one_text_being_a_prefix_of_the_other():
    assert unified_diff("a\nb", "a\nb\nc").splitlines()[2:] == ["@@ -1,2 +1,3 @@", " a", " b", "+c"]
    assert unified_diff("a\nb\nc", "a").splitlines()[2:] == ["@@ -1,3 +1 @@", " a", "-b", "-c"]
    assert unified_diff("", "x").splitlines()[2:] == ["@@ -1 +1 @@", "-", "+x"]


def test_long_lines_are_clipped_around_the_difference():
    e = "x" * 100_000
    a = "x" * 50_000 + "Y" + "x" * 49_999
    lines = unified_diff(e, a).splitlines()
    assert all(len(line) < 500 for line in lines)
    assert any("Y" in line for line in lines if line.startswith("+"))


# --------------------------------------------------------------------------- big outputs


def _big_stream(size=20_000_000):
    line = "epoch 12 loss: 0.123456 acc: 0.99 tensor([0.8823, 0.9150])\n"
    return line * (size // len(line))


def test_twenty_megabytes_of_equal_output_is_the_same():
    big = _big_stream()
    expected = [stream(big[: len(big) // 2]), stream(big[len(big) // 2:]), text(big)]
    actual = [stream(big), text(big)]
    assert compare_outputs(expected, actual) == []
    assert compare_outputs(expected, actual, CompareOptions(atol=1e-3, masks=((r"\d", "#"),))) == []


def test_twenty_megabytes_differing_in_one_line_near_the_end():
    big = _big_stream()
    cut = len(big) - 1000
    changed = big[:cut] + "X" + big[cut + 1:]
    diffs = compare_outputs([stream(big)], [stream(changed)])
    assert keys(diffs) == [("text", "stdout")]
    assert len(diffs[0].diff.splitlines()) <= 10
    added = [line for line in diffs[0].diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert len(added) == 1 and "X" in added[0]
    line_number = big.count("\n", 0, cut) + 1
    assert f"@@ -{line_number - 2},5 +{line_number - 2},5 @@" in diffs[0].diff


# --------------------------------------------------------------------------- the module itself


def test_importing_compare_stays_light():
    code = ("import sys, repro.notebook.compare; "
            "heavy = {'PIL', 'xml.etree.ElementTree', 'difflib', 'json', 'configparser', 'numpy', 'nbformat'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_output_diff_positional_construction():
    d = OutputDiff("missing", "cell", "code cell", None, "")
    assert d.image is None and d.index is None


def test_repro_advice_displays_do_not_count_and_keep_the_positions_of_other_outputs():
    advice = {"output_type": "display_data", "metadata": {"repro": {"notice": True}},
              "data": {"text/plain": "repro: note: PYTHONHASHSEED is not fixed in this kernel, ..."}}
    shown = {"output_type": "display_data", "metadata": {}, "data": {"text/plain": "figure"}}
    other = dict(shown, data={"text/plain": "another figure"})
    assert compare_outputs([advice, shown], [shown]) == []  # stored in Lab, not under repro-nb
    assert compare_outputs([shown], [advice, shown]) == []
    (diff,) = compare_outputs([advice, shown], [other])
    assert diff.key == "text/plain" and diff.index == 1  # where the figure is in the stored cell
    # The same text as an ordinary display (no marker) is an output like any other.
    plain = dict(advice, metadata={})
    assert compare_outputs([plain, shown], [shown])
    assert compare_outputs([advice, shown], [shown], CompareOptions(normalize=False))


def test_repro_notices_on_stderr_do_not_count():
    notice = "repro: PYTHONHASHSEED is not fixed in this kernel, so ...\n"
    expected = [{"output_type": "stream", "name": "stderr", "text": notice},
                {"output_type": "stream", "name": "stdout", "text": "1\n"}]
    actual = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
    assert compare_outputs(expected, actual) == []
    other = [{"output_type": "stream", "name": "stderr", "text": notice + "real warning\n"}]
    assert {d.key for d in compare_outputs(other, actual)} == {"stderr", "stdout"}
