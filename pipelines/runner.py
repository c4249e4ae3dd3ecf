"""``kaohe run``: the monthly Dagster job, executed in process on the home's Dagster instance.

What the terminal shows is pipelines/progress.py (``RunProgress``); every Dagster event of the
run also goes to the Dagster instance.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kaohe.months import MONTH
from kaohe.warehouse import Home
from kaohe.warehouse import audit_tables as audit
from pipelines.progress import RunProgress

log = logging.getLogger("kaohe")


DAGSTER_YAML = """\
# Written by kaohe: runs of `kaohe run` and of `dagster dev` share this instance.
telemetry:
  enabled: false
python_logs:
  managed_python_loggers:
    - kaohe
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
"""


class RunLocked(RuntimeError):
    """Another kaohe run holds this home."""


class ConfigAuditFailed(RuntimeError):
    """The configuration breaks a regulatory rule and the run was not told to go ahead."""


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    seconds: float
    published: Path
    step_seconds: dict[str, float]
    work_db: Path
    failed_steps: dict[str, str] = field(default_factory=dict)  # step -> first line of its error
    skipped_steps: list[str] = field(default_factory=list)
    log_file: Path | None = None


def prepare_instance(home: Home) -> None:
    """Point DAGSTER_HOME at the home's instance (created on first use)."""
    home.create()
    config = home.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)


@contextmanager
def run_lock(home: Home) -> Iterator[None]:
    """One run per home at a time: a second one refuses at once with a clear message."""
    home.create()
    path = home.root / "work" / "run.lock"
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            raise RunLocked(
                f"another kaohe run is using {home.root} ({fh.read().strip() or 'unknown'}); "
                "wait for it to finish"
            ) from None
        fh.truncate(0)
        fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def check_pii_key(home: Home) -> None:
    """Refuse before any step runs when KAOHE_PII_KEY is unusable or differs from the key the
    home's warehouse was built with (the writer checks again; this only says it earlier, in one
    line, instead of failing the first step)."""
    import duckdb

    from kaohe.ingest import pii
    from kaohe.warehouse import connect, meta_get

    # without a key the development key is used; pii_key() warns about it inside the run
    key = pii.pii_key()[0] if os.environ.get(pii.KEY_ENV) else pii.DEV_KEY
    if not home.work_db.exists():
        return
    try:
        con = connect(home.work_db, read_only=True)
    except duckdb.Error:
        return  # busy or damaged: the run's writer says what is wrong
    try:
        stored = meta_get(con, "pii_key_fingerprint")
    except duckdb.Error:
        stored = None  # a warehouse from before the fingerprint
    finally:
        con.close()
    if stored is not None and stored != pii.key_fingerprint(key):
        raise pii.PiiKeyError(
            f"{pii.KEY_ENV} differs from the key the warehouse {home.work_db} was built with "
            "(debtors would no longer join across files): use the original key, or rebuild from "
            "the landing folder in a new home")


def migrate_home(home: Home, dry_run: bool = False, show: bool = False) -> list[str]:
    """Upgrade the home's warehouse to this code's schema version before anything else runs
    (a copy first, in <home>/backups; kaohe/warehouse/migrations). Returns what was done, as lines;
    ``show`` also prints them when migrations ran. Refuses a warehouse from a newer kaohe
    (kaohe.warehouse.migrations.WarehouseTooNew)."""
    from kaohe.warehouse import upgrade

    result = upgrade(home, dry_run=dry_run)
    lines = result.lines(dry_run=dry_run)
    if show and result.applied:
        for line in lines:
            print(line, flush=True)
    return lines


