"""Small vectorised helpers shared by every part of the generator: epoch days, naive local
timestamps, dates, money in cents, labels from enum indexes, zero-padded ids, overdue buckets.

Time is kept as integers throughout: days since 1970-01-01 ("epoch days") and seconds since
1970-01-01 00:00 lender local time; polars turns them into dates and timestamps when a file is
written.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from kaohe.ingest.contract import bucket_bounds

DAY = 86_400
HOUR = 3_600
NEVER = np.iinfo(np.int64).max // 4  # a day or second that never comes
_EPOCH = date(1970, 1, 1)


def _eday(d: date) -> int:
    return (d - _EPOCH).days


def _date(eday: int) -> date:
    return _EPOCH + timedelta(days=int(eday))


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    y, m = d.year + y, m + 1
    last = (date(y + m // 12, m % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m, min(d.day, last))


def _nullify(s: pl.Series, null: np.ndarray | None) -> pl.Series:
    if null is None or not null.any():
        return s
    frame = pl.DataFrame({"value": s, "keep": ~null})
    return frame.select(pl.when(pl.col("keep")).then(pl.col("value"))).to_series()


def _ts(seconds: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """Naive local timestamps from seconds since 1970-01-01 local time."""
    safe = np.where(null, 0, seconds) if null is not None else seconds
    return _nullify(pl.from_epoch(pl.Series(safe, dtype=pl.Int64), time_unit="s"), null)


def _dates(edays: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    safe = np.where(null, 0, edays) if null is not None else edays
    return _nullify(pl.Series(safe, dtype=pl.Int32).cast(pl.Date), null)


def _money(cents: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """DECIMAL(18,2) from integer cents: exact, and written with exactly two decimals."""
    s = pl.Series(cents, dtype=pl.Int64).cast(pl.Decimal(38, 2)) / 100
    return _nullify(s.cast(pl.Decimal(18, 2)), null)


def _labels(values: tuple[str, ...], codes: np.ndarray, null: np.ndarray | None = None
            ) -> pl.Series:
    return _nullify(pl.Series(values, dtype=pl.String).gather(codes), null)


def _numbered(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    """Ids like ``AS000000123``: prefix + zero-padded number."""
    digits = pl.Series(numbers, dtype=pl.Int64).cast(pl.String).str.zfill(width)
    return pl.select(pl.concat_str(pl.lit(prefix), digits)).to_series()


def _seq(prefix: str, n: int, width: int, first: int = 1) -> pl.Series:
    return _numbered(prefix, np.arange(first, first + n), width)


# the upper bounds of the contract's buckets but the last (kaohe/ingest/contract.yaml)
_BUCKET_UPTO = np.array([upto for _, upto in bucket_bounds()[:-1]])


def _bucket(dpd: np.ndarray) -> np.ndarray:
    """The index of the contract's bucket of each dpd (0..6 for M1..M6, M6+); dpd 0 counts M1."""
    return np.searchsorted(_BUCKET_UPTO, np.maximum(dpd, 1), side="left")


def _first_per(keys: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Of the positions ``idx`` (in time order), the first one per key, still in time order."""
    _, first = np.unique(keys[idx], return_index=True)
    return idx[np.sort(first)]


def _ymd_int(edays: np.ndarray) -> np.ndarray:
    """Epoch days to YYYYMMDD integers."""
    dt = np.datetime64("1970-01-01", "D") + edays.astype("timedelta64[D]")
    y = dt.astype("datetime64[Y]").astype(np.int64) + 1970
    m = dt.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (dt - dt.astype("datetime64[M]")).astype(np.int64) + 1
    return y * 10_000 + m * 100 + d


def _before_per_key(keys: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """For each position, how many earlier positions (in array order) of the same key carry each
    flag: ``keys`` nonnegative integers, ``flags`` of shape (n,) or (n, k), bools or counts; the
    result has the shape of ``flags`` (int64)."""
    n = len(keys)
    if n and int(keys.max()) < (1 << 62) // n:  # key then position, sorted faster than stably
        order = np.argsort(keys.astype(np.int64) * n + np.arange(n))
    else:
        order = np.argsort(keys, kind="stable")
    f = flags[order].astype(np.int64)
    before = np.cumsum(f, axis=0) - f  # nondecreasing, so a running maximum finds each key's base
    k = keys[order]
    start = np.ones(len(k), bool)
    start[1:] = k[1:] != k[:-1]
    before -= np.maximum.accumulate(np.where(start[:, None] if f.ndim == 2 else start,
                                             before, 0), axis=0)
    out = np.empty_like(before)
    out[order] = before
    return out


def _offsets(sizes: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Within consecutive groups of ``sizes`` (each > 0) rows, the running sum of ``steps``
    before each row (0 for a group's first row)."""
    cs = np.cumsum(steps) - steps
    first = np.cumsum(sizes) - sizes
    return cs - np.repeat(cs[first], sizes)
