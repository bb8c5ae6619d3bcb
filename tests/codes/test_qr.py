"""QR images: decoded back with zxing-cpp to the exact URI (pure)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image

from app.codes import qr
from app.codes.digital_link import batch_uri, item_uri, product_uri
from app.codes.qr import MAX_SIZE, MIN_SIZE, InvalidSize, render_png, render_svg

BASE = "https://qcr.example.org"
GTIN = "06901234567892"
URIS = [
    product_uri(BASE, GTIN),
    batch_uri(BASE, GTIN, "L2024/03-A%"),
    item_uri(BASE, GTIN, "L2024/03-A%", "PGX7VNTREP7KUZQQOZUW"),
]
SVG_NS = "{http://www.w3.org/2000/svg}"


def _decode(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image.convert("L"))]


@pytest.mark.parametrize("size", [MIN_SIZE, 300, MAX_SIZE])
@pytest.mark.parametrize("uri", URIS)
def test_png_decodes_to_the_exact_uri(uri: str, size: int) -> None:
    image = Image.open(io.BytesIO(render_png(uri, size)))
    assert image.format == "PNG"
    assert image.size == (size, size)
    assert _decode(image) == [uri]


def _rasterise(svg: bytes) -> Image.Image:
    """Paint our SVG's single path of `M x y h w v1 h-w z` runs, one pixel per module."""
    root = ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted input
    min_x, min_y, view, _ = (float(v) for v in root.attrib["viewBox"].split())
    scale = int(root.attrib["width"]) / view
    image = Image.new("L", (int(root.attrib["width"]),) * 2, 255)
    path = root.find(f"{SVG_NS}path")
    assert path is not None
    for x, y, width in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path.attrib["d"]):
        left, top = (int(x) - min_x) * scale, (int(y) - min_y) * scale
        image.paste(
            0, (round(left), round(top), round(left + int(width) * scale), round(top + scale))
        )
    return image


@pytest.mark.parametrize("size", [MIN_SIZE, 300])
@pytest.mark.parametrize("uri", URIS)
def test_svg_is_xml_of_the_requested_width_and_decodes(uri: str, size: int) -> None:
    svg = render_svg(uri, size)
    root = ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted input
    assert root.tag == f"{SVG_NS}svg"
    assert root.attrib["width"] == root.attrib["height"] == str(size)
    assert _decode(_rasterise(svg)) == [uri]


@pytest.mark.parametrize("size", [0, MIN_SIZE - 1, MAX_SIZE + 1, -300])
def test_size_is_bounded(size: int) -> None:
    with pytest.raises(InvalidSize, match=f"between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}"):
        render_png(URIS[0], size)
    with pytest.raises(InvalidSize):
        render_svg(URIS[0], size)


def test_a_code_too_big_for_the_size_is_refused() -> None:
    long_uri = item_uri(BASE + "/" + "x" * 200, GTIN, "L" * 20, "S" * 20)
    with pytest.raises(InvalidSize, match="too small for this code"):
        render_png(long_uri, MIN_SIZE)
    assert _decode(Image.open(io.BytesIO(render_png(long_uri, 400)))) == [long_uri]


def test_images_are_cached_per_uri_size_and_format() -> None:
    qr._render.cache_clear()
    first = render_png(URIS[2], 256)
    assert render_png(URIS[2], 256) is first
    assert render_png(URIS[2], 257) != first
    assert render_svg(URIS[2], 256) != first
    info = qr._render.cache_info()
    assert (info.hits, info.misses, info.maxsize) == (1, 3, qr.CACHE_SIZE)
