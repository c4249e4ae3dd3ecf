"""What every part of the generator shares: the calendar of the period, the seeded random
streams, the queues of events due on a later day, and the counts that go into the manifest.

The parts (``roster``, ``cases``, ``calls``, ``payments``, ``conduct``, ``macro``) are classes
built on this one (through ``writer``); ``core._Generator`` combines them. Day ``i`` is the
index into ``days`` (0 = the start day); ``d0 + i`` is the same day in epoch days.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from kaohe.generate.scale import Scale
from kaohe.generate.schema import SOURCES
from kaohe.generate.util import _add_months, _eday


class _Base:
    """Calendar, random streams, queues and counters."""

    def __init__(self, out: Path, start: date, months: int, seed: int, scale: Scale,
                 progress: Callable[[str], None] | None, contact_curves: str = "industry"):
        if months < 1:
            raise ValueError("months must be at least 1")
        self.out, self.start, self.months, self.seed, self.scale = out, start, months, seed, scale
        self.progress = progress or (lambda _msg: None)
        self.curve_kind = contact_curves  # the debtors' answer curves (windows.CURVE_KINDS)
        self.d0 = _eday(start)
        self.end = _add_months(start, months)
        self.n_days = (self.end - start).days
        self.days = [start + timedelta(days=i) for i in range(self.n_days)]
        ym = np.array([d.year * 12 + d.month for d in self.days])
        self.month_idx = ym - ym[0]
        self.n_months = int(self.month_idx[-1]) + 1
        self.month_first = [int(np.argmax(self.month_idx == m)) for m in range(self.n_months)]
        self.month_last = [int(self.n_days - 1 - np.argmax(self.month_idx[::-1] == m))
                           for m in range(self.n_months)]
        first_len = self.month_last[0] + 1
        # Days that carry the documented bad input, all in the first month when it is long enough.
        self.bad_calls_day = next(i for i in range(min(2, first_len - 1), self.n_days)
                                  if self.days[i].weekday() != 6)
        self.bad_pay_day = min(4, first_len - 1)
        self.bad_complaint_day = min(5, first_len - 1)
        self.bad_tickets_day = min(9, first_len - 1)
        self.files: dict[str, int] = dict.fromkeys(SOURCES, 0)
        self.rows: dict[str, int] = dict.fromkeys(SOURCES, 0)
        self.month_rows: dict[str, int] = dict.fromkeys(SOURCES, 0)
        self.bad_rows: list[dict] = []
        self.bad_files: list[dict] = []
        self.queues: dict[str, defaultdict[int, list[pl.DataFrame]]] = defaultdict(
            lambda: defaultdict(list))
        self.next_assignment = 1

    def _rng(self, stream: str, day: int = 0) -> np.random.Generator:
        """One generator per (seed, stream, day): a change in one source leaves the others alone."""
        return np.random.default_rng([self.seed, zlib.crc32(stream.encode()), day + 1_000_000])

    def _enqueue(self, name: str, df: pl.DataFrame) -> None:
        """Park rows until the day in their ``day`` column (events that happen later)."""
        df = df.filter(pl.col("day") < self.n_days)
        for (day,), part in df.partition_by("day", as_dict=True, maintain_order=True).items():
            self.queues[name][day].append(part.drop("day"))

    def _dequeue(self, name: str, i: int) -> pl.DataFrame | None:
        parts = self.queues[name].pop(i, None)
        return pl.concat(parts) if parts else None
