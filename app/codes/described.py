"""The resolver in the OpenAPI document: one route, three Digital Link levels.

One route (`/01/{code:path}`, app/codes/resolver.py) answers every level: it
parses the raw, still percent-encoded path, so a lot's `%2F` stays inside the
lot. Described as that one route, the whole `gtin/10/lot/21/serial` tail would
be one parameter, which a generated client percent-encodes (`/` becomes `%2F`)
into a request for a code that does not exist. So the document describes it as
the three paths of SPEC §6, each with its own parameters, and the feedback
`POST`s at `…/feedback`: the URLs are the same ones the route answers (a
client generated from the old document still calls the same URLs).

The feedback body is one component per media type (`FeedbackCreate` for JSON,
`FeedbackForm` for the page's form): inlined, a generator makes a model of it for
each operation and media type; one component for both, and a generated client
cannot tell which encoding the caller meant (it sends the form).

A pure rewrite of the finished document (app/openapi.py `install`).
"""

from __future__ import annotations

import copy
from typing import Any

from app.codes.digital_link import CSET_82, MAX_AI_VALUE_LENGTH
from app.codes.schemas import FeedbackCreate

ROUTE_PATH = "/01/{code}"
FEEDBACK = "/feedback"

_CSET_82_CLASS = "".join("\\" + c if c in "\\]^-[" else c for c in sorted(CSET_82))
_AI_VALUE = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_AI_VALUE_LENGTH,
    "pattern": f"^[{_CSET_82_CLASS}]{{1,{MAX_AI_VALUE_LENGTH}}}$",
}
PARAMETERS: dict[str, dict[str, Any]] = {
    "gtin": {
        "name": "gtin",
        "in": "path",
        "required": True,
        "description": "GTIN-8, -12, -13 or -14 (AI 01; padded to 14 digits)",
        "schema": {"type": "string", "title": "Gtin", "pattern": "^([0-9]{8}|[0-9]{12,14})$"},
        "example": "06901234567892",
    },
    "lot": {
        "name": "lot",
        "in": "path",
        "required": True,
        "description": "the lot (AI 10), percent-encoded in the path (`/` is `%2F`)",
        "schema": _AI_VALUE | {"title": "Lot"},
        "example": "L2026-11",
    },
    "serial": {
        "name": "serial",
        "in": "path",
        "required": True,
        "description": "the item serial (AI 21)",
        "schema": _AI_VALUE | {"title": "Serial"},
        "example": "PGX7VNTREP7KUZQQOZUW",
    },
}
# (level, path, its parameters)
LEVELS = (
    ("product", "/01/{gtin}", ("gtin",)),
    ("batch", "/01/{gtin}/10/{lot}", ("gtin", "lot")),
    ("item", "/01/{gtin}/10/{lot}/21/{serial}", ("gtin", "lot", "serial")),
)
_NAMES = {
    "get": ("resolve_{level}", "Resolve a {level} code"),
    "head": ("resolve_{level}_head", "Resolve a {level} code (headers only)"),
    "post": ("post_{level}_feedback", "Feedback on a {level} code"),
}


def _operation(
    generic: dict[str, Any], method: str, level: str, names: tuple[str, ...]
) -> dict[str, Any]:
    operation = copy.deepcopy(generic)
    operation_id, summary = _NAMES[method]
    operation["operationId"] = operation_id.format(level=level)
    operation["summary"] = summary.format(level=level)
    others = [p for p in operation.get("parameters", []) if p.get("name") != "code"]
    operation["parameters"] = [copy.deepcopy(PARAMETERS[name]) for name in names] + others
    return operation


# The feedback body's component for each media type.
FEEDBACK_BODIES = {
    "application/json": "FeedbackCreate",
    "application/x-www-form-urlencoded": "FeedbackForm",
}


def _feedback_components(document: dict[str, Any], post: dict[str, Any]) -> None:
    """The feedback body's schema, once per media type, referred to by every `POST`."""
    schema = FeedbackCreate.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    content: dict[str, Any] = post.get("requestBody", {}).get("content", {})
    for media, name in FEEDBACK_BODIES.items():
        if media in content:
            schemas[name] = schema | {"title": name}
            content[media]["schema"] = {"$ref": f"#/components/schemas/{name}"}


def reshape(document: dict[str, Any]) -> None:
    """Replace the one route's `/01/{code}` entry by the three levels' paths."""
    paths: dict[str, Any] = document.get("paths", {})
    generic = paths.pop(ROUTE_PATH, None)
    if generic is None:
        return
    if "post" in generic:
        _feedback_components(document, generic["post"])
    for level, path, names in LEVELS:
        reads = [m for m in ("get", "head") if m in generic]
        paths[path] = {m: _operation(generic[m], m, level, names) for m in reads}
        if "post" in generic:
            paths[path + FEEDBACK] = {"post": _operation(generic["post"], "post", level, names)}
