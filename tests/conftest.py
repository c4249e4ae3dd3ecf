"""Shared fixtures: a landing folder written row by row in the test, and a warehouse in tmp_path."""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pytest

from assets.resources import Warehouse
from kaohe.ingest.contract import load_contract
from kaohe.ingest.ingestor import Ingestor, SourceResult, discover

# The header a test's hand-written rows follow: the contract's columns without the optional
# version-3 ones (a landing without them is valid; the tests that need them add them).
VERSION_3_OPTIONAL = {"dialled_number", "left_on"}
HEADERS = {name: ",".join(c for c in src.column_names if c not in VERSION_3_OPTIONAL)
           for name, src in load_contract().items()}


class Landing:
    """A landing folder; ``write`` puts a file in it, ``ingest`` loads everything new."""

    def __init__(self, root: Path, home: Path):
        self.root = root
        self.warehouse = Warehouse(home=str(home), landing=str(root))

    def write(self, source: str, name: str, rows: list[str], header: str | None = None,
              encoding: str = "utf-8", bom: bool = False) -> Path:
        path = self.root / source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join([header if header is not None else HEADERS[source], *rows]) + "\n"
        data = (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)
        if name.endswith(".gz"):
            data = gzip.compress(data, mtime=0)
        path.write_bytes(data)
        return path

    def ingest(self) -> dict[str, SourceResult]:
        results = {}
        with self.warehouse.writer() as con:
            ingestor = Ingestor(con, self.root, self.warehouse.paths.tmp)
            for name, files in discover(self.root).items():
                if files:
                    results[name] = ingestor.ingest_source(load_contract()[name], files)
        return results

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with self.warehouse.writer() as con:
            return con.execute(sql, params or []).fetchall()

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse.paths.work_db), read_only=True)


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    return Landing(tmp_path / "landing", tmp_path / "home")


@pytest.fixture
def write_calls(landing: Landing) -> Callable[..., Path]:
    def write(name: str, rows: list[str], **kw) -> Path:
        return landing.write("calls", name, rows, **kw)

    return write


# The generated sample most report, delivery and what-if tests read: small, seed 7, August and
# September 2026, each month run by the real CLI. Built once per test session, by whichever
# worker asks first (the others wait on a lock), in a folder all xdist workers share.
SAMPLE_MONTHS = ("2026-08", "2026-09")


@pytest.fixture
def metric_con(tmp_path):
    """A fresh warehouse of one's own (tests.metric_rows.warehouse) to insert rows into."""
    from tests.metric_rows import warehouse

    con = warehouse(tmp_path / "w.duckdb")
    yield con
    con.close()


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory) -> dict:
    """{"root", "landing", "home", "runs"}: read it, never change it (``copy_home`` gives a
    home of one's own); ``runs`` has each month's run output (returncode, stdout, stderr)."""
    from kaohe.generate import generate

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "sample-build"
    with (shared / "sample-build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / "runs.json"
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)
            generate(root / "landing", date(2026, 8, 1), len(SAMPLE_MONTHS), 7, "small",
                     progress=None)
            runs = {}
            for month in SAMPLE_MONTHS:
                res = subprocess.run(
                    [sys.executable, "-m", "pipelines.cli", "run", "--month", month,
                     "--landing", str(root / "landing"), "--home", str(root / "home")],
                    capture_output=True, text=True, timeout=900,
                    env={k: v for k, v in os.environ.items() if k != "KAOHE_PII_KEY"})
                assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
                runs[month] = {"returncode": res.returncode, "stdout": res.stdout,
                               "stderr": res.stderr}
            done.write_text(json.dumps(runs))
    return {"root": root, "landing": root / "landing", "home": root / "home",
            "runs": json.loads(done.read_text())}


