"""The analysts' views of the marts schema (sql/views/), pinned on hand-written mart rows:
marts.agents_current (each agent's latest month), marts.latest_month (the latest built month) and
marts.agent_month_changes (month over month, no window function needed); created with the marts
they read, every column commented, and views again in the published copy."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from kaohe.models import ensure_mart
from kaohe.warehouse import Home, ensure_schema
from kaohe.warehouse.publish import publish

JUN, JUL, AUG, SEP = (date(2026, m, 1) for m in (6, 7, 8, 9))

# agent, month, team, composite, grade, recovery_rate, scorecard veto
ROWS = [
    ("A", JUN, "T1", 70.0, "C", 0.20, False),
    ("A", JUL, "T1", 80.0, "B", 0.25, False),
    ("A", AUG, "T1", 90.0, "A", 0.30, False),
    ("B", JUL, "T1", 85.0, "B", 0.40, False),
    ("B", AUG, "T1", 0.0, "VETO", 0.35, True),     # a veto-list violation of minor severity
    ("C", JUN, "T2", 60.0, "C", 0.10, False),
    ("C", AUG, "T2", 65.0, "C", 0.12, False),      # no July: no previous month
    ("D", JUL, "T2", None, "NA", 0.05, False),     # not appraised in July
    ("D", AUG, "T2", 75.0, "B", 0.15, False),
    ("L", JUN, "T2", 50.0, "D", 0.08, False),      # left after June
]


def mart_rows(con: duckdb.DuckDBPyConnection, rows=ROWS) -> None:
    for agent_id, month, team, composite, grade, rate, veto in rows:
        con.execute("insert into marts.agent_month_metrics (agent_id, month, team_id, level, "
                    "recovery_rate, veto, config_version) values (?, ?, ?, 'L2', ?, false, 'x')",
                    [agent_id, month, team, rate])
        con.execute("insert into marts.agent_month_scorecard (agent_id, month, team_id, level, "
                    "composite, grade, veto, config_version) values (?, ?, ?, 'L2', ?, ?, ?, 'x')",
                    [agent_id, month, team, composite, grade, veto])


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    ensure_mart(con, "agent_month_metrics")
    # no view before every mart it reads exists
    assert con.sql("select count(*) from duckdb_views() where schema_name = 'marts'"
                   ).fetchall() == [(0,)]
    ensure_mart(con, "agent_month_scorecard")
    mart_rows(con)
    yield con
    con.close()


def views(con) -> set[str]:
    return {r[0] for r in con.sql("select view_name from duckdb_views() "
                                  "where schema_name = 'marts'").fetchall()}


def test_the_views_are_created_with_the_marts_they_read(con):
    assert views(con) == {"agents_current", "latest_month", "agent_month_changes"}


def test_agents_current_is_each_agents_latest_month_with_metrics_and_scorecard(con):
    rows = con.sql("select agent_id, month, team_id, composite, grade, recovery_rate, veto "
                   "from marts.agents_current order by agent_id").fetchall()
    assert rows == [("A", AUG, "T1", 90.0, "A", 0.30, False),
                    ("B", AUG, "T1", 0.0, "VETO", 0.35, True),   # the scorecard's veto
                    ("C", AUG, "T2", 65.0, "C", 0.12, False),
                    ("D", AUG, "T2", 75.0, "B", 0.15, False),
                    ("L", JUN, "T2", 50.0, "D", 0.08, False)]
    # every metric, then the scorecard's own columns; each column once
    names = [r[0] for r in con.sql("describe marts.agents_current").fetchall()]
    metrics = [r[0] for r in con.sql("describe marts.agent_month_metrics").fetchall()]
    scorecard = [r[0] for r in con.sql("describe marts.agent_month_scorecard").fetchall()]
    assert len(names) == len(set(names))
    assert set(names) == set(metrics) | set(scorecard)
    assert names[:3] == metrics[:3] and names[-1] == "config_version"


def test_latest_month_is_the_newest_month_with_a_scorecard(con):
    # September's metrics are built, its scorecard not yet: the latest built month is August
    con.execute("insert into marts.agent_month_metrics (agent_id, month, team_id, level, "
                "config_version) values ('A', ?, 'T1', 'L2', 'x')", [SEP])
    rows = con.sql("select agent_id, month, composite from marts.latest_month "
                   "order by agent_id").fetchall()
    assert rows == [("A", AUG, 90.0), ("B", AUG, 0.0), ("C", AUG, 65.0), ("D", AUG, 75.0)]
    assert con.sql("select month from marts.agents_current where agent_id = 'A'"
                   ).fetchall() == [(AUG,)]


def test_month_over_month_changes_beside_the_previous_calendar_month(con):
    rows = {r[0]: r[1:] for r in con.sql(
        "select agent_id, previous_month, previous_composite, composite_change, "
        "previous_recovery_rate, recovery_rate_change, previous_grade, grade_change "
        "from marts.agent_month_changes where month = ?", params=[AUG]).fetchall()}
    assert rows["A"][:4] == (JUL, 80.0, 10.0, 0.25)
    assert rows["A"][4] == pytest.approx(0.05) and rows["A"][5:] == ("B", 1)
    assert rows["B"][2] == -85.0 and rows["B"][5:] == ("B", -3)      # B (3) to VETO (0)
    assert rows["C"] == (None,) * 7                                    # June is not July
    assert rows["D"][:3] == (JUL, None, None) and rows["D"][5:] == ("NA", None)
    assert set(rows) == {"A", "B", "C", "D"}
    # who improved in August: a where clause
    improved = con.sql("select agent_id from marts.agent_month_changes where month = ? and "
                       "composite_change > 0", params=[AUG]).fetchall()
    assert improved == [("A",)]
    # the first month of an agent has no previous month
    assert con.sql("select previous_month, composite_change, grade_change from "
                   "marts.agent_month_changes where agent_id = 'A' and month = ?",
                   params=[JUN]).fetchall() == [(None, None, None)]


def test_every_column_of_every_view_has_a_comment(con):
    missing = con.sql("select table_name, column_name from duckdb_columns() where schema_name = "
                      "'marts' and table_name in ('agents_current', 'latest_month', "
                      "'agent_month_changes') and comment is null").fetchall()
    assert missing == []
    veto = con.sql("select comment from duckdb_columns() where table_name = 'agents_current' "
                   "and column_name = 'veto'").fetchall()[0][0]
    assert "scorecard.veto_violation_types" in veto


def test_the_published_copy_has_the_views_as_views(con, tmp_path):
    home = Home(tmp_path / "home").create()
    for _ in range(2):  # a full copy, then an incremental one from it
        publish(con, home)
        pub = duckdb.connect(str(home.published_db), read_only=True)
        try:
            assert views(pub) == {"agents_current", "latest_month", "agent_month_changes"}
            assert not pub.sql("select table_name from duckdb_tables() where table_name in "
                               "('agents_current', 'latest_month', 'agent_month_changes')"
                               ).fetchall()
            assert pub.sql("select count(*) from marts.agents_current").fetchall() == [(5,)]
            assert pub.sql("select count(*) from marts.agent_month_changes where "
                           "composite_change > 0").fetchall() == [(2,)]   # A in July, August
        finally:
            pub.close()
