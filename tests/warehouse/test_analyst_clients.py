"""The analysts' own tools open the published warehouse: the DuckDB command-line tool from PyPI
and DuckDB's Python package of the long-term-support line, each installed in an environment of
its own (never kaohe's), run the README's analyst queries, every analyst view and every shared
rule on the published copy of a generated month, and get what kaohe's own DuckDB gets.

The environments are made with uv from PyPI on first use (cached in ~/.cache/kaohe-test-clients,
or KAOHE_TEST_CLIENTS); without them the tests fail, they never skip."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

README = Path(__file__).parents[2] / "README.md"
# what analysts have: the LTS line of the Python package, the CLI as published on PyPI
LTS_PYTHON = "duckdb==1.4.*"
CLI = "duckdb-cli==1.5.*"
MONTH = "2026-09"  # the sample's last month; the README's examples say 2026-10
CACHE = Path(os.environ.get("KAOHE_TEST_CLIENTS", Path.home() / ".cache" / "kaohe-test-clients"))

# Each query's rows, as one text every client computes in SQL (DuckDB's own rendering of values,
# sorted), so that the comparison does not depend on a client's output format.
DIGEST = ("select count(*) as n, coalesce(md5(string_agg(r::varchar, chr(10) order by "
          "r::varchar)), '') as digest from ({query}) r")


def readme_queries() -> list[str]:
    """The SQL statements of the README's analyst section (its ```sql block), for the sample."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Quickstart for analysts"):text.index("## Quickstart for operators")]
    block = re.search(r"```sql\n(.*?)```", section, re.S).group(1)
    body = "\n".join(line for line in block.splitlines() if not line.startswith("--"))
    queries = [q.strip() for q in body.split(";") if q.strip()]
    return [q.replace("2026-10-01", f"{MONTH}-01").replace("2026-10-31", f"{MONTH}-30")
            for q in queries]


