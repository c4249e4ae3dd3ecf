"""SQL models: the files under ``sql/<layer>/`` and their dictionaries, and how they are built.

Two layers of SQL models live here, one file pair each:

- ``sql/intermediate/<name>.sql`` + ``.yaml``: the shared rules (who holds a case when, payment
  and complaint attribution, the roster and the case master as of a date, the over-cap
  ranking). A view, or a table macro when its dictionary lists ``params`` (a view with
  arguments: ``select * from intermediate.roster_at(date '2026-10-31')``). They are created in
  the writer before the marts are built and in the analysts' copy.
- ``sql/marts/<table>.sql`` + ``.yaml``: one query per monthly mart, bound parameters
  (``$month_start``...). A month is rebuilt by replacing its rows in one transaction.
- ``sql/views/<name>.sql`` + ``.yaml``: views over the marts for analysts, in the ``marts``
  schema (``marts.agents_current``...): created with the marts they read, in the writer and in
  the analysts' copy.

The dictionary (``.yaml``) is the one place a model's columns are defined: the warehouse
comments and docs/metrics.md are written from it. Which tables a model reads is parsed from its
SQL (kaohe.models.lineage); kaohe.models.marts lists the marts and their builders.
"""

from __future__ import annotations

import hashlib
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import yaml

from kaohe.config import Config
from kaohe.dictionaries import (  # noqa: F401  (re-exported)
    SQL_ROOT,
    Dictionary,
    model_dictionary,
    model_sql,
    sql_path,
)
from kaohe.models.lineage import build_order, reads
from kaohe.months import month_bounds
from kaohe.warehouse import literal, meta_get, meta_set, quote

# --- intermediate: the shared rules --------------------------------------------------------------

def intermediate_models() -> list[str]:
    """Every intermediate model, each after the ones it reads."""
    names = sorted(p.stem for p in (SQL_ROOT / "intermediate").glob("*.sql"))
    return build_order({f"intermediate.{n}": reads(model_sql("intermediate", n))
                        for n in names})


