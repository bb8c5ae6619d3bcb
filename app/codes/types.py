"""Path parameters of the codes API: validated and normalised once (STYLE 8)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import AfterValidator

from app.codes import qr
from app.codes.digital_link import CSET_82_SCHEMA, InvalidSerial, validate_serial
from app.codes.schemas import check_gtin, check_lot
from app.identifiers.gtin import GTIN_SCHEMA


def _serial(value: str) -> str:
    try:
        return validate_serial(value)
    except InvalidSerial as exc:
        raise ValueError(str(exc)) from None


GtinPath = Annotated[
    str,
    Path(
        max_length=32,
        description="GTIN-8/12/13/14 (normalised to GTIN-14)",
        examples=["06901234567892"],
        json_schema_extra=GTIN_SCHEMA,
    ),
    AfterValidator(check_gtin),
]
LotPath = Annotated[
    str,
    Path(
        max_length=64,
        description="the lot (GS1 AI 10); percent-encode reserved characters such as '/'",
        examples=["L2026-11"],
        json_schema_extra=CSET_82_SCHEMA,
    ),
    AfterValidator(check_lot),
]
SerialPath = Annotated[
    str,
    Path(max_length=64, description="an item serial (GS1 AI 21)", json_schema_extra=CSET_82_SCHEMA),
    AfterValidator(_serial),
]
ImageFormat = Annotated[Literal["png", "svg"], Path(description="png or svg")]
QrSize = Annotated[
    int,
    Query(
        ge=qr.MIN_SIZE,
        le=qr.MAX_SIZE,
        description=f"width and height in pixels, {qr.MIN_SIZE} to {qr.MAX_SIZE}",
    ),
]
