"""Comparing rich MIME data: JSON as data, SVG as canonical XML, raster images as pixels."""

from __future__ import annotations

from repro.notebook.compare.model import CompareOptions, OutputDiff
from repro.notebook.compare.model import join_text as _join
from repro.notebook.compare.text import compare_text as _compare_text
from repro.notebook.compare.text import normalize_text


def _is_json_mime(mime: str) -> bool:
    return mime == "application/json" or mime.endswith("+json")


def _is_raster_mime(mime: str) -> bool:
    return mime.startswith("image/") and mime != "image/svg+xml"


def describe_value(mime: str, value, options: CompareOptions) -> str:
    if _is_raster_mime(mime):
        return f"{mime} ({len(_join(value))} base64 characters)"
    if isinstance(value, (str, list)) and not _is_json_mime(mime):
        return normalize_text(_join(value), options)
    return normalize_text(_json_text(value), options)


def compare_mime(mime: str, expected, actual, options: CompareOptions, position: int) -> OutputDiff | None:
    if expected == actual:
        return None
    if _is_raster_mime(mime):
        return _compare_image(mime, expected, actual, options, position)
    if mime == "image/svg+xml":
        return _compare_svg(mime, _join(expected), _join(actual), options, position)
    if _is_json_mime(mime):
        return compare_json("text", mime, expected, actual, options, position)
    if not isinstance(expected, (str, list)) or not isinstance(actual, (str, list)):
        return compare_json("text", mime, expected, actual, options, position)
    return _compare_text("text", mime, _join(expected), _join(actual), options, index=position)


# --- JSON

def _parse_json(value):
    """nbformat stores JSON MIME data parsed; a string is parsed here when it is JSON."""
    if isinstance(value, str):
        import json

        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _json_text(value) -> str:
    import json

    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False, default=str)


def compare_json(kind: str, key: str, expected, actual, options: CompareOptions, position: int) -> OutputDiff | None:
    e, a = _parse_json(expected), _parse_json(actual)
    if key == "application/vnd.jupyter.widget-view+json":
        if isinstance(e, dict) and "model_id" in e:
            e = dict(e, model_id="<model_id>")
        if isinstance(a, dict) and "model_id" in a:
            a = dict(a, model_id="<model_id>")
    if e == a:
        return None
    # Not equal as data: compare the canonical texts, so that masks and tolerance apply.
    return _compare_text(kind, key, _json_text(e), _json_text(a), options, index=position)


# --- SVG

def _canonical_svg(text: str) -> str | None:
    """One line per element, attributes sorted, whitespace collapsed; None when it is not XML."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text.strip().encode("utf-8"))
    except (ET.ParseError, ValueError):
        return None

    def squash(s: str | None) -> str:
        return " ".join(s.split()) if s else ""

    def quote(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines: list[str] = []

    def walk(element, depth: int) -> None:
        indent = "  " * depth
        attrs = "".join(f" {name}={quote(squash(value))}" for name, value in sorted(element.attrib.items()))
        lines.append(f"{indent}<{element.tag}{attrs}>")
        text = squash(element.text)
        if text:
            lines.append(f"{indent}  {text}")
        for child in element:
            if not isinstance(child.tag, str):  # comments, processing instructions
                tail = squash(child.tail)
                if tail:
                    lines.append(f"{indent}  {tail}")
                continue
            walk(child, depth + 1)
            tail = squash(child.tail)
            if tail:
                lines.append(f"{indent}  {tail}")

    walk(root, 0)
    return "\n".join(lines)


def _compare_svg(mime: str, expected: str, actual: str, options: CompareOptions, position: int) -> OutputDiff | None:
    if expected == actual:
        return None
    e_canon = _canonical_svg(expected)
    a_canon = _canonical_svg(actual)
    if e_canon is None or a_canon is None:
        return _compare_text("text", mime, expected, actual, options, index=position)
    return _compare_text("text", mime, e_canon, a_canon, options, index=position)


# --- raster images

def _decode_base64(value) -> bytes:
    import base64

    text = "".join(_join(value).split())
    text += "=" * (-len(text) % 4)
    return base64.b64decode(text, validate=False)


#: Images with more pixels than this are compared as bytes: decoding two 13300x13300
#: PNGs as RGBA takes gigabytes. 25 megapixels is a 5000x5000 figure at 4 bytes a pixel.
MAX_IMAGE_PIXELS = 25_000_000


def _decode_image(payload: str):
    """The image as RGBA, or a string saying why it is not compared as pixels."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(_decode_base64(payload))) as img:  # reads the header only
                width, height = img.size
                if width * height > MAX_IMAGE_PIXELS:
                    return f"{width}x{height} is too large to compare as pixels"
                return img.convert("RGBA")
    except Image.DecompressionBombError as exc:
        return f"too large to compare as pixels ({' '.join(str(exc).split())[:80]})"
    except Exception as exc:  # undecodable: not an image, truncated, unsupported
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        return f"cannot be decoded as an image: {reason}"


def _compare_image(mime: str, expected, actual, options: CompareOptions, position: int) -> OutputDiff | None:
    e_b64 = "".join(_join(expected).split())
    a_b64 = "".join(_join(actual).split())
    if e_b64 == a_b64:
        return None
    try:
        from PIL import Image, ImageChops
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return OutputDiff("image", mime, f"{mime} ({len(e_b64)} base64 characters)",
                          f"{mime} ({len(a_b64)} base64 characters)", "", index=position)

    e_img, a_img = (_decode_image(payload) for payload in (e_b64, a_b64))
    if not isinstance(e_img, Image.Image) or not isinstance(a_img, Image.Image):
        def describe(img, b64):
            if isinstance(img, Image.Image):
                return f"{mime} {img.width}x{img.height}"
            return f"{mime} ({len(b64)} base64 characters; {img}: compared as bytes, and they differ)"

        return OutputDiff("image", mime, describe(e_img, e_b64), describe(a_img, a_b64), "", index=position)

    info = {"expected_size": [e_img.width, e_img.height], "actual_size": [a_img.width, a_img.height]}
    expected_text = f"{mime} {e_img.width}x{e_img.height}"
    actual_text = f"{mime} {a_img.width}x{a_img.height}"
    if e_img.size != a_img.size:
        info.update(differing_fraction=1.0, differing_pixels=None)
        return OutputDiff("image", mime, expected_text, actual_text, "", image=info, index=position)

    tolerance = options.image_tolerance
    over = [255 if v > tolerance else 0 for v in range(256)]
    mask = None
    for band in ImageChops.difference(e_img, a_img).split():
        band = band.point(over)
        mask = band if mask is None else ImageChops.lighter(mask, band)
    # Pixels fully transparent on both sides look the same whatever their colour.
    clear = ImageChops.lighter(e_img.getchannel("A"), a_img.getchannel("A")).point(
        [255 if v == 0 else 0 for v in range(256)])
    mask = ImageChops.subtract(mask, clear)
    count = mask.histogram()[255]
    if count == 0:
        return None
    total = e_img.width * e_img.height
    info.update(differing_fraction=count / total, differing_pixels=count)
    return OutputDiff("image", mime, expected_text, actual_text, "", image=info, index=position)
