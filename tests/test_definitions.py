"""The Dagster definitions load as `dagster dev -w workspace.yaml` loads them."""

import yaml

from kaohe.ingest.contract import load_contract
from kaohe.models.marts import MONTHLY_MARTS


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


def test_loading_the_definitions_does_not_import_great_expectations():
    import subprocess
    import sys

    code = ("import sys, pipelines.definitions; "
            "print('great_expectations' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_a_sources_checks_run_after_the_sources_they_reference():
    from dagster import AssetKey

    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    parents = graph.get(AssetKey(["staging", "calls"])).parent_keys
    assert {AssetKey(["staging", "cases"]), AssetKey(["staging", "agents"])} <= parents
