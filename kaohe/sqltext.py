"""SQL text built from values, for the few places DuckDB takes no bound parameter (DDL,
comments, attach paths, identifiers from a user's header): one quoting helper for the project."""

from __future__ import annotations


def quote(identifier: str) -> str:
    """Quote an identifier (column names can come from a user's header)."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