def create_intermediate(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Create (or replace) one intermediate view or table macro, with its comments."""
    d = model_dictionary("intermediate", name)
    body = model_sql("intermediate", name)
    text = d.description["en"] + " " + d.grain
    con.execute("create schema if not exists intermediate")
    if d.params:
        con.execute(f"create or replace macro {d.table}({', '.join(d.params)}) as table {body}")
        con.execute(f"comment on macro table {d.table} is {literal(text)}")
        return
    con.execute(f"create or replace view {d.table} as {body}")
    con.execute(f"comment on view {d.table} is {literal(text)}")
    for c in d.columns:
        con.execute(f"comment on column {d.table}.{quote(c['name'])} is "
                    f"{literal(c['en'] + ' | ' + c['zh'])}")


def intermediate_fingerprint() -> str:
    """A hash of every intermediate model's SQL and dictionary as the files are now (read again
    when a file changes)."""
    files = sorted((SQL_ROOT / "intermediate").glob("*.sql")) + sorted(
        (SQL_ROOT / "intermediate").glob("*.yaml"))
    return _fingerprint(tuple((str(p), p.stat().st_mtime_ns) for p in files))


@cache
def _fingerprint(stamps: tuple[tuple[str, int], ...]) -> str:
    digest = hashlib.sha256()
    for path, _ in stamps:
        digest.update(path.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


INTERMEDIATE_KEY = "intermediate_models"  # audit.warehouse_meta: the fingerprint created


def ensure_intermediate(con: duckdb.DuckDBPyConnection, remember: bool = True) -> None:
    """Create (or replace) every intermediate model, each after the ones it reads; nothing when
    the writer's database already has them as the files are now (every mart build of a run asks:
    16 times 56 models, 4 s of a run, measured). ``remember``: record the fingerprint in
    audit.warehouse_meta (the writer's; not in the analysts' copy)."""
    models = intermediate_models()
    fingerprint = intermediate_fingerprint()
    if _current(con, fingerprint, len(models)):
        return
    for qualified in models:
        create_intermediate(con, qualified.split(".", 1)[1])
    if remember and _has_meta(con):
        meta_set(con, INTERMEDIATE_KEY, fingerprint)


def _has_meta(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where schema_name = 'audit' "
                            "and table_name = 'warehouse_meta' and database_name = "
                            "current_database()").fetchall()[0][0])


def _current(con: duckdb.DuckDBPyConnection, fingerprint: str, n: int) -> bool:
    """The database holds every intermediate model, created from files with this fingerprint
    (in this connection's own database: an attached one's do not count)."""
    if not _has_meta(con) or meta_get(con, INTERMEDIATE_KEY) != fingerprint:
        return False
    present = con.execute(
        "select (select count(*) from duckdb_views() where schema_name = 'intermediate' and "
        "database_name = current_database()) + (select count(distinct function_name) from "
        "duckdb_functions() where schema_name = 'intermediate' and function_type = "
        "'table_macro' and database_name = current_database())").fetchall()[0][0]
    return present == n


# --- marts: one SQL query per monthly table ---------------------------------------------------

def dictionary(table: str) -> Dictionary:
    """The dictionary of ``marts.<table>``."""
    return model_dictionary("marts", table)


def sql(table: str) -> str:
    """The query of ``marts.<table>``."""
    return model_sql("marts", table)


def metric_params(cfg: Config, month: str | date) -> dict:
    """Every bound parameter a SQL model may declare, from the configuration and the month: the
    one set; each model gets the ones its dictionary lists (:func:`bound_params`)."""
    start, end, quarter = month_bounds(month)
    m = cfg.metrics
    return {
        "month_start": start,
        "month_end": end,
        "quarter_start": quarter,
        "bucket_weights": [{"bucket": b, "weight": w} for b, w in m.bucket_weights.items()],
        "contact_cap": m.contact_cap_per_day,
        "hours_start": m.hours_start,
        "hours_end": m.hours_end,
        "effective_min_s": m.effective_call_min_s,
        "reach_load_bands": cfg.fairness.reach_load_bands,
        "appeal_window_days": cfg.appeals.window_days,
        "qa_labels": list(m.qa_flag_labels),
        "qa_threshold": m.qa_confidence_threshold,
        "high_risk_score": m.high_risk_score,
        "min_tenure_months": m.min_tenure_months_for_high_risk,
        "sla_hours": [{"ticket_type": t, "hours": h} for t, h in m.ticket_sla_hours.items()],
        "variable_share": cfg.pay.variable_share,
        "base_proration": cfg.pay.base_proration,
        "deferred_share": cfg.pay.deferred_share,
        "payout_factors": [{"grade": g, "factor": f} for g, f in cfg.pay.payout_factors.items()],
        "promotion_rules": [
            {"from_level": r.from_level, "to_level": r.to_level,
             "min_composite": r.min_composite, "months": r.months,
             "requires_expertise": r.requires_expertise} for r in cfg.promotion],
        "m6plus_min": cfg.expertise.m6plus_min_assignments,
        "restructuring_min": cfg.expertise.restructuring_min_completed,
        "alert_rules": [{"measure": a.measure, "above": a.above, "severity": a.severity,
                         "escalates": a.escalates, "min_evidence": a.min_evidence}
                        for a in cfg.conduct.rules],
        "escalate_after": cfg.conduct.escalate_after_months,
        "spot_check_min_share": cfg.compliance.spot_check_daily_min_share,
        "complaint_deadline_days": m.complaint_deadline_days,
        "team_rules": [{"measure": r.measure, "floor": float(r.floor), "target": float(r.target),
                        "weight": float(r.weight)} for r in cfg.team_scorecard.rules],
        "grade_bands": [{"grade": g, "band": b} for g, b in cfg.scorecard.grades.items()],
        "fairness_warn_above": cfg.fairness.warn_above,
        "peer_k": cfg.fairness.peer_k,
        "min_peers": cfg.fairness.min_peers,
        # version 3: the legal contact rules
        "answered_cap": cfg.contact_rules.answered_per_debtor_day,
        "unanswered_cap": cfg.contact_rules.unanswered_per_number_day,
        "legal_start": cfg.contact_rules.legal_hours.start,
        "legal_end": cfg.contact_rules.legal_hours.end,
        "gate_min_compliance": cfg.conduct_gate.min_compliance_score,
        # version 3: gaming does not pay
        "commit_min_s": cfg.gaming.commitment_min_call_s,
        "commit_min_share": cfg.gaming.commitment_min_share,
        "signal_rules": [{"signal": s, "min_ratio": float(r.min_ratio),
                          "min_excess": float(r.min_excess), "min_evidence": r.min_evidence}
                         for s, r in cfg.gaming.signal_rules().items()],
        "baseline_min_agents": cfg.gaming.baseline_min_agents,
        # the scorecard's own inputs (sql/scorecard/scoring_inputs.sql)
        "base_rate": cfg.targets.base_recovery_rate,
        "prosperity_elasticity": cfg.targets.prosperity_elasticity,
        "unemployment_baseline": cfg.targets.unemployment_baseline,
        "unemployment_sensitivity": cfg.targets.unemployment_sensitivity,
        "dso_reference_days": cfg.targets.dso_reference_days,
        "dso_elasticity": cfg.targets.dso_elasticity,
        "high_risk_industries": list(cfg.targets.high_risk_industries),
        "high_risk_target_factor": cfg.targets.high_risk_target_factor,
        "bucket_recoverability": [{"bucket": b, "value": v}
                                  for b, v in cfg.targets.bucket_recoverability.items()],
        "veto_types": list(cfg.scorecard.veto_violation_types),
    }


def bound_params(d: Dictionary, cfg: Config, month: str | date) -> dict:
    """Exactly the parameters the model declares (``bound`` in its dictionary), from the one
    set :func:`metric_params` makes; a declared name it does not make is an error here, not a
    NULL in the table (tests/models/test_params.py checks each declaration against the SQL)."""
    if d.bound is None:
        raise KeyError(f"{d.table}: its dictionary declares no `bound` parameters")
    every = metric_params(cfg, month)
    unknown = [k for k in d.bound if k not in every]
    if unknown:
        raise KeyError(f"{d.table}: no parameter named {', '.join(unknown)} "
                       "(kaohe/models/__init__.py metric_params)")
    return {k: every[k] for k in d.bound}


def ensure_mart(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create the mart table from its dictionary and (re)write every comment from it."""
    d = dictionary(table)
    cols = ", ".join(f"{quote(c['name'])} {c['type']}" for c in d.columns)
    con.execute("create schema if not exists marts")
    con.execute(f"create table if not exists {d.table} ({cols}, config_version varchar)")
    _evolve(con, d, cols)
    con.execute(f"comment on table {d.table} is {literal(d.description['en'] + ' ' + d.grain)}")
    for c in d.columns:
        con.execute(f"comment on column {d.table}.{quote(c['name'])} is "
                    f"{literal(c['en'] + ' | ' + c['zh'])}")
    con.execute(f"comment on column {d.table}.config_version is "
                f"{literal('configuration (version+hash) this row was built with')}")
    ensure_analyst_views(con, d.table)


