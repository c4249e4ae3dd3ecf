"""``kaohe run``: the monthly Dagster job, executed in process on the home's Dagster instance."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kaohe import audit
from kaohe.months import MONTH
from kaohe.warehouse import Home

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


def run_month(month: str, home_dir: Path, landing: Path, config: Path | None = None,
              allow_audit_errors: bool = False) -> RunOutcome:
    """Execute the monthly job in process (ingest, build, publish) and report per-step times."""
    if not MONTH.match(month):
        raise ValueError(f"--month must look like 2026-09, not {month!r}")
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    home = Home(home_dir.resolve())
    prepare_instance(home)
    from dagster import DagsterInstance

    from kaohe.audit_config import audit, errors
    from kaohe.config import load_config
    from pipelines.definitions import defs
    from pipelines.resources import KaoheConfig, Warehouse

    cfg = load_config(config)  # a bad configuration stops here, with its precise message
    failed = errors(audit(cfg))
    if failed and not allow_audit_errors:
        raise ConfigAuditFailed(
            f"the configuration {cfg.path} breaks {len(failed)} regulatory rule(s): "
            + "; ".join(f"[{f.rule}] {f.message} ({f.detail})" for f in failed)
            + ". Fix it (see kaohe audit-config) or run with --allow-audit-errors, "
            "which is recorded."
        )

    with run_lock(home):
        if failed:
            _record_override(home, landing, month, cfg, failed)
        _prefetch("great_expectations")
        job = defs.resolve_job_def("monthly_run")
        started = time.perf_counter()
        with DagsterInstance.get() as instance:
            result = job.execute_in_process(
                instance=instance,
                resources={
                    "warehouse": Warehouse(home=str(home.root), landing=str(landing.resolve())),
                    "kaohe_config": KaoheConfig(path=str(config or "")),
                },
                partition_key=f"{month}-01",
                tags={"kaohe/month": month},
                # the terminal shows warnings and errors; every event is in the instance
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                raise_on_error=False,
            )
            steps = {}
            for stats in instance.get_run_step_stats(result.run_id):
                if stats.start_time and stats.end_time:
                    steps[stats.step_key] = stats.end_time - stats.start_time
        return RunOutcome(result.success, result.run_id, time.perf_counter() - started,
                          home.published_db, steps, home.work_db)


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
    from pipelines.resources import Warehouse

    text = "; ".join(f"[{f.rule}] {f.detail}" for f in failed)
    log.warning("running %s with a configuration that fails the audit: %s", month, text)
    with Warehouse(home=str(home.root), landing=str(landing)).writer() as con:
        con.execute(f"insert into audit.config_overrides {audit.columns('config_overrides')} "
                    "values (now()::timestamp, ?, ?, ?, ?)",
                    [month, cfg.config_version, str(cfg.path), text])
