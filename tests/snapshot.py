"""The content of every table, as one digest per table.

A refused request must change nothing: not the number of rows, not a row in
place. `snapshot` reads the list of tables from the catalog (so a table added
later is covered without touching the tests), orders each table's rows by its
primary key and hashes their text form in PostgreSQL — one round trip, and
only 32 hex characters per table come back. `assert_unchanged` names the
tables that differ.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

# Every ordinary table of the schema with its primary key columns in key order
# (a table without one is ordered by the text of its whole row).
_CATALOG = text(
    """
    SELECT c.relname,
           coalesce(
               (SELECT array_agg(a.attname::text ORDER BY k.ord)
                  FROM pg_index i
                  CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                 WHERE i.indrelid = c.oid AND i.indisprimary),
               ARRAY[]::text[]
           ) AS key
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema()
       AND c.relkind IN ('r', 'p')
       AND c.relname <> 'alembic_version'
     ORDER BY c.relname
    """
)

_queries: dict[int, str] = {}  # per database (by the catalog's text), the digest query


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _digest_query(tables: list[tuple[str, list[str]]]) -> str:
    parts = []
    for table, key in tables:
        order = ", ".join(f"t.{_quote(c)}" for c in key) or "t::text"
        literal = table.replace("'", "''")
        parts.append(
            f"SELECT '{literal}' AS name, count(*) AS rows, "
            f"md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {order}), '')) AS digest "
            f"FROM {_quote(table)} AS t"
        )
    return " UNION ALL ".join(parts)


async def snapshot(db: AsyncConnection | AsyncSession) -> dict[str, tuple[int, str]]:
    """`{table: (row count, md5 of its rows in primary-key order)}` for every table."""
    catalog = [(str(name), list(key)) for name, key in (await db.execute(_CATALOG)).all()]
    assert catalog, "the schema has no tables: is the database migrated?"
    cache_key = hash(tuple((name, tuple(key)) for name, key in catalog))
    query = _queries.get(cache_key)
    if query is None:
        query = _queries[cache_key] = _digest_query(catalog)
    rows = (await db.execute(text(query))).all()
    return {str(name): (int(count), str(digest)) for name, count, digest in rows}


def changed_tables(
    before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]
) -> list[str]:
    """The tables whose rows differ between two snapshots (or that appeared or went)."""
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


async def assert_unchanged(
    db: AsyncConnection | AsyncSession, before: dict[str, tuple[int, str]], where: Any = ""
) -> None:
    """Fail naming every table whose content differs from `before`."""
    after = await snapshot(db)
    changed = changed_tables(before, after)
    assert not changed, f"{where}: the state changed in {', '.join(changed)}"
