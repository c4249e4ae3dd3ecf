"""Adding a scorable metric is three edits (docs/architecture.md, "Adding a scorable metric"):
a column in the SQL, its dictionary entry with ``scorable``, and a rule in the configuration.
Proved on a temporary copy of the code and the sample's warehouse: a rule naming a metric that
is not in a dictionary is refused; after the three edits the month is rebuilt and scored on it,
with nothing else touched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import copy_home

ROOT = Path(__file__).resolve().parents[2]
MONTH = "2026-08"
METRIC = "talk_time_per_connected_call"

SCRIPT = """
import json, sys
import duckdb
from kaohe.config import load_config, ConfigError
try:
    cfg = load_config(sys.argv[2])
except ConfigError as e:
    print(json.dumps({"refused": str(e)})); raise SystemExit(0)
from kaohe.models import build_month, ensure_intermediate
from kaohe.scoring.scorecard import build_scorecard
con = duckdb.connect(sys.argv[1])
ensure_intermediate(con)
build_month(con, "agent_month_metrics", cfg, sys.argv[3])
build_scorecard(con, cfg, sys.argv[3])
rows = con.sql(
    "select m.agent_id, m.talk_time_s, m.connected_calls, m.__METRIC__, p.value, p.points "
    "from marts.agent_month_metrics m join (select agent_id, unnest(rule_points) as p "
    "from marts.agent_month_scorecard where month = $m) s using (agent_id) "
    "where m.month = $m and p.metric = '__METRIC__'", params={"m": sys.argv[3] + "-01"}).fetchall()
print(json.dumps({"rows": [[v if v is None or isinstance(v, str) else float(v) for v in r]
                           for r in rows]}))
""".replace("__METRIC__", METRIC)


def run(src: Path, db: Path, config: Path) -> dict:
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(db), str(config), MONTH],
                         capture_output=True, text=True, timeout=600, cwd=src,
                         env={**os.environ, "PYTHONPATH": str(src)})
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_a_metric_becomes_scorable_by_a_column_a_dictionary_entry_and_a_rule(
        tmp_path, sample_build):
    src = tmp_path / "src"
    for part in ("kaohe", "sql", "config", "expectations", "reports"):
        shutil.copytree(ROOT / part, src / part, ignore=shutil.ignore_patterns("__pycache__"))
    home = copy_home(sample_build, tmp_path / "home")
    db = home / "work" / "kaohe.duckdb"

    config = yaml.safe_load((src / "config" / "kaohe.yaml").read_text(encoding="utf-8"))
    config["scorecard"]["rules"]["recovery"].append(
        {"metric": METRIC, "floor": 30, "target": 120, "direction": "higher", "weight": 0.10})
    proposal = tmp_path / "proposal.yaml"
    proposal.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")

    # before: no dictionary marks it, so the rule is refused at load
    assert METRIC in run(src, db, proposal)["refused"]

    # 1. the SQL column (before the final select's last column)
    mart = src / "sql" / "marts" / "agent_month_metrics.sql"
    text = mart.read_text(encoding="utf-8")
    anchor = "        coalesce(ct.rpc_calls, 0) as rpc_calls,\n"
    assert anchor in text
    mart.write_text(text.replace(anchor, anchor + (
        "        (coalesce(ct.talk_time_s, 0) / nullif(ct.connected_calls, 0))::double\n"
        f"            as {METRIC},\n")), encoding="utf-8")
    # 2. its dictionary entry, marked scorable, in the same place
    entry = (f'  - {{name: {METRIC}, type: DOUBLE, scorable: higher, en: "talk_time_s / '
             f'connected_calls", zh: "平均通话时长"}}\n')
    dictionary = src / "sql" / "marts" / "agent_month_metrics.yaml"
    lines = dictionary.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("  - {name: rpc_calls,"))
    lines.insert(at + 1, entry)
    dictionary.write_text("".join(lines), encoding="utf-8")

    # 3. the rule (already in the proposal): now the month is built and scored on it
    rows = run(src, db, proposal)["rows"]
    assert len(rows) > 20
    scored = 0
    for _agent, talk, connected, value, rule_value, points in rows:
        if connected:
            assert value == rule_value == talk / connected
            assert points == pytest.approx(max(0.0, min(100.0, (value - 30) / (120 - 30) * 100)))
            scored += 1
        else:
            assert value is None and rule_value is None
    assert scored > 20
    # the real code and dictionaries are untouched
    assert METRIC not in (ROOT / "sql" / "marts" / "agent_month_metrics.yaml").read_text(
        encoding="utf-8")
