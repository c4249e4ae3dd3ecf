"""The Dagster definitions load as `dagster dev -w workspace.yaml` loads them: the domains merged
in one Definitions, resources from EnvVars (replaceable), nothing read or opened at import."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import AssetKey, EnvVar

from kaohe.ingest.contract import load_contract
from kaohe.models.marts import MONTHLY_MARTS
from tests.test_structure import graph

ROOT = Path(__file__).parents[2]
ROSTER_AT = AssetKey(["intermediate", "roster_at"])  # a table macro: created on an empty warehouse


def test_workspace_loads_the_one_definitions_module():
    workspace = yaml.safe_load(open("workspace.yaml"))
    assert workspace["load_from"] == [{"python_module": "pipelines.definitions"}]


def test_definitions_have_every_asset_check_job_and_schedule():
    from pipelines.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {f"staging/{s}" for s in load_contract()} <= keys
    assert {f"marts/{t}" for t in MONTHLY_MARTS} <= keys
    assert {"audit/file_registry", "warehouse/published"} <= keys
    job = defs.resolve_job_def("monthly_run")
    assert job.partitions_def is not None  # monthly, from the marts
    assert defs.resolve_schedule_def("nightly").execution_timezone == "Asia/Shanghai"
    checks = {c.name for c in defs.resolve_asset_graph().asset_check_keys}
    # the gate and the warnings of every checked table (each expectation is a row of their
    # metadata, not a Dagster check of its own: see assets/checks.py)
    assert checks == {"quality_gate", "quality_warnings"}


def test_the_definitions_are_the_domains_merged():
    from assets import domains
    from assets.metrics import monthly_partitions
    from pipelines.definitions import defs

    partitions = monthly_partitions("2026-01")
    parts = [domains.ingest(), domains.models(partitions), domains.reporting(partitions)]
    owned = [{k for a in d.assets for k in a.keys} for d in parts]
    assert all(owned) and not (owned[0] & owned[1] or owned[0] & owned[2] or owned[1] & owned[2])
    assert set().union(*owned) == set(defs.resolve_asset_graph().get_all_asset_keys())
    assert {k.path[0] for k in owned[0]} == {"staging", "audit"}
    assert {k.path[0] for k in owned[1]} == {"intermediate", "marts"}
    assert {k.to_user_string() for k in owned[2]} == {"reports/monthly", "warehouse/published"}


def test_loading_the_definitions_does_not_import_great_expectations():
    code = ("import sys, pipelines.definitions; pipelines.definitions.defs.resolve_asset_graph(); "
            "print('great_expectations' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_a_sources_checks_run_after_the_sources_they_reference():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    parents = graph.get(AssetKey(["staging", "calls"])).parent_keys
    assert {AssetKey(["staging", "cases"]), AssetKey(["staging", "agents"])} <= parents


def test_imports_go_one_way_pipelines_assets_kaohe():
    """The resource lives in assets/, so assets/ never imports pipelines/ (nor kaohe/ either)."""
    up = {(m, d) for m, deps in graph().items() for d in deps
          if (m.startswith("assets") and d.startswith("pipelines"))
          or (m.startswith("kaohe") and d.split(".")[0] in ("assets", "pipelines"))}
    assert up == set()


IMPORT_THEN_LOAD = """
import json, os, sys
seen = []
class Spy(type(os.environ)):  # records every KAOHE_* variable read
    def __getitem__(self, key):
        if str(key).startswith("KAOHE_"):
            seen.append(key)
        return super().__getitem__(key)
os.environ.__class__ = Spy
import duckdb
real_connect, opened = duckdb.connect, []
def connect(database=":memory:", *args, **kwargs):
    opened.append(str(database))
    return real_connect(database, *args, **kwargs)
duckdb.connect = connect
import assets.audit, assets.checks, assets.domains, assets.ingest, assets.intermediate
import assets.metrics, assets.publish, assets.reports, assets.resources
import pipelines.cli, pipelines.definitions, pipelines.runner
at_import = {"env": list(seen), "opened": list(opened), "cwd": sorted(os.listdir("."))}
os.environ["KAOHE_HOME"] = sys.argv[1]  # now load them, as dagster dev does
job = pipelines.definitions.defs.resolve_job_def("monthly_run")
print(json.dumps({"import": at_import, "load": {"env": seen, "opened": opened,
                  "first": job.partitions_def.start.strftime("%Y-%m")}}))
