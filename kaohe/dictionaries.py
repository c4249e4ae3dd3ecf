"""The dictionaries of the SQL models (``sql/<layer>/<name>.yaml``), read once: the one place a
model's columns are defined. The warehouse comments, docs/metrics.md, the analysts' labels and
what a scoring rule may score are all read from here.

What is scorable is a column's ``scorable`` key: ``higher`` or ``lower`` (which way is better:
a rule scoring it the other way is refused) or ``either`` (no natural direction). The scorable
columns are those of ``marts.agent_month_metrics``, of the scorecard's own inputs
(``sql/scorecard/scoring_inputs.yaml``) and of the scorecard (``recovery_vs_target``). Adding a
scorable metric is: a column in the SQL, its dictionary entry with ``scorable``, and a rule in
the configuration (docs/architecture.md).

This module imports nothing from kaohe, so the configuration can read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

SQL_ROOT = Path(__file__).resolve().parents[1] / "sql"
DIRECTIONS = ("higher", "lower", "either")
# The dictionaries whose columns a scoring rule may name, in the order they are read.
SCORABLE_SOURCES = (("marts", "agent_month_metrics"), ("scorecard", "scoring_inputs"),
                    ("marts", "agent_month_scorecard"))


@dataclass(frozen=True)
class Dictionary:
    table: str
    grain: str
    description: dict[str, str]
    columns: list[dict[str, str]]
    params: tuple[str, ...] = field(default=())
    bound: tuple[str, ...] | None = None

    @property
    def names(self) -> list[str]:
        return [c["name"] for c in self.columns]


def sql_path(layer: str, name: str) -> Path:
    return SQL_ROOT / layer / f"{name}.sql"


@cache
def model_dictionary(layer: str, name: str) -> Dictionary:
    data = yaml.safe_load((SQL_ROOT / layer / f"{name}.yaml").read_text(encoding="utf-8"))
    bound = data.get("bound")
    return Dictionary(data["table"], data["grain"], data["description"], data["columns"],
                      tuple(data.get("params", ())),
                      None if bound is None else tuple(bound))


@cache
def model_sql(layer: str, name: str) -> str:
    return sql_path(layer, name).read_text(encoding="utf-8")


@cache
def scorable_metrics() -> dict[str, str]:
    """Every metric a scoring rule may name, with its direction (higher | lower | either)."""
    out: dict[str, str] = {}
    for layer, name in SCORABLE_SOURCES:
        for column in model_dictionary(layer, name).columns:
            direction = column.get("scorable")
            if direction is None:
                continue
            if direction not in DIRECTIONS:
                raise ValueError(f"sql/{layer}/{name}.yaml: {column['name']}: scorable must be "
                                 f"one of {', '.join(DIRECTIONS)}, not {direction!r}")
            out[column["name"]] = direction
    return out
