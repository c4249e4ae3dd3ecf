"""One day's call attempts as the dialler (``calls``) hands them on: ``_Calls``, what the day
loop gives the parts that react to calls (payments, QA flags, QA reviews, surveys, complaints,
tickets, plans, costs); and the legal contact rules the generator plants breaches of, judged the
way ``sql/intermediate/contact_rule_calls.sql`` judges them (``contact_rule_flags``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from kaohe.generate.util import DAY, HOUR, _before_per_key

# The legal contact rules (config contact_rules, as the shipped configuration has them): answered
# calls (connected_debtor, connected_third_party) at most ANSWERED_CAP an agent, debtor and
# calendar day (GB/T 45251-2025); unanswered attempts at most UNANSWERED_CAP an agent, dialled
# number and day (China Banking Association, 2026); no call started before LEGAL_HOURS[0]:00 or
# at/after LEGAL_HOURS[1]:00.
ANSWERED_CAP, UNANSWERED_CAP = 3, 6
LEGAL_HOURS = (8, 22)
RULES = ("answered_over_cap", "unanswered_over_cap", "curfew")


@dataclass
class _Calls:
    """One day's call attempts, in file order (numpy arrays; ``ids`` as a polars Series)."""

    case: np.ndarray
    agent: np.ndarray
    t: np.ndarray
    off: np.ndarray  # started in the curfew (before 08:00 or from 22:00)
    over_cap: np.ndarray  # beyond a legal daily cap (answered per debtor, unanswered per number)
    debtor_calls: np.ndarray  # attempts on the call's debtor that day, by every agent (pressure)
    outcome: np.ndarray
    duration: np.ndarray
    ids: pl.Series
    tickets: pl.DataFrame  # tickets a promise hangs on (case, agent, type, opened, closed ...)


def contact_rule_flags(agent: np.ndarray, debtor: np.ndarray, number: np.ndarray,
                       answered: np.ndarray, t: np.ndarray, debtors: int, numbers: int
                       ) -> np.ndarray:
    """One day's calls in file order (started_at, then call_id) judged by the legal contact
    rules: a (calls, 3) bool array in ``RULES`` order. An answered call is over its cap when more
    than ANSWERED_CAP of the agent's answered calls to the debtor that day came before or with it,
    an unanswered attempt when more than UNANSWERED_CAP of the agent's unanswered attempts to the
    number did; the curfew is the hour of the start. ``debtor`` and ``number`` are indexes below
    ``debtors`` and ``numbers`` (one per distinct number dialled)."""
    agent, answered = agent.astype(np.int64), answered.astype(np.int64)
    ones = np.ones(len(agent), np.int64)
    by_debtor = (agent * debtors + debtor) * 2 + answered
    by_number = (agent * numbers + number) * 2 + answered
    hour = t % DAY // HOUR
    return np.column_stack([
        (answered == 1) & (_before_per_key(by_debtor, ones) >= ANSWERED_CAP),
        (answered == 0) & (_before_per_key(by_number, ones) >= UNANSWERED_CAP),
        (hour < LEGAL_HOURS[0]) | (hour >= LEGAL_HOURS[1]),
    ])