# --- views for analysts over the marts ------------------------------------------------------

@cache
def view_dictionary(name: str) -> dict:
    """The dictionary of ``sql/views/<name>.yaml``: table, grain, description, the columns it
    takes from the marts (``includes``) and the columns it defines."""
    return yaml.safe_load((SQL_ROOT / "views" / f"{name}.yaml").read_text(encoding="utf-8"))


def analyst_views() -> list[str]:
    """The views for analysts (``sql/views/*.sql``), each after the ones it reads."""
    names = sorted(p.stem for p in (SQL_ROOT / "views").glob("*.sql"))
    order = build_order({f"marts.{n}": reads(model_sql("views", n)) for n in names})
    return [q.split(".", 1)[1] for q in order]


def ensure_analyst_views(con: duckdb.DuckDBPyConnection, changed: str | None = None) -> None:
    """(Re)create the analysts' views of the ``marts`` schema whose marts all exist; with
    ``changed``, only those reading that mart. A view that takes every column of a mart
    (``includes``) gives each column the comment of its column there."""
    existing = {f"{s}.{t}" for s, t in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = "
        "current_database() union all select schema_name, view_name from duckdb_views() "
        "where database_name = current_database() and not internal").fetchall()}
    for name in analyst_views():
        inputs = reads(model_sql("views", name))
        if (changed and changed not in inputs) or not inputs <= existing:
            continue
        d = view_dictionary(name)
        con.execute(f"create or replace view {d['table']} as {model_sql('views', name)}")
        con.execute(f"comment on view {d['table']} is "
                    f"{literal(d['description']['en'] + ' ' + d['grain'])}")
        own = {c["name"]: f"{c['en']} | {c['zh']}" for c in d["columns"]}
        if d.get("includes"):
            sources = ", ".join(literal(t.split(".", 1)[1]) for t in sorted(inputs))
            for col, text in con.execute(
                    "select column_name, first(comment order by table_name) from "
                    "duckdb_columns() where database_name = current_database() and "
                    f"schema_name = 'marts' and table_name in ({sources}) and comment is not "
                    "null group by all").fetchall():
                own.setdefault(col, text)
        names = {r[0] for r in con.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'marts' and table_name = ?", [name]).fetchall()}
        for col, text in own.items():
            if col in names:
                con.execute(f"comment on column {d['table']}.{quote(col)} is {literal(text)}")
        existing.add(d["table"])


def _evolve(con: duckdb.DuckDBPyConnection, d: Dictionary, cols: str) -> None:
    """A warehouse built by an older kaohe: the table takes the dictionary's columns, in its
    order, keeping every row (a new column is NULL until its month is rebuilt)."""
    schema, name = d.table.split(".")
    have = [r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = ? order by column_index", [schema, name]
    ).fetchall()]
    want = [*d.names, "config_version"]
    if have == want:
        return
    select = ", ".join(quote(c) if c in have else f"null as {quote(c)}" for c in want)
    con.execute("begin transaction")
    try:
        con.execute(f"create table {d.table}__evolved ({cols}, config_version varchar)")
        con.execute(f"insert into {d.table}__evolved select {select} from {d.table}")
        con.execute(f"drop table {d.table}")
        con.execute(f"alter table {d.table}__evolved rename to {name}")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def build_month(con: duckdb.DuckDBPyConnection, table: str, cfg: Config, month: str | date
                ) -> int:
    """Replace the month's rows of ``marts.<table>`` with its query's; returns the row count."""
    d = dictionary(table)
    ensure_intermediate(con)  # the shared rules the query reads (cheap: views and macros)
    ensure_mart(con, table)
    query = sql(table)
    params = bound_params(d, cfg, month)
    start = params.get("month_start") or month_bounds(month)[0]
    cols = ", ".join(quote(n) for n in d.names)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {d.table} where month = ?", [start])
        con.execute(
            f"insert into {d.table} ({cols}, config_version) "
            f"select {cols}, {literal(cfg.config_version)} from ({query})",
            params,
        )
        n = con.execute(f"select count(*) from {d.table} where month = ?", [start]).fetchall()
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return n[0][0]
