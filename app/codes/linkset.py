"""GS1 link types and the RFC 9264 linkset of a code (pure functions).

A GS1-Conformant resolver answers `?linkType=linkset` (older: `all`) with a
linkset whose relation types are GS1 Web Vocabulary URIs
(`https://gs1.org/voc/pip`, …), each a list of target objects with `href`,
`title`, `type` and `hreflang`. The targets are real resources on the public
base URL: the HTML target is the code's page (product information) or the
section of it (`#recalls`, `#inspections`, `#feedback`), the JSON target the
code's data, or that part of it alone. A batch or item linkset also carries the
links of every level above it, up to the GTIN (most specific first), as GS1
resolvers walk up the key qualifiers.
"""

from __future__ import annotations

from typing import Any

VOCABULARY = "https://gs1.org/voc/"
_VOCABULARIES = (VOCABULARY, "https://ref.gs1.org/voc/", "http://gs1.org/voc/")

PIP = "gs1:pip"
RECALL_STATUS = "gs1:recallStatus"
CERTIFICATION = "gs1:certificationInfo"
REVIEW = "gs1:review"
LINKSET = "linkset"

TITLES = {
    PIP: "产品信息",
    RECALL_STATUS: "召回状态",
    CERTIFICATION: "检验报告与监督抽查",
    REVIEW: "消费者评价",
}
# Where each link type's part sits on the HTML page.
SECTIONS = {RECALL_STATUS: "recalls", CERTIFICATION: "inspections", REVIEW: "feedback"}
MEDIA_TYPE = "application/linkset+json"


def normalise(link_type: str | None) -> str | None:
    """`gs1:x` for a GS1 link type in any spelling, LINKSET for `all`/`linkset`,
    None for the default (absent, `gs1:pip`, or a type this resolver has not:
    a GS1 resolver then answers with the default link)."""
    if link_type is None:
        return None
    value = link_type.strip()
    if value in ("all", "linkset"):
        return LINKSET
    for prefix in _VOCABULARIES:
        if value.startswith(prefix):
            value = "gs1:" + value[len(prefix) :]
    return value if value in TITLES and value != PIP else None


# (level name, title suffix) from the most specific code up to the GTIN.
LEVEL_TITLES = {"item": "", "batch": "（批次）", "product": "（产品）"}


def html_target(uri: str, link_type: str) -> str:
    """Where a link type's page is: the code's page, or its section."""
    return uri if link_type == PIP else f"{uri}#{SECTIONS[link_type]}"


def _targets(uri: str, link_type: str, suffix: str) -> list[dict[str, Any]]:
    title = TITLES[link_type] + suffix
    json = f"{uri}?format=json" if link_type == PIP else f"{uri}?linkType={link_type}&format=json"
    return [
        {
            "href": html_target(uri, link_type),
            "title": title,
            "type": "text/html",
            "hreflang": ["zh-CN"],
        },
        {"href": json, "title": title, "type": "application/json", "hreflang": ["zh-CN"]},
    ]


def build(levels: list[tuple[str, str]]) -> dict[str, Any]:
    """The linkset of one code, given `(level, uri)` from the code itself up to its
    GTIN: product information (also the default link), recall status,
    certification (inspection reports) and review (feedback), at every level."""
    anchor = levels[0][1]
    links: dict[str, Any] = {"anchor": anchor}
    for link_type in (PIP, RECALL_STATUS, CERTIFICATION, REVIEW):
        links[VOCABULARY + link_type.removeprefix("gs1:")] = [
            target
            for index, (level, uri) in enumerate(levels)
            for target in _targets(uri, link_type, LEVEL_TITLES[level] if index else "")
        ]
    links[VOCABULARY + "defaultLink"] = _targets(anchor, PIP, "")[:1]
    return {"linkset": [links]}


def link_header(anchor: str) -> str:
    """The `Link` header every resolver answer carries, pointing at the linkset."""
    return f'<{anchor}?linkType=linkset>; rel="linkset"; type="{MEDIA_TYPE}"'


def part(link_type: str, anchor: str, document: dict[str, Any]) -> dict[str, Any]:
    """What one link type answers as JSON."""
    out: dict[str, Any] = {"anchor": anchor, "linkType": link_type}
    if link_type == RECALL_STATUS:
        out["recalled"] = bool(document["recalls"])
        out["recalls"] = document["recalls"]
    elif link_type == CERTIFICATION:
        batch = document["batch"]
        out["inspection_reports"] = batch["inspection_reports"] if batch else []
        out["inspections"] = document["product"]["inspections"]
    elif link_type == REVIEW:
        out["feedback"] = document["feedback"]
        out["form"] = {
            "href": f"{anchor}/feedback",
            "method": "POST",
            "accepts": ["application/json", "application/x-www-form-urlencoded"],
            "fields": {
                "rating": "integer 1-5 (required)",
                "comment": "text, at most 500 characters",
                "complaint": "boolean",
                "contact": "text, at most 100 characters; private (regulators only)",
            },
        }
    return out
