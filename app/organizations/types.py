"""Code types reused for path, body and batch parameters (STYLE 8).

Each validates and normalises: the value an endpoint receives is an 18-character
USCC or a 9-character organization code, upper case, no hyphen.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, StringConstraints, WithJsonSchema

from app.organizations import codes


def _any_code(raw: str) -> str:
    try:
        return codes.parse_code(raw).value
    except codes.InvalidCode as exc:
        raise ValueError(str(exc)) from None


def _uscc(raw: str) -> str:
    try:
        return codes.parse_uscc(raw)
    except codes.InvalidCode as exc:
        raise ValueError(str(exc)) from None


CODE_DOC = (
    "USCC (18 characters) or legacy organization code (9 characters, hyphen optional);"
    " the check characters must match (SPEC section 2)"
)
_USCC_CHARS = "0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy"
USCC_PATTERN = f"^[{_USCC_CHARS}]{{18}}$"
CODE_PATTERN = f"^(?:[{_USCC_CHARS}]{{18}}|[0-9A-Za-z]{{8}}-?[0-9Xx])$"
# What the document says of a code: its shape as a pattern and, as `format`, the
# check characters a pattern cannot express (a well-shaped code with a wrong
# check character is a 422 naming the expected one).
USCC_SCHEMA = {"format": "uscc", "pattern": USCC_PATTERN, "minLength": 18}
CODE_SCHEMA = {"format": "organization-code", "pattern": CODE_PATTERN, "minLength": 9}

CodePath = Annotated[
    str,
    Path(
        max_length=64,
        description=CODE_DOC,
        examples=["91110000600037341L"],
        json_schema_extra=CODE_SCHEMA,
    ),
    AfterValidator(_any_code),
]
UsccPath = Annotated[
    str,
    Path(
        max_length=64,
        description="the 18-character USCC",
        examples=["91110000600037341L"],
        json_schema_extra=USCC_SCHEMA,
    ),
    AfterValidator(_uscc),
]
Uscc = Annotated[
    str,
    StringConstraints(max_length=64),
    AfterValidator(_uscc),
    WithJsonSchema({"type": "string", "maxLength": 64, **USCC_SCHEMA}),
]