def built_once(tmp_path_factory, name: str, build: Callable[[Path], object]):
    """``build(root)``'s result, built once per test session by whichever xdist worker asks first
    (the others wait on a lock) in ``<shared basetemp>/<name>``, saved there and read back by all
    (pickled): what ``root`` holds is read, never changed."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / name
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / f"{name}.pickle"
        if not done.exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            done.write_bytes(pickle.dumps(build(root)))
    return pickle.loads(done.read_bytes())


@pytest.fixture(scope="session")
def gaming_baseline(sample_build, tmp_path_factory) -> dict:
    """tests/gaming_pay.py's baseline, shared by the test_gaming_does_not_pay*.py files."""
    from tests.gaming_pay import build_baseline

    return built_once(tmp_path_factory, "gaming-does-not-pay",
                      lambda root: build_baseline(sample_build, root))


@pytest.fixture(scope="module")
def sample_published(sample_build):
    """A read-only connection to the shared sample's published copy (what analysts open)."""
    con = duckdb.connect(str(sample_build["home"] / "warehouse" / "kaohe.duckdb"),
                         read_only=True)
    yield con
    con.close()


def copy_home(build: dict, dest: Path) -> Path:
    """A writable copy of the sample's home (its run lock left behind)."""
    shutil.copytree(build["home"], dest, ignore=shutil.ignore_patterns("*.lock"))
    return dest


# The longest test files first (measured with --durations=0), the builder of the shared sample
# (test_end_to_end) at the head: it builds the sample while the next files, which do not read
# it (the crash test, the upgrades), run on the other workers, so that no worker waits on the
# sample's lock. The gaming-does-not-pay files apart, for the same reason (their baseline). With
# `pytest -n 3 --dist loadfile` (Makefile) a long file scheduled last leaves the other workers
# idle (longest-processing-time-first keeps the suite short); pytest_configure keeps this order.
LONG_FIRST = ("test_end_to_end.py", "test_crash.py", "test_upgrade_v1.py", "test_upgrade_v2.py",
              "test_report_pages.py", "test_quality.py", "test_appraisal.py",
              "test_profile_round_trip.py",
              "test_scorecard.py", "test_fairness.py", "test_gaming_does_not_pay_promises.py",
              "test_cli.py", "test_fair_metrics.py", "test_complaint_resolution.py",
              "test_evidence.py", "test_team_center_marts.py", "test_whatif.py",
              "test_gaming_does_not_pay.py", "test_fuzz.py", "test_profiles.py",
              "test_hostile_run.py",
              "test_version1_landing.py", "test_gaming_does_not_pay_cases.py",
              "test_delivery_mistakes.py", "test_days_worked.py", "test_team_scorecard.py",
              "test_gaming_signals.py", "test_restatement.py", "test_ingest.py",
              "test_migrations.py", "test_i18n.py", "test_security.py", "test_compliance.py",
              "test_identifiers.py", "test_publish.py", "test_agent_metrics.py",
              "test_gaming_plant.py", "test_ingest_batch.py", "test_payroll.py",
              "test_reports.py", "test_contact_rules.py", "test_calibrate.py",
              "test_vendor_render.py",
              "test_delivery.py")


def pytest_report_header(config):
    """First lines of the run: whether the browser tests will run (they need Debian's
    chromium; CI installs it or fails, .ci/run)."""
    if shutil.which("chromium") is None:
        return ["chromium: NOT INSTALLED, the browser tests (pages open without errors, print on "
                "A4) will be skipped; install it with: sudo apt-get install -y chromium "
                "fonts-noto-cjk"]
    return [f"chromium: {shutil.which('chromium')}"]


def pytest_configure(config):
    """Keep LONG_FIRST's order of the files under ``--dist loadfile``: pytest-xdist (3.x) would
    otherwise hand the files out by their number of tests, most first (``--loadscope-reorder``,
    its default), and the long files of few tests (the upgrades, the crash test) would start
    last."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    def weight(item) -> int:
        name = item.path.name
        return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)

    items.sort(key=weight)  # stable: the order within a file is kept
