"""Lineage read from the SQL itself: which staging, intermediate and mart tables a query reads.

The Dagster asset graph and the order in which the marts are built both come from here, so
they cannot disagree with the SQL (tests/models/test_lineage.py checks the graph against it). A
reference is a ``schema.name`` in a FROM or JOIN clause, a table macro call
(``intermediate.roster_at(...)``) included; CTE names are not references.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from graphlib import TopologicalSorter

import sqlglot
from sqlglot import exp

MODEL_SCHEMAS = ("staging", "intermediate", "marts")


@cache
def reads(sql: str) -> frozenset[str]:
    """The ``schema.name`` of every staging, intermediate and mart table ``sql`` reads."""
    found = set()
    for table in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Table):
        schema = table.args.get("db")
        if schema is None:
            continue
        name = table.this.name if isinstance(table.this, exp.Func) else table.name
        if isinstance(table.this, exp.Anonymous):
            name = table.this.this if isinstance(table.this.this, str) else table.this.name
        if schema.name in MODEL_SCHEMAS:
            found.add(f"{schema.name}.{name}")
    return frozenset(found)


def build_order(inputs: Mapping[str, Iterable[str]]) -> list[str]:
    """The models in an order where each comes after the models it reads (ties: the order of
    ``inputs``); references to anything not in ``inputs`` (staging) are ignored."""
    sorter = TopologicalSorter({name: [r for r in deps if r in inputs]
                                for name, deps in inputs.items()})
    sorter.prepare()
    order: list[str] = []
    position = {name: i for i, name in enumerate(inputs)}
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        order.extend(ready)
        sorter.done(*ready)
    return order
