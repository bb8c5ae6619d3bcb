"""The class of a GB/T 4754 industry code that products default to as their category."""

from __future__ import annotations

UNCLASSIFIED = "unclassified"


def industry_class(industry_code: str | None) -> str:
    """Section letter and division (大类), e.g. `C3854` → `C38`; `C` stays `C`."""
    return industry_code[:3] if industry_code else UNCLASSIFIED
