"""The asset graph and the build order come from the SQL: a test fails when they disagree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dagster import AssetKey

from kaohe.models import SQL_ROOT, intermediate_models, model_sql
from kaohe.models.lineage import build_order, reads
from kaohe.models.marts import MARTS, MONTHLY_MARTS
from kaohe.quality import referenced_tables
from pipelines.definitions import defs

GRAPH = defs.resolve_asset_graph()


def parents(table: str) -> set[str]:
    return {".".join(k.path) for k in GRAPH.get(AssetKey(table.split("."))).parent_keys}


def names_in(text: str) -> set[str]:
    """Every schema.name of a model schema in the text, the plain way (comments stripped)."""
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    return set(re.findall(r"\b((?:staging|intermediate|marts)\.[a-z_]+)\b", code))


@pytest.mark.parametrize("path", sorted(SQL_ROOT.rglob("*.sql")), ids=lambda p: p.stem)
def test_the_parser_finds_every_table_a_query_names(path: Path):
    assert reads(path.read_text(encoding="utf-8")) == names_in(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(MARTS))
def test_each_marts_asset_depends_on_exactly_what_its_sql_and_checks_read(name):
    mart = MARTS[name]
    expected = set()
    for query in mart.queries:
        expected |= names_in(query.read_text(encoding="utf-8"))
    expected -= {mart.table}  # pay reads its own earlier months
    expected |= {f"staging.{t}" for t in referenced_tables(mart.table)}
    assert parents(mart.table) == expected


@pytest.mark.parametrize("name", [q.split(".", 1)[1] for q in intermediate_models()])
def test_each_intermediate_asset_depends_on_what_its_sql_reads(name):
    assert parents(f"intermediate.{name}") == names_in(model_sql("intermediate", name))


def test_the_metrics_mart_does_not_depend_on_sources_it_never_reads():
    inputs = parents("marts.agent_month_metrics")
    # the roster, the case master and the assignments are read through the shared rules
    assert not {"staging.macro", "staging.agents", "staging.cases",
                "staging.assignments"} & inputs
    assert "marts.team_month_metrics" in parents("marts.center_month_summary")
    assert "intermediate.centre_unowned" in parents("marts.center_month_summary")
    assert "intermediate.payment_attribution" in parents("intermediate.centre_unowned")


def test_every_mart_is_built_after_the_marts_it_reads():
    position = {name: i for i, name in enumerate(MONTHLY_MARTS)}
    assert set(position) == set(MARTS)
    for mart in MARTS.values():
        for table in mart.inputs:
            if table.startswith("marts."):
                assert position[table[6:]] < position[mart.name], (table, mart.name)


def test_build_order_follows_dependencies_and_refuses_a_cycle():
    assert build_order({"c": ["b"], "a": [], "b": ["a", "staging.x"]}) == ["a", "b", "c"]
    with pytest.raises(ValueError):
        build_order({"a": ["b"], "b": ["a"]})


def test_a_table_macro_call_is_a_reference():
    assert reads("select * from intermediate.roster_at(date '2026-01-31') r "
                 "join staging.calls c using (agent_id)") == {
        "intermediate.roster_at", "staging.calls"}
    assert reads("with staging_like as (select 1) select * from staging_like") == set()


def test_each_shared_rule_is_written_in_exactly_one_sql_file():
    sql = {p: p.read_text(encoding="utf-8") for p in SQL_ROOT.rglob("*.sql")}
    rules = {
        # the holding interval (released or open until 9999-12-31)
        "timestamp '9999-12-31'": "intermediate/case_holdings.sql",
        # the case holder at an event's time, with its tie-break
        "a.assigned_at <= e.at": "intermediate/event_holders.sql",
        "order by a.assigned_at desc, a.assignment_id desc": "intermediate/event_holders.sql",
        # the over-cap ranking
        "attempt_of_day": "intermediate/over_cap_calls.sql",
        # the roster and the case master as of a date
        "partition by a.agent_id order by a.snapshot_date desc": "intermediate/roster_at.sql",
        "partition by c.case_id order by c.snapshot_date desc": "intermediate/case_master_at.sql",
    }
    for text, home in rules.items():
        found = sorted(str(p.relative_to(SQL_ROOT)) for p, s in sql.items() if text in s)
        assert found == [home], (text, found)
    code = "".join(Path(f).read_text(encoding="utf-8") for f in
                   ("kaohe/reporting/reports.py", "kaohe/reporting/mail.py"))
    assert "snapshot_date" not in code and "staging.agents" not in code


def test_every_audit_table_is_created_in_one_place_with_every_column_commented(tmp_path):
    import duckdb

    from kaohe.warehouse import ensure_schema
    from kaohe.warehouse.audit_tables import AUDIT_TABLES

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    tables = dict(con.sql("select table_name, comment from duckdb_tables() "
                          "where schema_name = 'audit'").fetchall())
    assert set(tables) == set(AUDIT_TABLES) and all(tables.values())
    uncommented = con.sql("select table_name, column_name from duckdb_columns() "
                          "where schema_name = 'audit' and comment is null").fetchall()
    assert uncommented == []
    con.close()
    code = "".join(p.read_text(encoding="utf-8") for p in Path("kaohe").rglob("*.py")
                   if p.name != "audit_tables.py")
    assert "create table if not exists audit." not in code
    # every insert into an audit table names its columns
    assert not re.search(r"insert into audit\.\w+ (values|select)", code)
