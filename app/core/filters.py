"""Optional equality filters of a listing (a query parameter left out filters nothing)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def where_given(statement: S, *pairs: tuple[Any, Any]) -> S:
    """`statement` narrowed to `column == value` for every `(column, value)` whose
    value was given (is not None)."""
    for column, value in pairs:
        if value is not None:
            statement = statement.where(column == value)
    return statement