def run_month(month: str, home_dir: Path, landing: Path, config: Path | None = None,
              allow_audit_errors: bool = False, progress: bool = False) -> RunOutcome:
    """Execute the monthly job in process (ingest, build, publish) and report per-step times.

    ``progress`` prints a line per step to the terminal as the run goes (``kaohe run``);
    without it the run prints nothing. Either way every Dagster event goes to the home's log
    file and to the Dagster instance.
    """
    if not MONTH.match(month):
        raise ValueError(f"--month must look like 2026-09, not {month!r}")
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    from kaohe.config import load_config
    from kaohe.scoring.rule_audit import audit, errors

    cfg = load_config(config)  # a bad configuration stops here, with its precise message
    failed = errors(audit(cfg))
    if failed and not allow_audit_errors:
        raise ConfigAuditFailed(
            f"the configuration {cfg.path} breaks {len(failed)} regulatory rule(s): "
            + "; ".join(f"[{f.rule}] {f.message} ({f.detail})" for f in failed)
            + ". Fix it (see kaohe audit-config) or run with --allow-audit-errors, "
            "which is recorded."
        )
    home = Home(home_dir.resolve())
    prepare_instance(home)
    with run_lock(home):
        check_pii_key(home)
        migrate_home(home, show=progress)
        from dagster import DagsterInstance

        from assets.resources import resources_for
        from pipelines.definitions import build_definitions

        # the definitions dagster dev loads, with this run's first month and paths
        defs = build_definitions(first_partition(month),
                                 resources_for(home.root, landing.resolve(), config))
        if failed:
            _record_override(home, landing, month, cfg, failed)
        _prefetch("great_expectations")
        job = defs.resolve_job_def("monthly_run")
        started = time.perf_counter()
        run_id = str(uuid.uuid4())
        watcher = RunProgress(home.logs / "kaohe.log", steps=len(job.graph.node_dict),
                              show=progress)
        from kaohe.warehouse import run_writer

        # one writer connection shared by the steps (kaohe.warehouse.run_writer)
        with DagsterInstance.get() as instance, watcher, warnings.catch_warnings(), \
                run_writer(home):
            warnings.simplefilter("ignore")  # Dagster's beta/preview notices: not the operator's
            instance.add_event_listener(run_id, watcher)
            result = job.execute_in_process(
                instance=instance,
                run_id=run_id,
                partition_key=f"{month}-01",
                tags={"kaohe/month": month},
                # nothing on the terminal from Dagster itself: RunProgress shows the steps and
                # writes every event to the log file
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
                raise_on_error=False,
            )
            steps = {}
            for stats in instance.get_run_step_stats(result.run_id):
                if stats.start_time and stats.end_time:
                    steps[stats.step_key] = stats.end_time - stats.start_time
        return RunOutcome(result.success, result.run_id, time.perf_counter() - started,
                          home.published_db, steps, home.work_db, dict(watcher.failed),
                          list(watcher.skipped), watcher.log_path)


def first_partition(month: str) -> str:
    """The first monthly partition of a run's definitions: ``KAOHE_FIRST_MONTH`` when it is set
    and not later than the month, else the month itself, so the month is always a partition
    (assets.metrics.first_month; a malformed value is refused with its message)."""
    from assets.metrics import FIRST_MONTH_ENV, first_month

    configured = os.environ.get(FIRST_MONTH_ENV, "").strip()
    return min(first_month({FIRST_MONTH_ENV: configured}), month) if configured else month


def _prefetch(module: str) -> None:
    """Import a slow module on a thread while ingestion runs (DuckDB releases the GIL): Great
    Expectations takes 6-10 s to import, and the marts' checks need it only minutes later."""
    import importlib
    import threading

    def load() -> None:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - the checks import it again and report any error
            log.debug("prefetching %s failed", module, exc_info=True)

    threading.Thread(target=load, name=f"prefetch-{module}", daemon=True).start()


def _record_override(home: Home, landing: Path, month: str, cfg, failed) -> None:
    """An explicitly allowed audit failure leaves a trace in the warehouse and the log."""
    from assets.resources import Warehouse

    text = "; ".join(f"[{f.rule}] {f.detail}" for f in failed)
    log.warning("running %s with a configuration that fails the audit: %s", month, text)
    with Warehouse(home=str(home.root), landing=str(landing)).writer() as con:
        con.execute(f"insert into audit.config_overrides {audit.columns('config_overrides')} "
                    "values (now()::timestamp, ?, ?, ?, ?)",
                    [month, cfg.config_version, str(cfg.path), text])
