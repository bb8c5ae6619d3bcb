"""An Atom feed (RFC 4287) of one kind's publications, for subscribers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from xml.etree import ElementTree as ET

from app.lists.canonical import KIND_ZH
from app.lists.models import ListPublication

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = _NOT_XML.sub("\ufffd", text)  # XML 1.0 cannot carry these
    return element


def build(kind: str, publications: Sequence[ListPublication], base_url: str) -> bytes:
    """The feed document: newest publication first, absolute links on `base_url`."""
    ET.register_namespace("", ATOM)
    base = base_url.rstrip("/")
    api = f"{base}/v1/lists/{kind}"
    root = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "zh-CN"})
    _sub(root, "id", f"{api}/feed.atom")
    _sub(root, "title", f"质量信用{KIND_ZH[kind]}公布")
    _sub(root, "subtitle", f"每期{KIND_ZH[kind]}的发布记录、条目数与 SHA-256 校验值")
    updated = max((p.published_at for p in publications), default=EPOCH)
    _sub(root, "updated", _iso(updated))
    _sub(root, "link", rel="self", type=MEDIA_TYPE, href=f"{api}/feed.atom")
    _sub(root, "link", rel="alternate", type="text/html", href=f"{base}/lists/{kind}")
    author = _sub(root, "author")
    _sub(author, "name", "质量信用登记服务")
    for p in publications:
        entry = _sub(root, "entry")
        _sub(entry, "id", f"{api}/publications/{p.number}")
        _sub(entry, "title", f"{KIND_ZH[kind]}第 {p.number} 期（截至 {p.as_of.isoformat()}）")
        _sub(entry, "updated", _iso(p.published_at))
        _sub(entry, "published", _iso(p.published_at))
        _sub(
            entry, "link", rel="alternate", type="text/html", href=f"{base}/lists/{kind}/{p.number}"
        )
        _sub(
            entry,
            "link",
            rel="related",
            type="application/json",
            href=f"{api}/publications/{p.number}",
        )
        _sub(
            entry,
            "link",
            rel="enclosure",
            type="text/csv",
            href=f"{api}/publications/{p.number}?format=csv",
        )
        summary = (
            f"截至 {p.as_of.isoformat()} 共 {p.entry_count} 家企业。"
            f"SHA-256：{p.sha256}。审计链见证：第 {p.audit_seq} 条，{p.audit_hash}。"
        )
        if p.note:
            summary += f"说明：{p.note}"
        _sub(entry, "summary", summary, type="text")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body
