"""What the terminal shows during ``kaohe run`` (``RunProgress``): one short line per step (the
asset, its rows, its seconds), kaohe's warnings, and on a terminal a live display of the step
running and the steps done. Every Dagster event of the run (the detail ``dagster dev`` shows)
goes to the home's log file, ``<home>/logs/kaohe.log``; none is printed. The events come from an
event listener on the instance (``DagsterInstance.add_event_listener``), called in the run's
thread as each event is stored.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger("kaohe")


def asset_name(step_key: str) -> str:
    """``staging__calls`` -> ``staging.calls`` (the step of an asset is its key joined by __)."""
    return step_key.replace("__", ".")


class RunProgress:
    """The run as it goes: a short line per step on the terminal (a live display of the step
    running when the terminal is interactive) and every Dagster event in the log file.

    Called by the Dagster instance with each ``EventLogEntry`` of the run, in the run's thread.
    """

    def __init__(self, log_path: Path, steps: int = 0, show: bool = True,
                 out: TextIO | None = None, err: TextIO | None = None,
                 live: bool | None = None):
        self.log_path = log_path
        self.total = steps
        self.show = show
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.live = self.out.isatty() and os.environ.get("TERM") != "dumb" if live is None \
            else live
        self.done = 0
        self.failed: dict[str, str] = {}
        self.skipped: list[str] = []
        self._started: dict[str, float] = {}
        self._rows: dict[str, int] = {}
        self._checks_failed: dict[str, list[str]] = {}
        self._warnings: dict[str | None, list[str]] = {}
        self._warned: set[str] = set()  # each distinct warning is shown once
        self._open_line = False  # plain mode: "  step ..." printed, its end not yet
        self._log: TextIO | None = None
        self._progress: Any = None
        self._handlers: list[tuple[logging.Handler, logging.Filter]] = []

    # the run's lifetime -------------------------------------------------------------------------

    def __enter__(self) -> RunProgress:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("a", encoding="utf-8")
        # kaohe's own log records reach the file as Dagster events (kaohe is a managed logger):
        # its file handlers hold them back meanwhile, so each line is written once
        for handler in logging.getLogger("kaohe").handlers:
            if isinstance(handler, logging.FileHandler):
                quiet = logging.Filter("kaohe.__run__")  # matches no record: drops them all
                handler.addFilter(quiet)
                self._handlers.append((handler, quiet))
        if self.show and self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description:<40}"), BarColumn(),
                MofNCompleteColumn(), TimeElapsedColumn(),
                console=Console(file=self.out), transient=True)
            self._task = self._progress.add_task("starting", total=self.total or None)
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._close_line("")
        for step in list(self._warnings):
            self._flush_warnings(step)
        if self.show and self.failed and self.done < self.total:
            self._print(f"  {self.total - self.done} of {self.total} steps not run: they depend "
                        "on a step that failed")
        for handler, quiet in self._handlers:
            handler.removeFilter(quiet)
        if self._log:
            self._log.close()

    # events ---------------------------------------------------------------------------------

    def __call__(self, entry: Any) -> None:
        try:
            self._write_log(entry)
            self._handle(entry)
        except Exception:  # noqa: BLE001 - the display must never stop a run
            log.debug("run progress display failed", exc_info=True)

    def _write_log(self, entry: Any) -> None:
        if self._log is None:
            return
        event = entry.dagster_event
        kind = event.event_type_value if event else "LOG"
        level = logging.getLevelName(entry.level) if isinstance(entry.level, int) else entry.level
        stamp = datetime.fromtimestamp(entry.timestamp).strftime("%Y-%m-%d %H:%M:%S")
        text = entry.message if event else entry.user_message
        self._log.write(f"{stamp} {level} dagster {entry.run_id[:8]} {entry.step_key or '-'} "
                        f"{kind} - {text}\n")
        error = getattr(event, "event_specific_data", None) if event else None
        error = getattr(error, "error", None)
        if error is not None:
            self._log.write(error.to_string() if hasattr(error, "to_string") else str(error))
            self._log.write("\n")
        self._log.flush()

    def _handle(self, entry: Any) -> None:
        event, step = entry.dagster_event, entry.step_key
        if event is None:  # a log message: kaohe's warnings are shown, the rest is in the log
            level = entry.level if isinstance(entry.level, int) else logging.getLevelName(
                entry.level)
            if isinstance(level, int) and level >= logging.WARNING \
                    and entry.user_message not in self._warned:
                self._warned.add(entry.user_message)
                self._warnings.setdefault(step, []).append(entry.user_message)
                if step is None and not self._open_line:
                    # a warning of no step: now, unless a step's line is open (then after it)
                    self._flush_warnings(None)
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self._started[step] = entry.timestamp
            if not self.show:
                return
            if self._progress is not None:
                self._progress.update(self._task, description=asset_name(step))
            else:
                self._print(f"  {asset_name(step):<40}", end="", flush=True)
                self._open_line = True
        elif kind == "ASSET_MATERIALIZATION":
            metadata = event.event_specific_data.materialization.metadata
            rows = metadata.get("dagster/row_count")
            if rows is not None:
                self._rows[step] = int(getattr(rows, "value", rows))
        elif kind == "ASSET_CHECK_EVALUATION":
            check = event.event_specific_data
            if not check.passed and check.check_name == "quality_gate":
                self._checks_failed.setdefault(step, []).append(check.check_name)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds = entry.timestamp - self._started.get(step, entry.timestamp)
            if kind == "STEP_FAILURE":
                error = getattr(event.event_specific_data, "error", None)
                message = (getattr(error, "message", "") or "").strip().splitlines()
                self.failed[step] = message[0] if message else "failed"
            self.done += 1
            self._step_line(step, seconds, kind == "STEP_SUCCESS")
        elif kind == "STEP_SKIPPED":
            self.skipped.append(step)
            self.done += 1
            if self._progress is not None:
                self._progress.update(self._task, completed=self.done)

    # output -----------------------------------------------------------------------------------

    def _step_line(self, step: str, seconds: float, ok: bool) -> None:
        if not self.show:
            return
        rows = self._rows.get(step)
        what = f"{rows:>12,} {'row ' if rows == 1 else 'rows'}" if rows is not None \
            else " " * 17
        if not ok:
            what = f"{'FAILED':>17}"
        gate = self._checks_failed.get(step)
        note = "  blocking check failed" if gate else (
            f"  {self.failed[step][:80]}" if step in self.failed else "")
        line = f"{what} {seconds:7.1f} s{note}"
        if self._progress is not None:
            self._progress.console.print(f"  {asset_name(step):<40}{line}", highlight=False,
                                         markup=False)
            self._progress.update(self._task, completed=self.done)
        else:
            if not self._open_line:
                self._print(f"  {asset_name(step):<40}", end="")
                self._open_line = True
            self._close_line(line)
        self._flush_warnings(step)
        self._flush_warnings(None)

    def _close_line(self, text: str) -> None:
        if self._open_line:
            self._print(text, flush=True)
            self._open_line = False

    def _flush_warnings(self, step: str | None) -> None:
        messages = self._warnings.pop(step, [])
        if not self.show:
            return
        for message in messages:
            line = f"  warning: {message}"
            if self._progress is not None:
                self._progress.console.print(line, style="yellow", highlight=False,
                                             markup=False)
            else:
                self._close_line("")
                print(line, file=self.err, flush=True)

    def _print(self, text: str, end: str = "\n", flush: bool = False) -> None:
        print(text, end=end, file=self.out, flush=flush)
