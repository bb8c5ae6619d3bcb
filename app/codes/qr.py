"""QR images of code URIs (SPEC §6): PNG and SVG, error correction M, bounded size.

`qrcode` builds the module matrix (with the 4-module quiet zone the QR standard
asks for); we paint it ourselves so that the image is exactly `size` pixels wide
with every module the same whole number of pixels (the leftover pixels widen
the quiet zone). Scaling qrcode's own image to an arbitrary width would smear
module edges, and its SVG output is sized in millimetres.

Images never change for a URI and size, so renders are cached (bounded LRU).
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Literal

import qrcode
from PIL import Image

MIN_SIZE = 64
MAX_SIZE = 2048
CACHE_SIZE = 1024
QUIET_ZONE = 4  # modules, per ISO/IEC 18004

Format = Literal["png", "svg"]


class InvalidSize(ValueError):
    """A requested image width outside MIN_SIZE..MAX_SIZE, or too small for the code."""


def _matrix(uri: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(uri)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    return matrix


def _layout(modules: int, size: int) -> tuple[int, int]:
    """Pixels per module and the offset that centres the code in `size` pixels."""
    scale = size // modules
    if scale < 1:
        raise InvalidSize(
            f"size {size} is too small for this code: it needs at least {modules} pixels"
        )
    return scale, (size - modules * scale) // 2


def _png(matrix: list[list[bool]], size: int) -> bytes:
    modules = len(matrix)
    scale, offset = _layout(modules, size)
    # One byte per module (0 black, 255 white), scaled up by a whole factor.
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    code = Image.frombytes("L", (modules, modules), pixels)
    code = code.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
    image = Image.new("L", (size, size), 255)
    image.paste(code, (offset, offset))
    buffer = io.BytesIO()
    # A 1-bit PNG: a few kilobytes even at the largest size.
    image.convert("1", dither=Image.Dither.NONE).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _svg(matrix: list[list[bool]], size: int) -> bytes:
    modules = len(matrix)
    scale, offset = _layout(modules, size)
    # One path, a rectangle per horizontal run of dark modules, in module units.
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < modules:
            if row[x]:
                start = x
                while x < modules and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    # The viewBox maps the code to whole pixels at the requested width, like the PNG.
    view = size / scale
    origin = -offset / scale
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="{origin:g} {origin:g} {view:g} {view:g}" shape-rendering="crispEdges">'
        f'<rect x="{origin:g}" y="{origin:g}" width="{view:g}" height="{view:g}" fill="#fff"/>'
        f'<path d="{"".join(runs)}" fill="#000"/></svg>\n'
    )
    return svg.encode("utf-8")


@lru_cache(maxsize=CACHE_SIZE)
def _render(uri: str, size: int, fmt: Format) -> bytes:
    matrix = _matrix(uri)
    return _png(matrix, size) if fmt == "png" else _svg(matrix, size)


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not MIN_SIZE <= size <= MAX_SIZE:
        raise InvalidSize(f"size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}")


def render_png(uri: str, size: int) -> bytes:
    """A PNG of the QR code for `uri`, exactly `size` pixels square."""
    _check_size(size)
    return _render(uri, size, "png")


def render_svg(uri: str, size: int) -> bytes:
    """An SVG of the QR code for `uri`, `size` pixels wide and high."""
    _check_size(size)
    return _render(uri, size, "svg")
