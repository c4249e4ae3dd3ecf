"""One day's call attempts as the dialler (``calls``) hands them on: ``_Calls``, what the day
loop gives the parts that react to calls (payments, QA flags, QA reviews, surveys, complaints,
tickets, plans, costs)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass
class _Calls:
    """One day's call attempts, in file order (numpy arrays; ``ids`` as a polars Series)."""

    case: np.ndarray
    agent: np.ndarray
    t: np.ndarray
    off: np.ndarray
    outcome: np.ndarray
    duration: np.ndarray
    debtor_calls: np.ndarray  # attempts on the call's debtor that day (over-cap pressure)
    ids: pl.Series
    tickets: pl.DataFrame  # tickets a promise hangs on (case, agent, type, opened, closed ...)
