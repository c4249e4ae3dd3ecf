"""Writing the landing folder: file paths, the CSV dialect, gzip and encodings, the documented bad
lines (with their physical line numbers), the counts, progress and ``_manifest.json``.

Parquet (repayments) is written where the rows are made, in ``payments``; it goes through
``_path`` and ``_count`` like every other file.
"""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from kaohe.generate.attempts import RULES
from kaohe.generate.base import _Base
from kaohe.generate.schema import CSV_FORMAT, FORMATS, INDUSTRIES, SOURCES
from kaohe.generate.windows import manifest_entry


def _csv_line(values: list[str]) -> str:
    """One hand-written CSV line (only for the documented bad rows)."""
    out = [f'"{v.replace(chr(34), chr(34) * 2)}"' if any(c in v for c in ',"\n') else v
           for v in values]
    return ",".join(out) + "\n"


class _Writer(_Base):
    """Files, counts, progress and the manifest."""

    def _path(self, source: str, day: date, ext: str, seq: int | None = None) -> Path:
        suffix = f"_{seq:02d}" if seq is not None else ""
        folder = self.out / source
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{source}_{day:%Y%m%d}{suffix}.{ext}"

    def _count(self, source: str, rows: int) -> None:
        self.files[source] += 1
        self.rows[source] += rows
        self.month_rows[source] += rows

    def _write(self, source: str, day: date, df: pl.DataFrame, *, ext: str = "csv",
               seq: int | None = None, bom: bool = False, encoding: str = "utf-8",
               float_precision: int | None = None) -> Path:
        path = self._path(source, day, ext, seq)
        if encoding != "utf-8":
            path.write_bytes(df.write_csv(**CSV_FORMAT).encode(encoding))
        elif ext == "csv.gz":
            # Python's gzip, not polars': its output does not depend on the thread count.
            text = df.write_csv(float_precision=float_precision, **CSV_FORMAT)
            path.write_bytes(gzip.compress(text.encode(), compresslevel=6, mtime=0))
        else:
            df.write_csv(path, include_bom=bom, float_precision=float_precision, **CSV_FORMAT)
        self._count(source, df.height)
        return path

    def _write_with_bad(self, source: str, day: date, df: pl.DataFrame, at: int,
                        bad: list[tuple[str, str | None, str, list[str]]], *,
                        seq: int | None = None, encoding: str = "utf-8") -> None:
        """Write ``df`` as CSV with hand-made bad lines after its ``at``-th data row, and record
        each bad line's physical line number (header = line 1) in the manifest."""
        path = self._path(source, day, "csv", seq)
        head = df.head(at).write_csv(**CSV_FORMAT)
        tail = df.slice(at).write_csv(include_header=False, **CSV_FORMAT)
        line = head.count("\n") + 1
        lines = []
        for k, (reason, column, value, fields) in enumerate(bad):
            lines.append(_csv_line(fields))
            self.bad_rows.append({"source": source, "file": f"{source}/{path.name}",
                                  "line": line + k, "reason_code": reason, "column": column,
                                  "value": value})
        path.write_bytes((head + "".join(lines) + tail).encode(encoding))
        self._count(source, df.height + len(bad))

    def _report(self, i: int) -> None:
        """Progress: calls once a week (the long part at large scale), every source at month end."""
        m = self.month_idx[i]
        done, days = i - self.month_first[m] + 1, self.month_last[m] - self.month_first[m] + 1
        month = f"{self.days[i]:%Y-%m}"
        if i != self.month_last[m]:
            if done % 7 == 0:
                self.progress(f"{'calls':<11} {month}: {done}/{days} days, "
                              f"{self.month_rows['calls']:,} rows so far")
            return
        for source in SOURCES:
            if self.month_rows[source]:
                self.progress(f"{source:<11} {month}: {days} days, "
                              f"{self.month_rows[source]:,} rows")
        self.month_rows = dict.fromkeys(SOURCES, 0)

    def _contact_rule_truth(self) -> dict:
        """Ground truth for the legal contact rules, per calendar month (``YYYY-MM``):
        ``contact_rule_breakers`` the agents with a call breaking any of them (the harassers
        and a few ordinary agents), ``contact_rule_breaches`` those agents' breaching calls per
        rule, counted as ``intermediate.contact_rule_calls`` counts them."""
        breakers, breaches = {}, {}
        ids = self.ag.ids.to_list()
        for m in range(self.n_months):
            month = f"{self.days[self.month_first[m]]:%Y-%m}"
            counts = self.breaches[m]
            who = [int(a) for a in np.flatnonzero(counts.sum(axis=1) > 0)]
            breakers[month] = [ids[a] for a in who]
            breaches[month] = {ids[a]: dict(zip(RULES, map(int, counts[a]), strict=True))
                               for a in who}
        return {"contact_rule_breakers": breakers, "contact_rule_breaches": breaches}

    def _write_manifest(self) -> dict:
        """``_manifest.json``: files and rows per source, the documented bad rows and bad file,
        the formats, the agents' latent skill; returned as written."""
        manifest = {
            "generator": "kaohe",
            "seed": self.seed,
            "scale": self.scale.name,
            "volume": {"agents": self.scale.agents, "cases": self.scale.cases,
                       "calls_per_agent_day": self.scale.calls_per_agent_day},
            "start": self.start.isoformat(),
            "months": self.months,
            "end": self.end.isoformat(),
            "files": self.files,
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "bad_files": self.bad_files,
            "formats": FORMATS,
            # Ground truth for tests of fair measurement: each agent's latent skill (lognormal
            # around 1), which drives their performance and is in no landing file.
            "latent_skill": dict(zip(self.ag.ids.to_list(),
                                     [round(float(v), 4) for v in self.ag.skill], strict=True)),
            # Ground truth for the compliance desk: the agents planted as harassers (aggressive
            # dialling, threats and abuse), who conduct_alerts must flag.
            "harassing_agents": self.ag.ids.filter(pl.Series(self.ag.aggressive)).to_list(),
            **self._contact_rule_truth(),
            **self._appeal_truth(),  # kaohe/generate/appeals.py
            # Ground truth for the contact windows: each debtor segment's (industry's) hidden
            # answer curve per hour, weekday and weekend, and its best window (windows).
            **manifest_entry(self.curves, INDUSTRIES, self.curve_kind),
        }
        (self.out / "_manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return manifest