def analyst_queries(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The README's queries, every view of the copy and every shared rule (a table macro, called
    for the sample's month)."""
    out = readme_queries()
    out += [f"select * from {s}.{v}" for s, v in con.execute(
        "select schema_name, view_name from duckdb_views() where database_name = "
        "current_database() and not internal and schema_name in ('marts', 'intermediate', "
        "'staging') order by all").fetchall()]
    # each table macro's arguments, as an analyst would write them for the sample's month
    args = {"as_of": f"date '{MONTH}-30'", "month_start": f"date '{MONTH}-01'",
            "month_end": "date '2026-10-01'", "quarter_start": "date '2026-07-01'",
            "cap": "3", "deadline_days": "15",
            "bucket_weights": "[{'bucket': 'M6+', 'weight': 1.4}]",
            "hours_start": "'08:00:00'", "hours_end": "'21:00:00'", "effective_min_s": "30",
            "qa_labels": "['threat', 'abuse', 'insult']", "qa_threshold": "0.8",
            "sla_hours": "[{'ticket_type': 'fee_waiver', 'hours': 24}]",
            "answered_cap": "3", "unanswered_cap": "6", "legal_start": "'08:00:00'",
            "legal_end": "'22:00:00'", "commit_min_s": "20", "commit_min_share": "0.03",
            "load_bands": "5"}
    for schema, name, params in con.execute(
            "select schema_name, function_name, parameters from duckdb_functions() where "
            "database_name = current_database() and function_type = 'table_macro' and "
            "schema_name = 'intermediate' order by all").fetchall():
        out.append(f"select * from {schema}.{name}({', '.join(args[p] for p in params)})")
    return out


def _uv() -> str:
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    assert Path(found).exists(), "uv is needed to install the analysts' clients (make installs it)"
    return found


@pytest.fixture(scope="session")
def clients() -> dict[str, Path]:
    """{"python": the LTS Python's interpreter, "cli": the duckdb command}, installed once."""
    env_dir = CACHE / re.sub(r"[^a-z0-9.]+", "-", f"{LTS_PYTHON}-{CLI}".lower())
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        python, cli = env_dir / "bin" / "python", env_dir / "bin" / "duckdb"
        if not (python.exists() and cli.exists()):
            shutil.rmtree(env_dir, ignore_errors=True)
            for cmd in ([_uv(), "venv", "-q", "--python", sys.executable, str(env_dir)],
                        [_uv(), "pip", "install", "-q", "--python", str(python), LTS_PYTHON,
                         CLI]):
                res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                assert res.returncode == 0, (
                    f"could not install the analysts' clients ({' '.join(cmd)}): {res.stderr}")
    return {"python": python, "cli": cli}


@pytest.fixture(scope="module")
def published(sample_build, tmp_path_factory) -> Path:
    """A copy of the sample's published warehouse (the shared build is only read)."""
    copy = tmp_path_factory.mktemp("analyst") / "kaohe.duckdb"
    shutil.copyfile(sample_build["home"] / "warehouse" / "kaohe.duckdb", copy)
    return copy


@pytest.fixture(scope="module")
def expected(published) -> dict[str, tuple]:
    """Each query's rows as kaohe's own DuckDB sees them."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        return {q: tuple(con.execute(DIGEST.format(query=q)).fetchall()[0])
                for q in analyst_queries(con)}
    finally:
        con.close()


LTS_SCRIPT = """
import duckdb, json, sys
path, queries, digest = sys.argv[1], json.loads(sys.stdin.read()), sys.argv[2]
con = duckdb.connect(path, read_only=True)
out = {"version": duckdb.__version__, "results": {}}
for q in queries:
    try:
        out["results"][q] = list(con.execute(digest.format(query=q)).fetchall()[0])
    except Exception as exc:
        out["results"][q] = ["error", str(exc)]
print(json.dumps(out))
"""


def test_the_copy_is_written_in_the_configured_storage_format(published):
    con = duckdb.connect(str(published), read_only=True)
    try:
        tags = con.execute("select tags from duckdb_databases() where database_name = "
                           "current_database()").fetchall()[0][0]
        meta = dict(con.execute("select key, value from audit.warehouse_meta").fetchall())
    finally:
        con.close()
    assert tags["storage_version"].startswith("v1.4.0")
    assert meta["published_storage_version"] == "v1.4.0"


def test_the_readme_queries_are_the_ones_tested():
    queries = readme_queries()
    assert len(queries) >= 7
    assert any("marts.agent_month_metrics" in q for q in queries)
    assert any("intermediate.roster_at" in q for q in queries)


def test_the_lts_python_package_reads_every_analyst_query_alike(clients, published, expected):
    res = subprocess.run([str(clients["python"]), "-c", LTS_SCRIPT, str(published), DIGEST],
                         input=json.dumps(list(expected)), capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert out["version"].startswith("1.4.")
    got = {q: tuple(r) for q, r in out["results"].items()}
    assert {q: (expected[q], got[q]) for q in expected if got[q] != expected[q]} == {}


def test_the_cli_from_pypi_reads_every_analyst_query_alike(clients, published, expected):
    version = subprocess.run([str(clients["cli"]), "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("v1.5."), version.stdout + version.stderr
    script = "\n".join(DIGEST.format(query=q) + ";" for q in expected)
    res = subprocess.run([str(clients["cli"]), "-readonly", "-json", str(published)],
                         input=script, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr[-3000:]
    rows = [json.loads(chunk) for chunk in re.findall(r"\[\{.*?\}\]", res.stdout, re.S)]
    got = [(r[0]["n"], r[0]["digest"]) for r in rows]
    assert got == list(expected.values())


def test_the_sample_month_gives_rows_to_every_readme_query(expected):
    """The comparison is not of empty results: the README's queries have rows on the sample."""
    empty = [q for q in readme_queries() if expected[q][0] == 0]
    assert empty == []
