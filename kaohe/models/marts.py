"""The monthly marts: what they are, how each is built, in which order.

Every mart is one entry of ``MARTS``: its name, the function that builds a month of it, the SQL
files it runs (its inputs are read from them: kaohe.models.lineage) and an optional step after the
build. Most marts are one SQL query (``sql/marts/<table>.sql``, built by
``kaohe.models.build_month``); the scorecard is Polars (``kaohe/scoring/scorecard.py``). The build
order and the Dagster asset graph both come from the SQL, so they follow it by construction.

To add a mart: write ``sql/marts/<table>.sql`` and its dictionary ``<table>.yaml``, add one line
to ``MARTS``, add its expectations under ``expectations/`` (docs/architecture.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from kaohe.config import Config
from kaohe.models import (  # noqa: F401  (re-exported: the marts' one import for callers)
    bound_params,
    build_month,
    dictionary,
    ensure_intermediate,
    ensure_mart,
    metric_params,
    restatement,
    sql,
    sql_path,
)
from kaohe.models.lineage import build_order, reads
from kaohe.months import month_bounds
from kaohe.scoring import scorecard
from kaohe.warehouse import meta_set

log = logging.getLogger("kaohe")

Builder = Callable[[duckdb.DuckDBPyConnection, Config, str], int]
AfterBuild = Callable[[duckdb.DuckDBPyConnection, Config, str], dict]


@dataclass(frozen=True)
class Mart:
    name: str
    build: Builder
    queries: tuple[Path, ...]
    after_build: AfterBuild | None = None

    @property
    def table(self) -> str:
        return f"marts.{self.name}"

    @property
    def inputs(self) -> frozenset[str]:
        """Every staging, intermediate and mart table its SQL reads (itself excluded: a mart
        that reads its own earlier months, like pay's deferred pool, does not wait on itself)."""
        found = frozenset().union(*(reads(p.read_text(encoding="utf-8")) for p in self.queries))
        return found - {self.table}


def _sql_mart(name: str, after_build: AfterBuild | None = None) -> Mart:
    def build(con: duckdb.DuckDBPyConnection, cfg: Config, month: str) -> int:
        return build_month(con, name, cfg, month)

    return Mart(name, build, (sql_path("marts", name),), after_build)


def _availability_note(con: duckdb.DuckDBPyConnection, cfg: Config, month: str) -> dict:
    """After input_availability: say in the run's log which optional inputs were not sent."""
    start, _, _ = month_bounds(month)
    missing = con.execute("select input, note from marts.input_availability where month = ? "
                          "and not sent order by input", [start]).fetchall()
    for name, note in missing:
        log.warning("%s: version-2 input %s %s", month, name, note)
    return {"optional_inputs_not_sent": ", ".join(n for n, _ in missing) or "none"}


def _restated(con: duckdb.DuckDBPyConnection, cfg: Config, month: str) -> dict:
    """After pay: a closed month rebuilt differently is recorded as a restatement."""
    today: date = datetime.now(ZoneInfo(cfg.timezone)).date()
    return {"restated_agents": restatement.record(con, month, today)}


MARTS: dict[str, Mart] = {m.name: m for m in (
    _sql_mart("agent_month_metrics"),
    _sql_mart("skill_risk_mismatches"),
    _sql_mart("team_month_metrics"),
    _sql_mart("agency_month_metrics"),
    _sql_mart("fairness_diagnostics"),
    _sql_mart("center_month_summary"),
    Mart("agent_month_scorecard", scorecard.build_scorecard,
         (sql_path("scorecard", "scoring_inputs"),)),
    _sql_mart("agent_peer_comparisons"),
    _sql_mart("agent_month_pay", after_build=_restated),
    _sql_mart("promotion_candidates"),
    _sql_mart("conduct_alerts"),
    _sql_mart("gaming_signals"),
    _sql_mart("qa_model_agreement"),
    _sql_mart("agent_appeals"),
    _sql_mart("appeal_outcomes"),
    _sql_mart("team_month_scorecard"),
    _sql_mart("roll_rates"),
    _sql_mart("rehabilitation_index"),
    _sql_mart("input_availability", after_build=_availability_note),
    _sql_mart("contact_windows"),
)}


@cache
def _order() -> tuple[str, ...]:
    order = build_order({m.table: m.inputs for m in MARTS.values()})
    return tuple(name.split(".", 1)[1] for name in order)


# Build order within a month: each mart after the marts it reads (derived from the SQL).
MONTHLY_MARTS = _order()


def build(con: duckdb.DuckDBPyConnection, table: str, cfg: Config, month: str) -> int:
    """One mart of one month (the shared intermediate models are (re)created first). The
    configuration a month was built with is recorded (``config:YYYY-MM`` in
    audit.warehouse_meta): ``kaohe whatif`` compares a proposal with it."""
    ensure_intermediate(con)
    meta_set(con, f"config:{month}", json.dumps(cfg.raw, sort_keys=True, default=str))
    return MARTS[table].build(con, cfg, month)


def build_all(con: duckdb.DuckDBPyConnection, cfg: Config, month: str) -> dict[str, int]:
    """Every monthly mart of one month, in order; returns row counts."""
    return {table: build(con, table, cfg, month) for table in MONTHLY_MARTS}