"""


def test_importing_the_definitions_reads_no_environment_and_opens_no_database(tmp_path):
    """Imported with KAOHE_HOME unset in an empty directory: no KAOHE_* variable read, no
    database opened, no file written. Only loading them (``defs``) reads the environment and
    the published warehouse (the first month with data: here 2026-08)."""
    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    published = home / "warehouse" / "kaohe.duckdb"
    con = duckdb.connect(str(published))
    con.execute("create schema marts; create table marts.agent_month_metrics (month date); "
                "insert into marts.agent_month_metrics values (date '2026-08-01')")
    con.close()
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAOHE_")}
    env["PYTHONPATH"] = str(ROOT)
    res = subprocess.run([sys.executable, "-c", IMPORT_THEN_LOAD, str(home)], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["import"] == {"env": [], "opened": [], "cwd": []}
    assert "KAOHE_HOME" in out["load"]["env"] and "KAOHE_FIRST_MONTH" in out["load"]["env"]
    assert out["load"]["opened"] == [str(published)]
    assert out["load"]["first"] == "2026-08"
    assert os.listdir(cwd) == []


def test_dagster_dev_resources_are_env_vars_resolved_when_a_run_starts(tmp_path, monkeypatch):
    from assets.resources import env_resources
    from pipelines.definitions import from_environment

    monkeypatch.delenv("KAOHE_CONFIG", raising=False)
    monkeypatch.setenv("KAOHE_FIRST_MONTH", "2026-10")
    monkeypatch.setenv("KAOHE_HOME", str(tmp_path / "first"))
    monkeypatch.setenv("KAOHE_LANDING", str(tmp_path / "landing"))
    resources = env_resources()
    warehouse = resources["warehouse"]
    assert isinstance(warehouse.home, EnvVar) and warehouse.home.env_var_name == "KAOHE_HOME"
    assert isinstance(warehouse.landing, EnvVar)
    assert warehouse.landing.env_var_name == "KAOHE_LANDING"
    assert resources["kaohe_config"].path == ""  # unset: the shipped configuration
    monkeypatch.setenv("KAOHE_CONFIG", str(tmp_path / "kaohe.yaml"))
    assert env_resources()["kaohe_config"].process_config_and_initialize().path == \
        str(tmp_path / "kaohe.yaml")

    job = from_environment().resolve_job_def("monthly_run")  # loading resolves nothing
    # the variable is read when the run starts, not when the definitions loaded
    monkeypatch.setenv("KAOHE_HOME", str(tmp_path / "second"))
    result = job.execute_in_process(asset_selection=[ROSTER_AT], partition_key="2026-10-01")
    assert result.success
    assert not (tmp_path / "first").exists()
    assert macros(tmp_path / "second") == ["roster_at"]


def test_tests_and_kaohe_run_replace_the_resources(tmp_path, monkeypatch):
    from assets.resources import resources_for
    from pipelines.definitions import build_definitions

    monkeypatch.setenv("KAOHE_HOME", str(tmp_path / "from-env"))
    defs = build_definitions("2026-10", resources_for(tmp_path / "home", tmp_path / "landing"))
    job = defs.resolve_job_def("monthly_run")
    assert job.partitions_def.get_first_partition_key() == "2026-10-01"
    result = job.execute_in_process(asset_selection=[ROSTER_AT], partition_key="2026-10-01")
    assert result.success
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [ROSTER_AT]
    assert macros(tmp_path / "home") == ["roster_at"]
    assert not (tmp_path / "from-env").exists()


def macros(home: Path) -> list[str]:
    con = duckdb.connect(str(home / "work" / "kaohe.duckdb"), read_only=True)
    try:
        return [n for (n,) in con.execute("select function_name from duckdb_functions() where "
                                          "schema_name = 'intermediate'").fetchall()]
    finally:
        con.close()


@pytest.mark.parametrize(("configured", "month", "first"), [
    (None, "2026-09", "2026-09"),  # the month itself
    ("2026-03", "2026-09", "2026-03"),  # an earlier configured start is kept
    ("2026-11", "2026-09", "2026-09"),  # a later one would not have the month
])
def test_kaohe_run_starts_the_partitions_at_its_month_or_earlier(monkeypatch, configured, month,
                                                                 first):
    from pipelines.runner import first_partition

    if configured:
        monkeypatch.setenv("KAOHE_FIRST_MONTH", configured)
    else:
        monkeypatch.delenv("KAOHE_FIRST_MONTH", raising=False)
    assert first_partition(month) == first


def test_kaohe_run_refuses_a_malformed_first_month(monkeypatch):
    from pipelines.runner import first_partition

    monkeypatch.setenv("KAOHE_FIRST_MONTH", "March")
    with pytest.raises(ValueError, match="KAOHE_FIRST_MONTH must look like 2025-01"):
        first_partition("2026-09")


@pytest.mark.parametrize(("day", "window", "months"), [
    (12, 15, ["2026-08", "2026-09"]),  # within the appeal window: August is rebuilt too
    (16, 15, ["2026-09"]),
    (4, 0, ["2026-08", "2026-09"]),    # no appeal window: the 5-day late-file grace remains
    (6, 0, ["2026-09"]),
])
def test_the_nightly_rebuilds_the_previous_month_within_the_appeal_window(tmp_path, day, window,
                                                                          months):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from dagster import build_schedule_context

    from assets.resources import KaoheConfig
    from kaohe.config import DEFAULT_CONFIG
    from pipelines.schedules import nightly

    config = tmp_path / "kaohe.yaml"
    config.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8").replace(
        "  window_days: 15\n", f"  window_days: {window}\n"), encoding="utf-8")
    context = build_schedule_context(
        resources={"kaohe_config": KaoheConfig(path=str(config))},
        scheduled_execution_time=datetime(2026, 9, day, 2, tzinfo=ZoneInfo("Asia/Shanghai")))
    requests = list(nightly(context))
    assert [r.tags["kaohe/month"] for r in requests] == months
