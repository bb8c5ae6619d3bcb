"""Code types reused for path, body and batch parameters (STYLE 8).

Each validates and normalises: the value an endpoint receives is an 18-character
USCC or a 9-character organization code, upper case, no hyphen.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, StringConstraints

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


CODE_DOC = "USCC (18 characters) or legacy organization code (9 characters, hyphen optional)"

CodePath = Annotated[
    str,
    Path(max_length=64, description=CODE_DOC, examples=["91110000600037341L"]),
    AfterValidator(_any_code),
]
UsccPath = Annotated[
    str,
    Path(max_length=64, description="the 18-character USCC", examples=["91110000600037341L"]),
    AfterValidator(_uscc),
]
Uscc = Annotated[str, StringConstraints(max_length=64), AfterValidator(_uscc)]
