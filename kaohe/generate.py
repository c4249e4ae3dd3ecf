"""Sample landing folder for kaohe: realistic, seeded and vectorised (``kaohe generate``).

What it is for: tests, the demo and the benchmarks need a landing folder that follows the data
contract (``../shared/spec/data-contract.md``) and exercises every rule of the metric dictionary
(``../shared/spec/metrics.md``): skill-risk mismatch, over-cap and off-hours calls, kept, partial,
late and broken promises, reversals (some in the next month), payments nobody holds the case for,
complaints without agent or case, verdicts re-delivered later, a one-vote veto, hardship plans.

Layout: ``<out>/<source>/<source>_<YYYYMMDD>[_<seq>].<ext>`` for the 14 sources, plus
``<out>/_manifest.json`` (files and rows per source, the documented bad rows and bad file).

File formats, chosen so that ingestion meets every format the contract allows:

- ``calls``: UTF-8 ``.csv``; Sundays ``.csv.gz``.
- ``qa_flags``: ``.csv.gz``.
- ``repayments``: ``.parquet`` (amount DECIMAL(18,2), paid_at TIMESTAMP, strings), except one
  ``repayments_<date>_02.csv`` in the first month holding a few good rows and the bad rows.
- ``complaints``: CSV encoded GB18030 (as Chinese Windows tools export it); free-text descriptions
  in Chinese with markup (``<script>``, ``<b>``), quotes, commas, line breaks and debtor PII.
- ``agents``: UTF-8 CSV with BOM (as Excel writes it); one snapshot has an extra ``wechat_id``
  column (schema drift).
- everything else: UTF-8 CSV without BOM.

CSV: header row, comma, ``"`` quoting where needed, empty string = null, timestamps
``YYYY-MM-DD HH:MM:SS`` (lender local time, no offset), dates ``YYYY-MM-DD``, amounts with exactly
2 decimals, booleans ``true``/``false``.

Delivery: snapshots (agents on the start day, the 1st of each month and every Monday; cases on the
start day and the 1st of each month, new cases entering on later 1sts); events in the file of the
day they happen, re-delivered under the same key when they change (assignment released, complaint
verdict, ticket closed, plan status, training completed, violation confirmed); macro one file per
quarter touched, dated the quarter's first day (possibly before the start).

Bad input (first month only; the manifest gives the physical line, header = line 1): in one calls
``.csv`` ``bad_type``, ``unknown_enum``, ``duplicate_key`` (the later line), ``missing_value``,
``out_of_range``, ``malformed_row``; in ``repayments_<date>_02.csv`` ``unknown_reversal``,
``out_of_range``, ``bad_type``; in one complaints file ``out_of_range``; in the first cases
snapshot ``bad_type`` (a row with PII); one ``tickets_<date>.csv`` without ``opened_at``
(``missing_column``: the day's real tickets are in ``tickets_<date>_02.csv``). Every other row is
valid.

How: one pass over the days. Each day is vectorised over cases, calls, payments ... with numpy
and written with polars; Python loops only over days, sources, labels and a few categories.
State carried across days lives in per-case and per-agent arrays; events due on a later day
(a kept promise, a reversal, a verdict, a ticket closure) wait in per-day queues. Every random
draw comes from a generator seeded by (seed, stream, day), so one seed gives byte-identical files
(gzip with mtime 0).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from kaohe import _gen_names as vocab


@dataclass(frozen=True)
class Scale:
    """Size of the simulated collection centre.

    ``calls_per_agent_day`` is per agent and calendar day (weekends are lighter, so a working day
    carries more). ``new_cases_per_month`` is the share of the initial case book that enters on
    the 1st of every later month.
    """

    name: str
    agents: int
    teams: int
    cases: int
    calls_per_agent_day: int
    sites: int
    aggressive_agents: int
    major_violations: int
    new_cases_per_month: float = 0.15


SCALES: dict[str, Scale] = {
    "small": Scale("small", agents=60, teams=6, cases=6_000, calls_per_agent_day=80, sites=2,
                   aggressive_agents=2, major_violations=2),
    "medium": Scale("medium", agents=300, teams=30, cases=100_000, calls_per_agent_day=330,
                    sites=4, aggressive_agents=3, major_violations=2),
    "large": Scale("large", agents=2_000, teams=200, cases=1_000_000, calls_per_agent_day=500,
                   sites=6, aggressive_agents=10, major_violations=3),
}

# The contract's columns, in the contract's order (the header of every file).
COLUMNS: dict[str, tuple[str, ...]] = {
    "agents": ("agent_id", "agent_name", "team_id", "team_name", "manager_email", "site", "level",
               "hire_date", "employment_type", "agency_id", "base_salary", "status", "email"),
    "cases": ("case_id", "debtor_id", "debtor_name", "debtor_phone", "debtor_id_number",
              "product", "region_code", "industry", "risk_score", "hardship_flag", "principal"),
    "assignments": ("assignment_id", "case_id", "agent_id", "assigned_at", "released_at",
                    "dpd_at_assignment", "amount_due"),
    "calls": ("call_id", "case_id", "agent_id", "started_at", "duration_s", "outcome",
              "ptp_amount", "ptp_due_date", "recording_id"),
    "qa_flags": ("call_id", "label", "confidence", "model_version"),
    "repayments": ("payment_id", "case_id", "paid_at", "amount", "payment_type", "reversal_of",
                   "channel"),
    "complaints": ("complaint_id", "case_id", "agent_id", "received_at", "channel", "category",
                   "severity", "substantiated", "description"),
    "violations": ("violation_id", "agent_id", "occurred_on", "violation_type", "severity",
                   "confirmed"),
    "trainings": ("enrolment_id", "agent_id", "course_id", "course_type", "due_date",
                  "completed_on", "score", "passed"),
    "surveys": ("survey_id", "call_id", "case_id", "agent_id", "responded_at", "score"),
    "costs": ("cost_id", "agent_id", "incurred_on", "cost_type", "amount"),
    "tickets": ("ticket_id", "case_id", "agent_id", "ticket_type", "opened_at", "closed_at",
                "outcome"),
    "plans": ("plan_id", "case_id", "agent_id", "plan_type", "created_at", "status",
              "social_referral"),
    "macro": ("quarter", "region_code", "industry", "unemployment_rate", "prosperity_index",
              "dso_benchmark_days"),
}
SOURCES: tuple[str, ...] = tuple(COLUMNS)

FORMATS: dict[str, str] = {
    "calls": "UTF-8 .csv; Sundays .csv.gz",
    "qa_flags": "UTF-8 .csv.gz",
    "repayments": ".parquet (amount DECIMAL(18,2), paid_at TIMESTAMP); bad rows in a _02.csv",
    "complaints": "CSV encoded GB18030",
    "agents": "UTF-8 CSV with BOM; one snapshot has an extra wechat_id column",
    "other": "UTF-8 CSV without BOM",
    "csv": "header row, comma, \" quoting, empty = null, ts YYYY-MM-DD HH:MM:SS local, "
           "date YYYY-MM-DD, amounts 2 decimals, booleans true/false",
}

# Contract enums; numpy arrays hold their index.
OUTCOMES = ("no_answer", "busy", "invalid_number", "voicemail", "connected_debtor",
            "connected_third_party")
NO_ANSWER, BUSY, INVALID, VOICEMAIL, RPC, THIRD = range(6)
PRODUCTS = ("cash_loan", "credit_card", "installment")
INDUSTRIES = ("foreign_trade", "pharma_distribution", "manufacturing", "retail", "construction",
              "it", "other")
PAY_CHANNELS = ("bank_transfer", "app", "auto_debit", "offline")
QA_LABELS = ("threat", "abuse", "insult", "privacy_disclosure", "false_promise", "empathy")
COMPLAINT_CHANNELS = ("hotline", "regulator", "internet", "app")
COMPLAINT_CATEGORIES = ("harassment", "abusive_language", "third_party_disclosure",
                        "privacy_leak", "fee_dispute", "other")
VIOLATION_TYPES = ("private_collection_of_funds", "falsified_repayment_record",
                   "violent_collection", "privacy_breach", "unauthorized_disclosure", "other")
TICKET_TYPES = ("legal_signoff", "fee_waiver", "restructuring_approval")
PLAN_TYPES = ("installment", "restructuring", "hardship_relief")
PLAN_STATUSES = ("active", "completed", "defaulted", "cancelled")
COST_TYPES = ("telecom", "sms", "field_visit", "legal", "outsourcing_fee")
LEVELS = ("L1", "L2", "L3", "L4")

DAY = 86_400
HOUR = 3_600
NEVER = np.iinfo(np.int64).max // 4  # a day or second that never comes
_EPOCH = date(1970, 1, 1)
CSV_FORMAT = {"datetime_format": "%Y-%m-%d %H:%M:%S", "date_format": "%Y-%m-%d",
              "null_value": "", "quote_style": "necessary"}

# Share of agents at work by weekday (Mon..Sun): collection centres run 7 days, thinner at weekends.
PRESENCE = np.array([0.94, 0.94, 0.94, 0.94, 0.94, 0.70, 0.50])
# Dialling hours 08..20 (the article's 08:00-21:00 window) with the usual morning/afternoon peaks.
CALL_HOURS = np.arange(8, 21)
CALL_HOUR_P = np.array([6, 10, 11, 9, 4, 6, 9, 10, 9, 7, 6, 8, 5], dtype=float)
CALL_HOUR_P /= CALL_HOUR_P.sum()
OFF_HOURS = np.array([7, 21, 22])
# By bucket M1..M6, M6+: early buckets get dialled more and answer more.
BUCKET_CALL_WEIGHT = np.array([1.3, 1.15, 1.0, 0.9, 0.85, 0.8, 0.7])
RPC_BASE = np.array([0.30, 0.26, 0.22, 0.19, 0.17, 0.15, 0.11])
# Promise horizon 1..14 days: "by Friday" and "on payday" are the usual answers.
PTP_DAYS_P = np.array([3, 3, 3, 3, 3, 2, 4, 1, 1, 1, 1, 1, 1, 2], dtype=float)
PTP_DAYS_P /= PTP_DAYS_P.sum()
# Native types in the core-banking Parquet export.
REPAYMENTS_PARQUET = pa.schema([
    ("payment_id", pa.string()), ("case_id", pa.string()), ("paid_at", pa.timestamp("us")),
    ("amount", pa.decimal128(18, 2)), ("payment_type", pa.string()),
    ("reversal_of", pa.string()), ("channel", pa.string()),
])
SALARY_BAND = (np.array([1_500, 3_000, 4_500, 6_000]), np.array([3_000, 4_500, 6_000, 9_000]))
EMAIL_DOMAIN = "xinhe-cf.example.com"


# --------------------------------------------------------------------------------------------
# Small vectorised helpers


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


def _bucket(dpd: np.ndarray) -> np.ndarray:
    """0..6 for M1..M6, M6+ (metrics.md: M1 1-30 ... M6 151-180, M6+ >= 181)."""
    return np.minimum((np.maximum(dpd, 1) - 1) // 30, 6)


def _first_per(keys: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Of the positions ``idx`` (in time order), the first one per key, still in time order."""
    _, first = np.unique(keys[idx], return_index=True)
    return idx[np.sort(first)]


def _csv_line(values: list[str]) -> str:
    """One hand-written CSV line (only for the documented bad rows)."""
    out = [f'"{v.replace(chr(34), chr(34) * 2)}"' if any(c in v for c in ',"\n') else v
           for v in values]
    return ",".join(out) + "\n"


def _people(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Chinese names (surname + 1-2 given-name characters) and their pinyin, vectorised."""
    sur = np.array([s for s, _ in vocab.SURNAMES])
    sur_py = np.array([p for _, p in vocab.SURNAMES])
    giv = np.array([g for g, _ in vocab.GIVEN_CHARS])
    giv_py = np.array([p for _, p in vocab.GIVEN_CHARS])
    w = 1 / np.arange(1, len(sur) + 1) ** 0.9  # surname frequency falls roughly with rank
    si = rng.choice(len(sur), n, p=w / w.sum())
    g1, g2 = rng.integers(0, len(giv), n), rng.integers(0, len(giv), n)
    two = rng.random(n) < 0.65
    name = np.strings.add(np.strings.add(sur[si], giv[g1]), np.where(two, giv[g2], ""))
    py = np.strings.add(np.strings.add(sur_py[si], giv_py[g1]), np.where(two, giv_py[g2], ""))
    return name, py


def _chinese_number(n: np.ndarray) -> np.ndarray:
    """1..999 as Chinese numerals (一, 十二, 一百零五 ...), vectorised."""
    dig = np.array(vocab.CHINESE_DIGITS)
    h, t, u = n // 100, n // 10 % 10, n % 10
    hundreds = np.where(h > 0, np.strings.add(dig[h], "百"), "")
    tens = np.where(t > 0, np.where((t == 1) & (h == 0), "十", np.strings.add(dig[t], "十")),
                    np.where((h > 0) & (u > 0), "零", ""))
    units = np.where(u > 0, dig[u], "")
    return np.strings.add(np.strings.add(hundreds, tens), units)


def _ymd_int(edays: np.ndarray) -> np.ndarray:
    """Epoch days to YYYYMMDD integers."""
    dt = np.datetime64("1970-01-01", "D") + edays.astype("timedelta64[D]")
    y = dt.astype("datetime64[Y]").astype(np.int64) + 1970
    m = dt.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (dt - dt.astype("datetime64[M]")).astype(np.int64) + 1
    return y * 10_000 + m * 100 + d


def resident_id_check(first17: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11-2 check character of 18-digit PRC resident IDs (GB 11643), vectorised."""
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    total = np.zeros(len(first17), dtype=np.int64)
    for k, w in enumerate(weights):  # 17 digit positions, not rows
        total += (first17 // 10 ** (16 - k)) % 10 * w
    return np.array(list("10X98765432"))[total % 11]


# --------------------------------------------------------------------------------------------
# The generator


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


class _Generator:
    """Plans the centre, then walks the days writing each source's files."""

    def __init__(self, out: Path, start: date, months: int, seed: int, scale: Scale,
                 progress: Callable[[str], None] | None):
        if months < 1:
            raise ValueError("months must be at least 1")
        self.out, self.start, self.months, self.seed, self.scale = out, start, months, seed, scale
        self.progress = progress or (lambda _msg: None)
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

    # ---- planning ---------------------------------------------------------------------------

    def _plan_agents(self) -> None:
        """Roster: teams, levels, tenure, outsourcing, leavers, new hires, promotions."""
        sc, rng, d0 = self.scale, self._rng("agents"), self.d0
        n0 = sc.agents
        mondays = np.array([i for i, d in enumerate(self.days) if d.weekday() == 0 and i > 0])
        # HR onboards on Mondays, so a new hire is in the Monday snapshot before holding cases.
        n_hire = max(1, round(n0 * 0.03 * self.months)) if len(mondays) else 0
        n = n0 + n_hire
        level = np.concatenate([rng.choice(4, n0, p=[0.35, 0.33, 0.21, 0.11]),
                                rng.choice(2, n_hire, p=[0.85, 0.15])]).astype(np.int8)
        lo, hi = np.array([90, 180, 700, 1_100]), np.array([420, 1_100, 2_200, 3_600])
        tenure = rng.integers(lo[level[:n0]], hi[level[:n0]])
        trainee = (level[:n0] == 0) & (rng.random(n0) < 0.3)  # under 3 months in the job
        tenure = np.where(trainee, rng.integers(10, 90, n0), tenure)
        hire = np.concatenate([d0 - tenure, d0 + rng.choice(mondays, n_hire)
                               if n_hire else np.empty(0, np.int64)]).astype(np.int64)
        # Staff numbers follow hiring order.
        order = np.concatenate([np.argsort(hire[:n0], kind="stable"),
                                n0 + np.argsort(hire[n0:], kind="stable")])
        level, hire = level[order], hire[order]
        team = np.concatenate([rng.permutation(np.arange(n0) % sc.teams),
                               rng.integers(0, sc.teams, n_hire)])
        outsourced = rng.random(n) < 0.2
        n_agencies = max(2, sc.teams // 5)
        salary = rng.integers(SALARY_BAND[0][level], SALARY_BAND[1][level] + 1) // 100 * 10_000

        leave = np.full(n, NEVER, dtype=np.int64)
        leavers = rng.choice(n0, rng.binomial(n0, min(0.3, 0.015 * self.months)), replace=False)
        leave[leavers] = d0 + rng.integers(5, max(6, self.n_days), len(leavers))
        candidates = np.flatnonzero((np.arange(n) < n0) & (level <= 1) & (leave == NEVER)
                                    & (hire <= d0 - 60))
        aggressive_idx = rng.choice(candidates, min(sc.aggressive_agents, len(candidates)),
                                    replace=False)
        aggressive = np.zeros(n, bool)
        aggressive[aggressive_idx] = True

        # Levels and salaries per calendar month: a few promotions take effect on the 1st.
        levels = np.empty((self.n_months, n), np.int8)
        salaries = np.empty((self.n_months, n), np.int64)
        levels[0], salaries[0] = level, salary
        for m in range(1, self.n_months):  # months, not rows
            first = d0 + self.month_first[m]
            promote = ((levels[m - 1] < 3) & (hire <= first - 90) & (leave > first)
                       & (rng.random(n) < 0.04))
            levels[m] = levels[m - 1] + promote
            band = rng.integers(SALARY_BAND[0][levels[m]], SALARY_BAND[1][levels[m]] + 1)
            salaries[m] = np.where(promote, np.maximum(salaries[m - 1], band // 100 * 10_000),
                                   salaries[m - 1])

        self.violations = self._plan_violations(rng, n, hire, leave, aggressive_idx)
        # A confirmed major violation ends the contract a few days after it is registered.
        major = self.violations.filter(pl.col("severity") == "major")
        gone = major["day"].to_numpy() + 3
        keep = gone < self.n_days
        leave[major["agent"].to_numpy()[keep]] = d0 + gone[keep]

        names, py = _people(rng, n)
        numbers = np.arange(1, n + 1)
        ids = _numbered("A", numbers, 5)
        team_no = np.arange(1, sc.teams + 1)
        width = max(2, len(str(sc.teams)))
        team_ids = _numbered("T", team_no, width)
        _, mgr_py = _people(rng, sc.teams)  # managers appear only as their e-mail address
        mgr_email = np.strings.add(np.strings.add(mgr_py, ".t"),
                                   np.strings.zfill(team_no.astype(str), width))
        site = np.array(vocab.SITES[: sc.sites])[np.arange(sc.teams) * sc.sites // sc.teams]
        email = np.strings.add(np.strings.add(py, np.strings.zfill(numbers.astype(str), 4)),
                               "@" + EMAIL_DOMAIN)
        self.ag = _Agents(
            n=n, n0=n0, hire=hire, leave=leave, team=team, levels=levels, salaries=salaries,
            outsourced=outsourced, aggressive=aggressive,
            productivity=rng.lognormal(0, 0.12, n),
            skill=np.array([0.9, 1.0, 1.08, 1.15])[level],
            ids=ids,
            static=pl.DataFrame({
                "agent_id": ids,
                "agent_name": pl.Series(names),
                "team_id": team_ids.gather(team),
                "team_name": pl.Series(np.strings.add(np.strings.add(
                    "催收", _chinese_number(team_no)), "组")).gather(team),
                "manager_email": pl.Series(np.strings.add(mgr_email, "@" + EMAIL_DOMAIN)
                                           ).gather(team),
                "site": pl.Series(site).gather(team),
                "hire_date": _dates(hire),
                "employment_type": _labels(("in_house", "outsourced"), outsourced.astype(int)),
                "agency_id": _nullify(_numbered("AG", team % n_agencies + 1, 2), ~outsourced),
                "email": pl.Series(email),
            }),
            wechat=pl.Series(np.strings.add("wx_", py)).scatter(
                np.flatnonzero(rng.random(n) < 0.3), None),
        )

    def _plan_violations(self, rng: np.random.Generator, n: int, hire: np.ndarray,
                         leave: np.ndarray, aggressive_idx: np.ndarray) -> pl.DataFrame:
        """The compliance register: rare minor ones and a couple of confirmed major ones."""
        sc, d0 = self.scale, self.d0
        # Major (one-vote veto): violent collection by an aggressive agent, then private collection
        # of funds and falsified records by others; spread over the months, the first in month 1.
        majors = []
        others = np.setdiff1d(np.flatnonzero((leave == NEVER) & (hire <= d0 - 60)),
                              aggressive_idx)
        for j in range(sc.major_violations):  # a handful of planned events
            m = j % self.n_months
            first, last = self.month_first[m], self.month_last[m]
            occurred = first + int((last - first) * rng.uniform(0.2, 0.6))
            agent = aggressive_idx[0] if j == 0 and len(aggressive_idx) else rng.choice(others)
            kind = ("violent_collection", "private_collection_of_funds",
                    "falsified_repayment_record")[j % 3]
            majors.append((agent, occurred, VIOLATION_TYPES.index(kind), 1, occurred + 1 + j, 1))
        k = rng.poisson(sc.agents * 0.03 * self.months)
        w = np.where(np.isin(np.arange(n), aggressive_idx), 8.0, 1.0)  # the usual suspects
        agent = rng.choice(n, k, p=w / w.sum())
        occurred = rng.integers(0, self.n_days, k)
        kind = rng.choice([3, 4, 5], k, p=[0.35, 0.25, 0.40])
        file_day = occurred + rng.integers(1, 11, k)
        state = rng.choice([0, 1, 2], k, p=[0.45, 0.38, 0.17])  # 0 under review, 1 yes, 2 no
        ok = (hire[agent] <= d0 + occurred) & (leave[agent] > d0 + occurred)
        minors = np.column_stack([agent, occurred, kind, np.zeros(k, int), file_day, state])[ok]
        table = np.vstack([np.array(majors, dtype=np.int64).reshape(-1, 6), minors])
        nv = len(table)
        v = pl.DataFrame(table.astype(np.int64), orient="row",
                         schema=["agent", "occurred", "kind", "major", "day", "state"])
        v = v.with_columns(final=pl.Series(np.where(rng.random(nv) < 0.7, 1, 2)),
                           later=pl.col("day") + pl.Series(rng.integers(5, 16, nv)))
        v = v.sort("day", "agent", "occurred", maintain_order=True)
        v = v.with_columns(no=pl.int_range(1, pl.len() + 1))
        # Those first registered "under review" are re-delivered with the verdict.
        review = v.filter(pl.col("state") == 0).with_columns(day="later", state="final")
        v = pl.concat([v, review]).filter(pl.col("day") < self.n_days)
        return v.select(
            "day",
            "agent",
            violation_id=pl.concat_str(pl.lit("VL"), pl.col("no").cast(pl.String).str.zfill(6)),
            occurred_on=(pl.col("occurred") + d0).cast(pl.Int32).cast(pl.Date),
            violation_type=pl.col("kind").replace_strict(dict(enumerate(VIOLATION_TYPES))),
            severity=pl.when(pl.col("major") == 1).then(pl.lit("major")).otherwise(pl.lit("minor")),
            confirmed=pl.when(pl.col("state") == 0).then(None).otherwise(pl.col("state") == 1),
        )

    def _plan_cases(self) -> None:
        """Case book: debtors with PII, products, risk, industry, overdue age, initial holders."""
        sc, rng, d0 = self.scale, self._rng("cases"), self.d0
        n0 = sc.cases
        n_new = round(n0 * sc.new_cases_per_month)
        entry = np.concatenate([np.zeros(n0, np.int64)]
                               + [np.full(n_new, self.month_first[m], np.int64)
                                  for m in range(1, self.n_months)])
        nc = len(entry)
        # Debtors: most have one case, some two or three; new cases bring new debtors.
        owner_parts, nd = [], 0
        for size in [n0] + [n_new] * (self.n_months - 1):  # one batch per month
            per = rng.choice([1, 2, 3], size, p=[0.86, 0.11, 0.03])
            k = int(np.searchsorted(np.cumsum(per), size)) + 1
            owner = np.repeat(np.arange(k), per[:k])[:size]
            owner_parts.append(nd + owner[rng.permutation(size)])
            nd += int(owner.max()) + 1 if size else 0
        debtor = np.concatenate(owner_parts)

        prov_codes = np.array([int(c) for c, _, _ in vocab.PROVINCES])
        prov_w = np.array([w for _, _, w in vocab.PROVINCES])
        home = rng.choice(len(prov_codes), nd, p=prov_w / prov_w.sum())
        born = np.where(rng.random(nd) < 0.8, home,
                        rng.choice(len(prov_codes), nd, p=prov_w / prov_w.sum()))
        area = prov_codes[born] + rng.integers(1, 13, nd) * 100 + rng.integers(1, 26, nd)
        birth = _ymd_int(d0 - rng.integers(20 * 365, 59 * 365, nd))
        first17 = area * 10 ** 11 + birth * 1_000 + rng.integers(1, 1_000, nd)
        id_number = np.strings.add(np.strings.zfill(first17.astype(str), 17),
                                   resident_id_check(first17))
        phone = (np.array(vocab.PHONE_PREFIXES)[rng.integers(0, len(vocab.PHONE_PREFIXES), nd)]
                 * 10 ** 8 + rng.integers(0, 10 ** 8, nd)).astype(str)
        names, _ = _people(rng, nd)
        industry = rng.choice(7, nd, p=[0.12, 0.08, 0.22, 0.18, 0.12, 0.08, 0.20])
        self.hardship = rng.random(nd) < 0.05
        self.contact = rng.beta(4, 3, nd) / (4 / 7)  # how reachable the debtor is, mean 1
        self.bad_phone = rng.random(nd) < 0.07
        debtor_risk = rng.beta(2.2, 1.8, nd) * 1000

        product = rng.choice(3, nc, p=[0.5, 0.25, 0.25])
        median = np.array([12_000, 20_000, 6_000])[product]
        sigma = np.array([0.7, 0.8, 0.6])[product]
        principal = np.clip(rng.lognormal(np.log(median), sigma), 1_000, 300_000) // 100 * 10_000
        principal = principal.astype(np.int64)
        self.instalment = (principal * np.array([1 / 12, 0.1, 1 / 6])[product]).astype(np.int64)
        region = np.where(rng.random(nc) < 0.92, prov_codes[home[debtor]],
                          rng.choice(prov_codes, nc))

        # Overdue age at the start: a realistic M1..M6+ book (M6+ about 16 %).
        init = np.arange(nc) < n0
        b = rng.choice(7, nc, p=[0.30, 0.15, 0.12, 0.10, 0.09, 0.08, 0.16])
        dpd0 = np.where(b < 6, rng.integers(30 * b + 1, 30 * b + 31),
                        181 + np.minimum(rng.exponential(150, nc), 700).astype(np.int64))
        new_dpd = rng.integers(1, 6, nc)  # new cases arrive 1-5 days past due
        self.ovd = np.where(init, d0 - dpd0, d0 + entry - new_dpd).astype(np.int64)
        risk = np.clip(debtor_risk[debtor] + rng.normal(0, 40, nc) + np.where(init, 12 * b, 0),
                       0, 1000)
        self.risk_now = risk.round().astype(np.int64)
        due0 = np.where(b < 6, self.instalment * (b + 1) * rng.uniform(1.0, 1.08, nc),
                        principal * rng.uniform(0.7, 1.15, nc))
        due0 = np.minimum(due0, principal * 1.15).astype(np.int64)
        new_due = (self.instalment * rng.uniform(1.0, 1.05, nc)).astype(np.int64)
        self.remaining = np.maximum(np.where(init, due0, new_due), 100)

        self.nc, self.nd, self.entry, self.case_debtor = nc, nd, entry, debtor
        self.industry = industry[debtor]
        self.case_ids = _seq("C", nc, 7)
        self.case_static = pl.DataFrame({
            "case_id": self.case_ids,
            "debtor_id": _numbered("D", debtor + 1, 7),
            "debtor_name": pl.Series(names).gather(debtor),
            "debtor_phone": pl.Series(phone).gather(debtor),
            "debtor_id_number": pl.Series(id_number).gather(debtor),
            "product": _labels(PRODUCTS, product),
            "region_code": pl.Series(region.astype(str)),
            "industry": _labels(INDUSTRIES, industry[debtor]),
        })
        self.principal = principal

        # Holding state, one slot per case (the current assignment).
        self.closed = np.zeros(nc, bool)
        self.close_pending = np.zeros(nc, bool)
        self.cur_asg = np.full(nc, -1, np.int64)
        self.cur_agent = np.full(nc, -1, np.int64)
        self.last_agent = np.full(nc, -1, np.int64)
        self.cur_at = np.zeros(nc, np.int64)
        self.cur_dpd = np.zeros(nc, np.int64)
        self.cur_due = np.zeros(nc, np.int64)
        self.rel_day = np.full(nc, NEVER, np.int64)
        self.pend_t = np.full(nc, NEVER, np.int64)
        self.ptp_due = np.full(nc, -1, np.int64)
        self.has_plan = np.zeros(nc, bool)
        self.plan_active = np.zeros(nc, bool)
        # New cases get their first holder 0-2 days after they enter, in the night batch.
        later = ~init
        self.pend_t[later] = ((d0 + entry[later] + rng.integers(0, 3, later.sum())) * DAY
                              + rng.integers(HOUR, 6 * HOUR, later.sum()))

        # Initial holders: assigned when the case entered its current bucket (before the start).
        idx = np.flatnonzero(init)
        bi = b[idx]
        entered = np.where(bi < 6, self.ovd[idx] + 30 * bi + 1,
                           self.ovd[idx] + 181 + 90 * ((dpd0[idx] - 181) // 90))
        day = np.minimum(entered + rng.integers(0, 3, len(idx)), d0)
        agent = self._choose_agents(rng, 0, idx)
        day = np.maximum(day, self.ag.hire[agent] + 3)
        at = day * DAY + rng.integers(HOUR, 6 * HOUR, len(idx))
        order = np.argsort(at, kind="stable")  # assignment numbers follow time
        number = np.empty(len(idx), np.int64)
        number[order] = np.arange(1, len(idx) + 1)
        self.next_assignment = len(idx) + 1
        self.cur_asg[idx], self.cur_agent[idx], self.last_agent[idx] = number, agent, agent
        self.cur_at[idx], self.cur_dpd[idx] = at, day - self.ovd[idx]
        self.cur_due[idx] = self.remaining[idx]
        rel = self._release_day(rng, idx, day, self.cur_dpd[idx])
        self.rel_day[idx] = np.where(rel <= d0, d0 + rng.integers(1, 31, len(idx)), rel)
        self.initial_assignments = idx[order]

    def _release_day(self, rng: np.random.Generator, cases: np.ndarray, day: np.ndarray,
                     dpd: np.ndarray) -> np.ndarray:
        """Cases move to the next bucket's queue when they roll (30-day buckets); M6+ cases are
        reallocated every 2-3 months (outsourcing cycles)."""
        b = _bucket(dpd)
        roll = self.ovd[cases] + 30 * (b + 1) + 1 + rng.integers(0, 3, len(cases))
        rel = np.where(b == 6, day + rng.integers(60, 91, len(cases)), roll)
        return np.where(rel - day < 5, rel + 30, rel)  # never for less than a few days

    def _choose_agents(self, rng: np.random.Generator, i: int, cases: np.ndarray) -> np.ndarray:
        """Allocation: high-risk cases mostly to senior agents, but some reach L1 trainees (the
        skill-risk mismatch the scorecard must show); M6+ favours outsourcers and seniors."""
        ag, d = self.ag, self.d0 + i
        cand = np.flatnonzero((ag.hire + 3 <= d) & (ag.leave > d + 2))
        level = ag.levels[self.month_idx[i], cand]
        fresh = np.where(d - ag.hire[cand] < 30, 0.6, 1.0)
        weights = (
            np.array([1.1, 1.0, 0.9, 0.7])[level] * fresh,
            np.array([0.35, 1.0, 2.2, 2.8])[level] * fresh,
            np.array([0.5, 1.0, 1.5, 1.5])[level] * np.where(ag.outsourced[cand], 3, 1) * fresh,
        )
        dpd = d - self.ovd[cases]
        cat = np.where(self.risk_now[cases] >= 800, 1, np.where(dpd >= 181, 2, 0))
        pos = np.empty(len(cases), np.int64)
        for c, w in enumerate(weights):  # three risk categories
            sel = cat == c
            pos[sel] = rng.choice(len(cand), sel.sum(), p=w / w.sum())
        # A case moves on to someone else: never back to the agent who just released it.
        same = cand[pos] == self.last_agent[cases]
        pos[same] = (pos[same] + 1 + rng.integers(0, max(1, len(cand) - 1), same.sum())) % len(
            cand)
        return cand[pos]

    def _plan_trainings(self) -> pl.DataFrame:
        """Enrolments (mandatory each quarter + onboarding, simulations, electives) and the day
        each is delivered: once when announced, again when completed."""
        rng, ag, d0 = self._rng("trainings"), self.ag, self.d0
        end = d0 + self.n_days
        # Mandatory courses due each quarter from 12 months before the start to the year's end.
        first_q = _date(d0 - 365)
        quarters = []
        y, q = first_q.year, (first_q.month - 1) // 3 + 1
        while y <= self.days[-1].year:  # quarters, not rows
            quarters.append((y, q))
            y, q = (y + 1, 1) if q == 4 else (y, q + 1)
        due = np.array([_eday(date(y, 3 * q, 20)) for y, q in quarters])
        course = [f"MAND-{vocab.MANDATORY_TOPICS[q - 1]}-{y}" for y, q in quarters]
        a = np.repeat(np.arange(ag.n), len(due))
        c = np.tile(np.arange(len(due)), ag.n)
        keep = (ag.hire[a] <= due[c] - 30) & (due[c] >= d0 - 365)
        a, c = a[keep], c[keep]
        mand_due, mand_course = due[c], np.array(course)[c]
        onboard = np.flatnonzero((ag.hire >= d0 - 365) & (ag.hire < end))
        m_agent = np.concatenate([a, onboard])
        m_due = np.concatenate([mand_due, ag.hire[onboard] + 30])
        m_course = np.concatenate([mand_course, np.full(len(onboard), "MAND-ONBOARDING")])
        m_announce = np.concatenate([mand_due - 45, ag.hire[onboard]])
        k = len(m_agent)
        u = rng.random(k)  # 90 % on time, 4 % late, 3.5 % failed, the rest never done
        late, failed, never = (u >= 0.90) & (u < 0.94), (u >= 0.94) & (u < 0.975), u >= 0.975
        done = np.where(late, m_due + rng.integers(1, 26, k), m_due - rng.integers(0, 41, k))
        done = np.where(failed, m_due - rng.integers(0, 21, k), done)
        done = np.maximum(done, np.maximum(m_announce, ag.hire[m_agent]))
        done = np.where(never, NEVER, done)
        m_score = np.where(failed, rng.integers(60, 120, k) * 50,
                           np.clip(np.round(rng.normal(86, 7, k) * 2), 120, 200) * 50)

        # Simulated conflict scenarios each quarter (quarterly competency score).
        sims = []
        y, q = self.start.year, (self.start.month - 1) // 3 + 1
        while _eday(date(y, 3 * q - 2, 1)) < end:  # quarters of the period
            sims.append((y, q))
            y, q = (y + 1, 1) if q == 4 else (y, q + 1)
        s_first = np.array([_eday(date(y, 3 * q - 2, 1)) for y, q in sims])
        s_due = np.array([_eday(_add_months(date(y, 3 * q - 2, 1), 3)) - 1 for y, q in sims])
        a = np.repeat(np.arange(ag.n), len(sims))
        c = np.tile(np.arange(len(sims)), ag.n)
        keep = ag.hire[a] <= s_due[c] - 14
        a, c = a[keep], c[keep]
        ks = len(a)
        s_done = np.maximum(s_first[c], ag.hire[a]) + rng.integers(10, 81, ks)
        s_done = np.where((rng.random(ks) < 0.05) | (s_done > s_due[c]), NEVER, s_done)
        s_score = np.clip(np.round(rng.normal(75, 13, ks)), 40, 100).astype(np.int64) * 100

        # A few electives, announced when completed.
        per = rng.poisson(0.25 * self.months, ag.n)
        e_agent = np.repeat(np.arange(ag.n), per)
        ke = len(e_agent)
        e_done = d0 + rng.integers(0, self.n_days, ke)
        e_course = np.array(vocab.ELECTIVE_COURSES)[rng.integers(0, len(vocab.ELECTIVE_COURSES),
                                                                 ke)]
        e_score = np.clip(np.round(rng.normal(82, 8, ke) * 2), 0, 200).astype(np.int64) * 50

        agent = np.concatenate([m_agent, a, e_agent])
        sim_course = np.array([f"SIM-{y}Q{q}" for y, q in sims])
        t = pl.DataFrame({
            "agent": agent,
            "leave": ag.leave[agent],
            "course_id": np.concatenate([m_course, sim_course[c], e_course]),
            "type": np.concatenate([np.zeros(k, int), np.full(ks, 2), np.ones(ke, int)]),
            "announce": np.concatenate([m_announce, np.maximum(s_first[c], ag.hire[a]), e_done]),
            "due": np.concatenate([m_due, s_due[c], e_done + rng.integers(0, 31, ke)]),
            "done": np.concatenate([done, s_done, e_done]),
            "score": np.concatenate([m_score, s_score, e_score]),
        })
        t = t.with_columns(first=pl.max_horizontal("announce", pl.lit(d0))).filter(
            (pl.col("first") < end) & (pl.col("leave") > pl.col("first")))
        t = t.sort("first", "agent", "course_id", maintain_order=True)
        t = t.with_columns(enrolment_id=_seq("EN", t.height, 7))
        # Delivered when announced (done or not yet), and again on completion if that is later.
        first = t.with_columns(day=pl.col("first") - d0,
                               completed=pl.col("done") <= pl.col("first"))
        again = t.filter((pl.col("done") > pl.col("first")) & (pl.col("done") < end)).with_columns(
            day=pl.col("done") - d0, completed=pl.lit(True))
        completed = pl.col("completed")
        return pl.concat([first, again]).select(
            "day",
            "agent",
            "enrolment_id",
            "course_id",
            course_type=pl.col("type").replace_strict({0: "mandatory", 1: "elective",
                                                       2: "simulation"}),
            due_date=pl.col("due").cast(pl.Int32).cast(pl.Date),
            completed_on=pl.when(completed).then(pl.col("done")).cast(pl.Int32).cast(pl.Date),
            score=pl.when(completed).then(
                (pl.col("score").cast(pl.Decimal(38, 2)) / 100).cast(pl.Decimal(18, 2))),
            passed=pl.when(completed).then(pl.col("score") >= 6_000),
        )

    # ---- writing ----------------------------------------------------------------------------

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

    # ---- the day loop -----------------------------------------------------------------------

    def run(self) -> dict:
        self.out.mkdir(parents=True, exist_ok=True)
        self._plan_agents()
        self._plan_cases()
        trainings = self._plan_trainings()
        self.trainings = trainings.partition_by("day", as_dict=True)
        self.violations_by_day = self.violations.partition_by("day", as_dict=True)
        # Per agent at work; 1.2 makes up for the attempts the daily cap and idle agents remove.
        self.calls_target = 1.2 * self.scale.calls_per_agent_day / PRESENCE.mean()
        self._write_macro()
        snapshot_days = [i for i, d in enumerate(self.days) if i == 0 or d.day == 1
                         or d.weekday() == 0]
        self.wechat_day = snapshot_days[1] if len(snapshot_days) > 1 else 0
        for i in range(self.n_days):
            if i == 0 or self.days[i].day == 1:
                self._cases_snapshot(i)
            if i in snapshot_days:
                self._agents_snapshot(i)
            self._assignments(i)
            calls = self._calls(i)
            self._repayments(i, calls)
            self._qa_flags(i, calls)
            self._surveys(i, calls)
            self._complaints(i, calls)
            self._tickets(i, calls)
            self._plans(i, calls)
            self._costs(i, calls)
            self._from_plan("violations", self.violations_by_day, i)
            self._from_plan("trainings", self.trainings, i)
            self._report(i)
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
        }
        (self.out / "_manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return manifest

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

    def _enqueue(self, name: str, df: pl.DataFrame) -> None:
        """Park rows until the day in their ``day`` column (events that happen later)."""
        df = df.filter(pl.col("day") < self.n_days)
        for (day,), part in df.partition_by("day", as_dict=True, maintain_order=True).items():
            self.queues[name][day].append(part.drop("day"))

    def _dequeue(self, name: str, i: int) -> pl.DataFrame | None:
        parts = self.queues[name].pop(i, None)
        return pl.concat(parts) if parts else None

    def _from_plan(self, source: str, planned: dict, i: int) -> None:
        """Write the planned rows (violations, trainings) delivered on day ``i``."""
        rows = planned.get((i,))
        if rows is not None:
            df = rows.with_columns(agent_id=self.ag.ids.gather(rows["agent"].to_numpy()))
            self._write(source, self.days[i], df.select(COLUMNS[source]))

    # ---- snapshots --------------------------------------------------------------------------

    def _agents_snapshot(self, i: int) -> None:
        ag, d = self.ag, self.d0 + i
        m = self.month_idx[i]
        here = np.flatnonzero(ag.hire <= d)
        df = ag.static[here].with_columns(
            level=_labels(LEVELS, ag.levels[m, here]),
            base_salary=_money(ag.salaries[m, here]),
            status=_labels(("active", "left"), (ag.leave[here] <= d).astype(int)),
        ).select(COLUMNS["agents"])
        if i == self.wechat_day:  # schema drift: HR added a column one week
            df = df.with_columns(wechat_id=ag.wechat[here])
        self._write("agents", self.days[i], df, bom=True)

    def _cases_snapshot(self, i: int) -> None:
        rng, m = self._rng("cases.month", i), self.month_idx[i]
        if m > 0:  # monthly re-scoring, and a few debtors register hardship
            self.risk_now = np.clip(self.risk_now + rng.normal(0, 25, self.nc).round(), 0, 1000
                                    ).astype(np.int64)
            self.hardship |= rng.random(self.nd) < 0.004
        n = int(np.searchsorted(self.entry, i, side="right"))
        df = self.case_static.head(n).with_columns(
            risk_score=pl.Series(self.risk_now[:n]),
            hardship_flag=pl.Series(self.hardship[self.case_debtor[:n]]),
            principal=_money(self.principal[:n]),
        ).select(COLUMNS["cases"])
        if i != 0:
            self._write("cases", self.days[i], df)
            return
        # The documented bad row: a risk score that is not a number, on a row full of PII.
        row = df.row(min(7, n - 1), named=True)
        fields = [str(v).lower() if isinstance(v, bool) else str(v) for v in row.values()]
        fields[0] = f"C{self.nc + 1:07d}"
        fields[1] = f"D{self.nd + 1:07d}"
        fields[COLUMNS["cases"].index("risk_score")] = "abc"
        self._write_with_bad("cases", self.days[i], df, min(40, n),
                             [("bad_type", "risk_score", "abc", fields)])

    def _write_macro(self) -> None:
        """Quarterly indicators per province and industry (plus a region-wide row)."""
        base_rng = self._rng("macro")
        regions = np.array([c for c, _, _ in vocab.PROVINCES])
        base_unemployment = base_rng.uniform(4.3, 6.3, len(regions))
        # Industry effects: the article's high-risk industries (foreign trade, pharma) suffer.
        ind_unemp = np.array([0.9, 0.5, 0.3, 0.2, 0.7, -0.3, 0.0, 0.0])
        ind_prosp = np.array([-6.0, -4.0, -1.0, 1.0, -3.0, 3.0, 0.0, 0.0])
        ind_dso = np.array([95, 110, 70, 45, 120, 60, 75, 75])
        y, q = self.start.year, (self.start.month - 1) // 3 + 1
        while _eday(date(y, 3 * q - 2, 1)) < self.d0 + self.n_days:  # quarters of the period
            rng = self._rng("macro", y * 4 + q)
            r = np.repeat(np.arange(len(regions)), 8)
            k = np.tile(np.arange(8), len(regions))  # 7 industries + the region-wide row (7)
            drift = rng.normal(0, 0.15, len(regions))[r]
            unemp = base_unemployment[r] + ind_unemp[k] + drift
            prosp = 100 + ind_prosp[k] + rng.normal(0, 1.5, len(r))
            dso = ind_dso[k] + rng.normal(0, 5, len(r)).round().astype(np.int64)
            df = pl.DataFrame({
                "quarter": pl.Series([f"{y}Q{q}"] * len(r)),
                "region_code": pl.Series(regions[r]),
                "industry": _labels(INDUSTRIES + ("",), k, null=k == 7),
                "unemployment_rate": _money(np.round(unemp * 100).astype(np.int64)),
                "prosperity_index": _money(np.round(prosp * 100).astype(np.int64)),
                "dso_benchmark_days": pl.Series(dso),
            })
            self._write("macro", date(y, 3 * q - 2, 1), df)
            y, q = (y + 1, 1) if q == 4 else (y, q + 1)

    # ---- events -----------------------------------------------------------------------------

    def _assignments(self, i: int) -> None:
        """Night batch (01:00-06:30): release cases that roll to the next bucket, whose agent
        leaves or that are paid off, then hand out the cases waiting for a holder."""
        rng, d, t0 = self._rng("assignments", i), self.d0 + i, (self.d0 + i) * DAY
        holder = self.cur_agent
        leaving = np.where(holder >= 0, self.ag.leave[np.maximum(holder, 0)], NEVER) == d
        released = np.flatnonzero((self.cur_asg >= 0)
                                  & ((self.rel_day == d) | self.close_pending | leaving))
        rel_t = t0 + rng.integers(HOUR, 5 * HOUR, len(released))
        out = []
        if i == 0:  # holders from before the start, unless released this very night
            initial = self.initial_assignments
            out.append(self._assignment_rows(initial[~np.isin(initial, released)], None))
        out.append(self._assignment_rows(released, rel_t))
        self.closed |= self.close_pending
        self.close_pending[:] = False
        self.pend_t[self.closed] = NEVER
        moving = released[~self.closed[released]]
        # Most cases go straight to the next holder; some wait in the pool for 1-3 days, during
        # which their payments belong to nobody (unattributed).
        gap = rng.random(len(moving)) < 0.28
        wait_days = rng.integers(1, 4, len(moving))
        self.pend_t[moving] = np.where(
            gap, (d + wait_days) * DAY + rng.integers(HOUR, 6 * HOUR, len(moving)),
            rel_t[~self.closed[released]] + rng.integers(60, 1_800, len(moving)))
        self.cur_asg[released] = -1
        self.cur_agent[released] = -1
        self.rel_day[released] = NEVER

        start = np.flatnonzero((self.pend_t >= t0) & (self.pend_t < t0 + DAY))
        if len(start):
            at = self.pend_t[start]
            order = np.lexsort((start, at))
            start, at = start[order], at[order]
            agent = self._choose_agents(rng, i, start)
            dpd = d - self.ovd[start]
            # Rolling into a new bucket adds the next overdue instalment and a late fee.
            rolled = (self.cur_dpd[start] > 0) & (_bucket(dpd) != _bucket(self.cur_dpd[start]))
            add = np.where(rolled & (dpd <= 180), self.instalment[start], 0)
            self.remaining[start] += add + np.where(rolled, self.remaining[start] // 200, 0)
            self.cur_asg[start] = np.arange(self.next_assignment,
                                            self.next_assignment + len(start))
            self.next_assignment += len(start)
            self.cur_agent[start] = self.last_agent[start] = agent
            self.cur_at[start], self.cur_dpd[start] = at, dpd
            self.cur_due[start] = np.maximum(self.remaining[start], 100)
            self.rel_day[start] = self._release_day(rng, start, np.full(len(start), d), dpd)
            self.pend_t[start] = NEVER
            out.append(self._assignment_rows(start, None))
        df = pl.concat(out)
        if df.height:
            self._write("assignments", self.days[i], df)

    def _assignment_rows(self, cases: np.ndarray, released: np.ndarray | None) -> pl.DataFrame:
        """The current assignment of ``cases``; ``released`` (seconds) closes it."""
        released_at = (_ts(released) if released is not None
                       else pl.Series([None] * len(cases), dtype=pl.Datetime("us")))
        return pl.DataFrame({
            "assignment_id": _numbered("AS", self.cur_asg[cases], 9),
            "case_id": self.case_ids.gather(cases),
            "agent_id": self.ag.ids.gather(self.cur_agent[cases]),
            "assigned_at": _ts(self.cur_at[cases]),
            "released_at": released_at,
            "dpd_at_assignment": pl.Series(self.cur_dpd[cases], dtype=pl.Int64),
            "amount_due": _money(self.cur_due[cases]),
        })

    def _calls(self, i: int) -> _Calls:
        """Dialler attempts by the agents at work on the cases they hold: about one a case a
        day, clustered (some debtors get more than 3 a day), mostly 08:00-21:00."""
        rng, ag = self._rng("calls", i), self.ag
        d, t0, day = self.d0 + i, (self.d0 + i) * DAY, self.days[i]
        present = (ag.hire <= d) & (ag.leave > d) & (rng.random(ag.n) < PRESENCE[day.weekday()])
        held = np.flatnonzero(self.cur_agent >= 0)
        h = self.cur_agent[held]
        keep = present[h]
        held, h = held[keep], h[keep]
        w = (BUCKET_CALL_WEIGHT[_bucket(d - self.ovd[held])]
             * np.where(self.ptp_due[held] >= d, 0.35, 1.0))  # a live promise: leave them be
        per_agent = np.bincount(h, weights=w, minlength=ag.n)
        target = self.calls_target * ag.productivity[h] * np.where(ag.aggressive[h], 1.3, 1.0)
        lam = np.minimum(target * w / np.maximum(per_agent[h], 1e-9),
                         np.where(ag.aggressive[h], 4.0, 2.5))  # few cases: dial them less
        k = np.where(ag.aggressive[h], 0.5, 2.5)  # smaller shape = more clustering
        count = rng.poisson(lam * rng.gamma(k, 1 / k))
        # The dialler stops at 3 attempts a case a day, but agents redial by hand now and then,
        # and nothing stops calls on a debtor's other cases: over-cap calls exist, mostly from
        # the aggressive agents.
        manual = rng.random(len(count)) < 0.05
        count = np.where(ag.aggressive[h], count, np.minimum(count, np.where(manual, 5, 3)))
        case, agent = np.repeat(held, count), np.repeat(h, count)
        n = len(case)
        off = rng.random(n) < np.where(ag.aggressive[agent], 0.08, 0.006)
        hour = np.where(off, OFF_HOURS[rng.choice(3, n, p=[0.4, 0.45, 0.15])],
                        CALL_HOURS[rng.choice(len(CALL_HOURS), n, p=CALL_HOUR_P)])
        t = t0 + hour * HOUR + rng.integers(0, HOUR, n)
        order = np.lexsort((case, t))
        case, agent, t, hour, off = case[order], agent[order], t[order], hour[order], off[order]

        debtor = self.case_debtor[case]
        p_rpc = (RPC_BASE[_bucket(d - self.ovd[case])] * self.contact[debtor] * ag.skill[agent]
                 * np.where(hour >= 18, 1.15, 1.0))  # evenings reach more debtors
        u = rng.random(n)
        outcome = np.select(
            [u < p_rpc, u < p_rpc + 0.035, u < p_rpc + 0.125, u < p_rpc + 0.235,
             u < p_rpc + 0.245],
            [RPC, THIRD, VOICEMAIL, BUSY, INVALID], NO_ANSWER).astype(np.int8)
        outcome = np.where(self.bad_phone[debtor],
                           np.where(rng.random(n) < 0.85, INVALID, NO_ANSWER), outcome)
        duration = np.zeros(n, np.int64)
        rpc, third = outcome == RPC, outcome == THIRD
        duration[rpc] = np.clip(rng.lognormal(np.log(95), 0.85, rpc.sum()), 4, 1_800)
        duration[third] = np.clip(rng.lognormal(np.log(35), 0.6, third.sum()), 3, 600)

        # Promises to pay: about a third of right-party contacts, at most one a case a day.
        live = self.ptp_due[case] >= d
        p_ptp = (np.where(duration >= 60, 0.42, np.where(duration >= 30, 0.25, 0.05))
                 * np.where(live, 0.3, 1.0))
        ptp_idx = _first_per(case, np.flatnonzero(rpc & (rng.random(n) < p_ptp)))
        ptp = np.zeros(n, bool)
        ptp[ptp_idx] = True
        pc = case[ptp_idx]
        rem = self.remaining[pc]
        share = np.where(rng.random(len(pc)) < 0.35, 1.0, rng.uniform(0.15, 0.7, len(pc)))
        amount = np.clip(np.round(rem * share / 1_000) * 1_000, np.minimum(5_000, rem), rem)
        amount = amount.astype(np.int64)
        due = d + 1 + rng.choice(14, len(pc), p=PTP_DAYS_P)
        self.ptp_due[pc] = due
        self._schedule_promised_payments(rng, i, pc, t[ptp_idx], amount, due)
        ptp_amount = np.zeros(n, np.int64)
        ptp_due = np.zeros(n, np.int64)
        ptp_amount[ptp_idx], ptp_due[ptp_idx] = amount, due

        ymd = f"{day:%Y%m%d}"
        ids = _seq(f"CL{ymd}", n, 7)
        connected = rpc | third
        df = pl.DataFrame({
            "call_id": ids,
            "case_id": self.case_ids.gather(case),
            "agent_id": ag.ids.gather(agent),
            "started_at": _ts(t),
            "duration_s": pl.Series(duration),
            "outcome": _labels(OUTCOMES, outcome),
            "ptp_amount": _money(ptp_amount, null=~ptp),
            "ptp_due_date": _dates(ptp_due, null=~ptp),
            "recording_id": _seq(f"RC{ymd}", n, 7).scatter(np.flatnonzero(~connected), None),
        })
        if i == self.bad_calls_day:
            self._bad_calls(df, ymd, n)
        else:
            self._write("calls", day, df, ext="csv.gz" if day.weekday() == 6 else "csv")
        debtor_calls = np.bincount(debtor, minlength=self.nd)[debtor]
        return _Calls(case, agent, t, off, outcome, duration, debtor_calls, ids)

    def _bad_calls(self, df: pl.DataFrame, ymd: str, n: int) -> None:
        """The documented bad call rows, each with exactly one fault, after data row 15. They
        are made from unanswered calls (no promise, no recording), so nothing else changes."""
        quiet = df.filter(pl.col("ptp_amount").is_null() & pl.col("recording_id").is_null())
        base = [line.split(",") for line in
                quiet.head(6).write_csv(include_header=False, **CSV_FORMAT).splitlines()]
        col = COLUMNS["calls"].index
        extra = iter(range(n + 1, n + 10))

        def row(k: int, **changes: str) -> list[str]:
            fields = list(base[k])
            fields[0] = f"CL{ymd}{next(extra):07d}"
            for name, value in changes.items():
                fields[col(name)] = value
            return fields

        day = f"{ymd[:4]}-{ymd[4:6]}-{ymd[6:]}"
        bad = [
            ("bad_type", "started_at", f"{day} 25:61:00", row(1, started_at=f"{day} 25:61:00")),
            ("unknown_enum", "outcome", "hung_up", row(2, outcome="hung_up")),
            ("duplicate_key", "call_id", base[0][0], [base[0][0], *base[3][1:]]),
            ("missing_value", "call_id", "", ["", *base[4][1:]]),
            ("out_of_range", "duration_s", "-5", row(5, duration_s="-5")),
            ("malformed_row", None, "extra", row(1) + ["extra"]),
        ]
        self._write_with_bad("calls", self.days[self.bad_calls_day], df, min(15, df.height), bad)

    def _schedule_promised_payments(self, rng: np.random.Generator, i: int, cases: np.ndarray,
                                    call_t: np.ndarray, amount: np.ndarray, due: np.ndarray
                                    ) -> None:
        """About half of promises are kept in full by the due date; some are partial, some a day
        late, the rest broken."""
        k, d = len(cases), self.d0 + i
        u = rng.random(k)
        kept, partial, late = u < 0.55, (u >= 0.55) & (u < 0.66), (u >= 0.66) & (u < 0.72)
        pay_day = np.where(rng.random(k) < 0.45, due, d + rng.integers(0, due - d + 1))
        pay_day = np.where(late, due + 1, pay_day)
        rounded_up = -(-amount // 10_000) * 10_000
        part = (amount * rng.uniform(0.3, 0.9, k) // 1_000 * 1_000).astype(np.int64)
        cents = np.where(kept & (rng.random(k) < 0.12), rounded_up, amount)
        cents = np.where(partial, part, cents)
        happens = (kept | late | (partial & (part > 0))) & (cents > 0)
        t = pay_day * DAY + rng.integers(8 * HOUR, 23 * HOUR, k)
        # Paid on the day of the call: after the call.
        t = np.where(pay_day == d, np.minimum(np.maximum(t, call_t + 300 + rng.integers(
            0, HOUR, k)), pay_day * DAY + DAY - 1), t)
        channel = rng.choice([0, 1, 3], k, p=[0.38, 0.55, 0.07])
        self._enqueue("payments", pl.DataFrame({
            "day": pay_day[happens] - self.d0, "case": cases[happens], "t": t[happens],
            "cents": cents[happens], "channel": channel[happens].astype(np.int8),
            "reversal_of": pl.Series([None] * int(happens.sum()), dtype=pl.String)}))

    def _repayments(self, i: int, calls: _Calls) -> None:
        """Promised and spontaneous payments (auto-debit at night, app, bank, counter) and
        reversals of earlier payments (1-20 days later, a claw-back for the agent)."""
        rng, d, day = self._rng("repayments", i), self.d0 + i, self.days[i]
        open_ = np.flatnonzero((self.entry <= i) & ~self.closed & ~self.close_pending
                               & (self.remaining > 0))
        p = 0.0035 * np.where(self.plan_active[open_], 6.0, 1.0)
        sp = open_[rng.random(len(open_)) < p]
        ch = rng.choice(4, len(sp), p=[0.20, 0.35, 0.40, 0.05])
        lo, hi = np.array([9, 7, 2, 9])[ch], np.array([17, 23, 6, 17])[ch]
        t = d * DAY + rng.integers(lo * HOUR, hi * HOUR)
        rem, inst = self.remaining[sp], self.instalment[sp]
        cents = np.where(ch == 2, np.minimum(inst, rem),
                         np.where(rng.random(len(sp)) < 0.08, rem,
                                  np.minimum(inst * rng.choice([1, 1, 1, 2, 3], len(sp)), rem)))
        spontaneous = pl.DataFrame({"case": sp, "t": t, "cents": np.maximum(cents, 1),
                                    "channel": ch.astype(np.int8),
                                    "reversal_of": pl.Series([None] * len(sp), dtype=pl.String)})
        queued = self._dequeue("payments", i)
        df = pl.concat([queued, spontaneous]) if queued is not None else spontaneous
        # A promise paid after the case was settled another way is not paid.
        case = df["case"].to_numpy()
        settled = self.closed[case] | self.close_pending[case]
        df = df.filter(pl.Series(~settled | df["reversal_of"].is_not_null().to_numpy()))
        df = df.sort("t", "case", maintain_order=True)
        ymd = f"{day:%Y%m%d}"
        df = df.with_columns(payment_id=_seq(f"PY{ymd}", df.height, 7))
        case, cents = df["case"].to_numpy(), df["cents"].to_numpy()
        is_rev = df["reversal_of"].is_not_null().to_numpy()
        np.subtract.at(self.remaining, case[~is_rev], cents[~is_rev])
        np.add.at(self.remaining, case[is_rev], cents[is_rev])
        self.close_pending |= (self.remaining <= 0) & ~self.closed

        # About 1 % of payments bounce or are recalled later.
        rev = np.flatnonzero(~is_rev & (rng.random(df.height) < 0.01))
        rev_day = i + rng.integers(1, 21, len(rev))
        self._enqueue("payments", pl.DataFrame({
            "day": rev_day, "case": case[rev],
            "t": (self.d0 + rev_day) * DAY + rng.integers(9 * HOUR, 18 * HOUR, len(rev)),
            "cents": cents[rev], "channel": df["channel"].to_numpy()[rev],
            "reversal_of": df["payment_id"].gather(rev)}))

        out = pl.DataFrame({
            "payment_id": df["payment_id"],
            "case_id": self.case_ids.gather(case),
            "paid_at": _ts(df["t"].to_numpy()),
            "amount": _money(cents),
            "payment_type": _labels(("payment", "reversal"), is_rev.astype(int)),
            "reversal_of": df["reversal_of"],
            "channel": _labels(PAY_CHANNELS, df["channel"].to_numpy()),
        })
        if i == self.bad_pay_day:
            good = np.flatnonzero(~is_rev)[:4]
            csv_rows = out[good]
            out = out.filter(~pl.Series(np.isin(np.arange(out.height), good)))
            self._bad_repayments(csv_rows, ymd, df.height)
        if out.height:
            path = self._path("repayments", day, "parquet")
            pq.write_table(out.to_arrow().cast(REPAYMENTS_PARQUET), path, compression="zstd")
            self._count("repayments", out.height)

    def _bad_repayments(self, good: pl.DataFrame, ymd: str, n: int) -> None:
        day = self.days[self.bad_pay_day]
        case = good["case_id"][0] if good.height else self.case_ids[0]
        paid = f"{day:%Y-%m-%d} 10:15:00"
        before = f"PY{_date(self.d0 - 1):%Y%m%d}0000001"  # dated before any payment exists
        bad = [
            ("unknown_reversal", "reversal_of", before,
             [f"PY{ymd}{n + 1:07d}", case, paid, "120.00", "reversal", before, "app"]),
            ("out_of_range", "amount", "0.00",
             [f"PY{ymd}{n + 2:07d}", case, paid, "0.00", "payment", "", "bank_transfer"]),
            ("bad_type", "amount", "12.345",
             [f"PY{ymd}{n + 3:07d}", case, paid, "12.345", "payment", "", "app"]),
        ]
        self._write_with_bad("repayments", day, good, good.height, bad, seq=2)

    def _qa_flags(self, i: int, calls: _Calls) -> None:
        """Speech analytics on connected calls: empathy is common, threats rare except for the
        aggressive agents; confidence spreads around the 0.8 threshold."""
        rng, day = self._rng("qa_flags", i), self.days[i]
        conn = np.flatnonzero((calls.outcome == RPC) | (calls.outcome == THIRD))
        agg = self.ag.aggressive[calls.agent[conn]]
        third = calls.outcome[conn] == THIRD
        base = np.array([0.002, 0.003, 0.004, 0.002, 0.005, 0.07])
        parts = []
        for label, p in enumerate(base):  # six labels
            rate = p * np.where(agg & (label < 3), 10, 1) * np.where(third & (label == 3), 8, 1)
            hit = conn[rng.random(len(conn)) < rate]
            a = self.ag.aggressive[calls.agent[hit]]
            conf = np.where(a, rng.beta(8, 1.5, len(hit)), rng.beta(5, 1.6, len(hit)))
            parts.append(pl.DataFrame({"call": hit, "label": np.full(len(hit), label),
                                       "confidence": conf.round(3)}))
        flags = pl.concat(parts).sort("call", "label", maintain_order=True)
        if not flags.height:
            return
        # The speech model is retrained: a new version is rolled out from the third month.
        month = self.start if self.month_idx[i] < 2 else self.days[self.month_first[2]]
        version = f"qa-{_add_months(month.replace(day=1), -1):%Y.%m}"
        df = pl.DataFrame({
            "call_id": calls.ids.gather(flags["call"].to_numpy()),
            "label": _labels(QA_LABELS, flags["label"].to_numpy()),
            "confidence": flags["confidence"],
            "model_version": pl.Series([version] * flags.height),
        })
        self._write("qa_flags", day, df, ext="csv.gz", float_precision=3)

    def _surveys(self, i: int, calls: _Calls) -> None:
        """An SMS survey after ~5 % of right-party contacts, answered within two days."""
        rng, day = self._rng("surveys", i), self.days[i]
        rpc = np.flatnonzero(calls.outcome == RPC)
        s = rpc[rng.random(len(rpc)) < 0.05]
        at = calls.t[s] + np.clip(rng.lognormal(np.log(3 * HOUR), 1.0, len(s)), 300, 47 * HOUR
                                  ).astype(np.int64)
        unhappy = self.ag.aggressive[calls.agent[s]] | (calls.duration[s] < 30)
        score = np.where(unhappy, rng.choice(5, len(s), p=[0.25, 0.2, 0.2, 0.2, 0.15]),
                         rng.choice(5, len(s), p=[0.05, 0.06, 0.13, 0.29, 0.47])) + 1
        self._enqueue("surveys", pl.DataFrame({
            "day": at // DAY - self.d0,
            "call_id": calls.ids.gather(s).scatter(np.flatnonzero(rng.random(len(s)) < 0.1),
                                                   None),
            "case": calls.case[s], "agent": calls.agent[s], "t": at, "score": score}))
        today = self._dequeue("surveys", i)
        if today is None:
            return
        today = today.sort("t", "case", maintain_order=True)
        df = pl.DataFrame({
            "survey_id": _seq(f"SV{day:%Y%m%d}", today.height, 5),
            "call_id": today["call_id"],
            "case_id": self.case_ids.gather(today["case"].to_numpy()),
            "agent_id": self.ag.ids.gather(today["agent"].to_numpy()),
            "responded_at": _ts(today["t"].to_numpy()),
            "score": today["score"],
        })
        self._write("surveys", day, df)

    def _complaints(self, i: int, calls: _Calls) -> None:
        """2-5 complaints per 1,000 cases a month, drawn towards off-hours, over-cap, third-party
        and aggressive calls; verdicts re-delivered 5-20 days later, some stay pending."""
        rng, day = self._rng("complaints", i), self.days[i]
        n_calls = len(calls.case)
        held = int((self.cur_agent >= 0).sum())
        k = rng.poisson(held * 2.8 / 1000 / 30) if n_calls else 0
        if k:
            agg = self.ag.aggressive[calls.agent]
            over = calls.debtor_calls > 3
            third = calls.outcome == THIRD
            w = (1 + 2.0 * (calls.outcome >= RPC) + 15.0 * calls.off + 6.0 * agg + 8.0 * over)
            pick = np.unique(rng.choice(n_calls, k, p=w / w.sum()))
            k = len(pick)
            cat = rng.choice(6, k, p=[0.25, 0.15, 0.12, 0.10, 0.25, 0.13])
            cat = np.where((calls.off[pick] | over[pick]) & (rng.random(k) < 0.7), 0, cat)
            cat = np.where(third[pick] & (rng.random(k) < 0.6), 2, cat)
            cat = np.where(agg[pick] & (rng.random(k) < 0.5), 1, cat)
            channel = rng.choice(4, k, p=[0.45, 0.15, 0.15, 0.25])
            severity = rng.choice([1, 2, 3], k, p=[0.5, 0.35, 0.15])
            severity = np.where(channel == 1, np.maximum(severity, 2), severity)
            who = rng.choice(3, k, p=[0.72, 0.20, 0.08])  # both known / no agent / no case
            verdict = rng.choice(3, k, p=[0.45, 0.40, 0.15])  # true / false / stays pending
            verdict = np.where(agg[pick] & (rng.random(k) < 0.6), 0, verdict)
            received = calls.t[pick] + rng.integers(HOUR // 2, 60 * HOUR, k)
            self._enqueue("complaints", pl.DataFrame({
                "day": received // DAY - self.d0,
                "t": received,
                "case": calls.case[pick], "agent": calls.agent[pick],
                "channel": channel, "category": cat, "severity": severity, "who": who,
                "verdict": verdict, "verdict_in": rng.integers(5, 21, k),
                "description": self._complaint_text(rng, cat, calls.case[pick]),
            }))
        new = self._dequeue("complaints", i)
        verdicts = self._dequeue("verdicts", i)
        parts = []
        if new is not None:
            new = new.sort("t", "case", maintain_order=True)
            ymd = f"{day:%Y%m%d}"
            who = new["who"].to_numpy()
            rows = pl.DataFrame({
                "complaint_id": _seq(f"CP{ymd}", new.height, 5),
                "case_id": self.case_ids.gather(new["case"].to_numpy()).scatter(
                    np.flatnonzero(who == 2), None),
                "agent_id": self.ag.ids.gather(new["agent"].to_numpy()).scatter(
                    np.flatnonzero(who == 1), None),
                "received_at": _ts(new["t"].to_numpy()),
                "channel": _labels(COMPLAINT_CHANNELS, new["channel"].to_numpy()),
                "category": _labels(COMPLAINT_CATEGORIES, new["category"].to_numpy()),
                "severity": new["severity"],
                "substantiated": pl.Series([None] * new.height, dtype=pl.Boolean),
                "description": new["description"],
            })
            parts.append(rows)
            decided = (new["verdict"] < 2).to_numpy()
            self._enqueue("verdicts", rows.filter(pl.Series(decided)).with_columns(
                substantiated=pl.Series(new["verdict"].to_numpy()[decided] == 0),
                day=pl.Series(i + new["verdict_in"].to_numpy()[decided])))
        if verdicts is not None:
            parts.append(verdicts)
        if not parts and i != self.bad_complaint_day:
            return
        df = pl.concat(parts) if parts else pl.DataFrame(
            schema={c: pl.String for c in COLUMNS["complaints"]})
        if i == self.bad_complaint_day:
            bad_id = f"CP{day:%Y%m%d}99001"
            fields = [bad_id, self.case_ids[0], self.ag.ids[0], f"{day:%Y-%m-%d} 11:20:00",
                      "hotline", "harassment", "7", "", "一天打了二十多次电话，严重骚扰。"]
            self._write_with_bad("complaints", day, df, min(2, df.height),
                                 [("out_of_range", "severity", "7", fields)], encoding="gb18030")
        else:
            self._write("complaints", day, df, encoding="gb18030")

    def _complaint_text(self, rng: np.random.Generator, cat: np.ndarray, cases: np.ndarray
                        ) -> pl.Series:
        """Complainants' free text: Chinese, sometimes with their phone or name (PII), markup,
        quotes, commas or a line break."""
        k = len(cat)
        texts = [np.array(t) for t in vocab.COMPLAINT_TEXTS]
        sizes = np.array([len(t) for t in texts])
        flat = np.concatenate(texts)
        offset = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        main = flat[offset[cat] + rng.integers(0, 1 << 30, k) % sizes[cat]]
        other = flat[rng.integers(0, len(flat), k)]
        suffix = np.array(vocab.COMPLAINT_SUFFIXES)[rng.integers(0, len(vocab.COMPLAINT_SUFFIXES),
                                                                 k)]
        static = self.case_static
        phone = static["debtor_phone"].gather(cases).to_numpy().astype(str)
        name = static["debtor_name"].gather(cases).to_numpy().astype(str)
        markup = np.array(vocab.COMPLAINT_MARKUP)[rng.integers(0, len(vocab.COMPLAINT_MARKUP), k)]
        u = rng.random((4, k))
        text = np.strings.add(np.where(u[0] < 0.08, np.strings.add(np.strings.add("本人", name),
                                                                   "，"), ""), main)
        text = np.strings.add(text, suffix)
        text = np.strings.add(text, np.where(u[1] < 0.12, np.strings.add("联系电话：", phone), ""))
        text = np.strings.add(text, np.where(u[2] < 0.12, markup, ""))
        text = np.strings.add(text, np.where(u[3] < 0.04, np.strings.add("\n补充说明：", other),
                                             ""))
        return pl.Series(text, dtype=pl.String)

    def _tickets(self, i: int, calls: _Calls) -> None:
        """Middle-office requests after a contact; closed hours to days later (re-delivered),
        a few never."""
        rng, day, d = self._rng("tickets", i), self.days[i], self.d0 + i
        rpc = np.flatnonzero(calls.outcome == RPC)
        case = calls.case[rpc]
        risky_industry = self.industry[case] <= 1  # foreign trade, pharma distribution
        hardship = self.hardship[self.case_debtor[case]]
        late_stage = d - self.ovd[case] >= 91
        rates = (np.where(late_stage, 0.006, 0.0), np.full(len(rpc), 0.008),
                 0.004 * np.where(risky_industry | hardship, 3, 1))
        median_hours = (80, 18, 50)
        parts = []
        for kind, p in enumerate(rates):  # three ticket types
            hit = _first_per(calls.case, rpc[rng.random(len(rpc)) < p])
            opened = np.minimum(calls.t[hit] + rng.integers(300, 5_400, len(hit)),
                                d * DAY + DAY - 60)
            hours = rng.lognormal(np.log(median_hours[kind]), 0.9, len(hit))
            closed = opened + (hours * HOUR).astype(np.int64)
            closed = np.where(rng.random(len(hit)) < 0.04, NEVER, closed)
            parts.append(pl.DataFrame({"case": calls.case[hit], "agent": calls.agent[hit],
                                       "type": np.full(len(hit), kind), "opened": opened,
                                       "closed": closed,
                                       "approved": rng.random(len(hit)) < 0.78}))
        new = pl.concat(parts).sort("opened", "case", maintain_order=True)
        rows = pl.DataFrame({
            "ticket_id": _seq(f"TK{day:%Y%m%d}", new.height, 6),
            "case_id": self.case_ids.gather(new["case"].to_numpy()),
            "agent_id": self.ag.ids.gather(new["agent"].to_numpy()),
            "ticket_type": _labels(TICKET_TYPES, new["type"].to_numpy()),
            "opened_at": _ts(new["opened"].to_numpy()),
            "closed_at": _ts(new["closed"].to_numpy()),
            "outcome": _labels(("rejected", "approved"), new["approved"].to_numpy().astype(int)),
        })
        close_day = new["closed"].to_numpy() // DAY - self.d0
        same_day = close_day == i
        open_now = pl.Series(~same_day)
        # Closed the same day: delivered once, closed; otherwise open now, closed later.
        today = rows.with_columns(
            closed_at=pl.when(open_now).then(None).otherwise(pl.col("closed_at")),
            outcome=pl.when(open_now).then(None).otherwise(pl.col("outcome")))
        self._enqueue("ticket_closures", rows.filter(open_now).with_columns(
            day=pl.Series(close_day[~same_day])))
        closures = self._dequeue("ticket_closures", i)
        df = pl.concat([today, closures]) if closures is not None else today
        if i == self.bad_tickets_day:
            # A system change dropped a column: the whole file must be rejected, so the day's
            # real tickets travel in a second file.
            cols = [c for c in COLUMNS["tickets"] if c != "opened_at"]
            phantom = df.head(3).select(cols).with_columns(
                ticket_id=_seq(f"TK{day:%Y%m%d}", min(3, df.height), 6, first=900_001))
            path = self._write("tickets", day, phantom)
            self.bad_files.append({"source": "tickets", "file": f"tickets/{path.name}",
                                   "reason_code": "missing_column", "column": "opened_at"})
            self._write("tickets", day, df, seq=2)
        elif df.height:
            self._write("tickets", day, df)

    def _plans(self, i: int, calls: _Calls) -> None:
        """Instalment and restructuring plans, and hardship relief (with social referrals) for
        debtors in hardship; statuses change later and are re-delivered."""
        rng, day, d = self._rng("plans", i), self.days[i], self.d0 + i
        rpc = np.flatnonzero((calls.outcome == RPC) & ~self.has_plan[calls.case])
        case = calls.case[rpc]
        hardship = self.hardship[self.case_debtor[case]]
        p_relief = np.where(hardship, 0.12, 0.0)
        p_inst = 0.012
        p_restr = 0.003 * np.where((self.industry[case] <= 1) | (d - self.ovd[case] >= 91), 3, 1)
        u = rng.random(len(rpc))
        kind = np.select([u < p_relief, u < p_relief + p_inst, u < p_relief + p_inst + p_restr],
                         [2, 0, 1], -1)
        hit = _first_per(calls.case, rpc[kind >= 0])
        kind = kind[np.searchsorted(rpc, hit)]
        k = len(hit)
        created = np.minimum(calls.t[hit] + rng.integers(600, 7_200, k), d * DAY + DAY - 60)
        referral = rng.random(k) < np.where(kind == 2, 0.35, 0.02)
        u = rng.random(k)
        p_done = np.array([0.10, 0.25, 0.15])[kind]
        status = np.select([u < p_done, u < p_done + 0.2, u < p_done + 0.25], [1, 2, 3], 0)
        lo = np.select([status == 1, status == 2], [np.array([20, 30, 30])[kind], 15], 1)
        hi = np.select([status == 1, status == 2], [np.array([80, 80, 90])[kind], 60], 10)
        change = i + rng.integers(lo, hi + 1)
        self.has_plan[calls.case[hit]] = True
        self.plan_active[calls.case[hit]] = True
        rows = pl.DataFrame({
            "plan_id": _seq(f"PL{day:%Y%m%d}", k, 5),
            "case_id": self.case_ids.gather(calls.case[hit]),
            "agent_id": self.ag.ids.gather(calls.agent[hit]),
            "plan_type": _labels(PLAN_TYPES, kind),
            "created_at": _ts(created),
            "status": _labels(PLAN_STATUSES, np.zeros(k, np.int64)),
            "social_referral": pl.Series(referral),
        })
        later = status > 0
        self._enqueue("plan_changes", rows.filter(pl.Series(later)).with_columns(
            status=_labels(PLAN_STATUSES, status[later]), day=pl.Series(change[later]),
            case=pl.Series(calls.case[hit][later])))
        changes = self._dequeue("plan_changes", i)
        parts = [rows]
        if changes is not None:
            self.plan_active[changes["case"].to_numpy()] = False
            parts.append(changes.drop("case"))
        df = pl.concat(parts)
        if df.height:
            self._write("plans", day, df)

    def _costs(self, i: int, calls: _Calls) -> None:
        """Telecom and SMS per agent-day worked, occasional field visits and legal fees, and the
        agency fee for outsourced agents at month end."""
        rng, ag, day, d = self._rng("costs", i), self.ag, self.days[i], self.d0 + i
        attempts = np.bincount(calls.agent, minlength=ag.n)
        talk = np.bincount(calls.agent, weights=calls.duration, minlength=ag.n)
        worked = np.flatnonzero(attempts > 0)
        nw = len(worked)
        telecom = (attempts[worked] * rng.uniform(6, 10, nw) + talk[worked] / 60 * 12).round()
        sms = rng.poisson(30, nw) * 5
        visit = worked[~ag.outsourced[worked] & (rng.random(nw) < 0.025)]
        legal = worked[rng.random(nw) < 0.006]
        agents = [worked, worked, visit, legal]
        cents = [telecom.astype(np.int64), sms, rng.integers(200, 1_201, len(visit)) * 100,
                 rng.integers(800, 5_001, len(legal)) * 100]
        if i in self.month_last:
            first = self.d0 + self.month_first[self.month_idx[i]]
            fee = np.flatnonzero(ag.outsourced & (ag.hire <= d) & (ag.leave > first))
            agents.append(fee)
            cents.append(rng.integers(3_000, 7_001, len(fee)) * 100)
        kind = np.concatenate([np.full(len(a), k) for k, a in enumerate(agents)])
        agent = np.concatenate(agents)
        order = np.lexsort((kind, agent))
        agent, kind, amount = agent[order], kind[order], np.concatenate(cents)[order]
        if not len(agent):
            return
        df = pl.DataFrame({
            "cost_id": _seq(f"CO{day:%Y%m%d}", len(agent), 6),
            "agent_id": self.ag.ids.gather(agent),
            "incurred_on": _dates(np.full(len(agent), d)),
            "cost_type": _labels(COST_TYPES, kind),
            "amount": _money(amount),
        })
        self._write("costs", day, df)


@dataclass
class _Agents:
    """The roster, one slot per agent (initial agents first, then the period's new hires)."""

    n: int
    n0: int
    hire: np.ndarray
    leave: np.ndarray
    team: np.ndarray
    levels: np.ndarray  # [calendar month, agent] level index 0..3
    salaries: np.ndarray  # [calendar month, agent] cents
    outsourced: np.ndarray
    aggressive: np.ndarray
    productivity: np.ndarray
    skill: np.ndarray
    ids: pl.Series
    static: pl.DataFrame
    wechat: pl.Series


def generate(out: Path, start: date, months: int, seed: int, scale: str = "small",
             progress: Callable[[str], None] | None = print, volume: float = 1.0) -> dict:
    """Write a landing folder following the data contract; return the manifest dict (also
    written to ``out/_manifest.json``).

    ``months`` calendar months from ``start``; ``scale`` one of :data:`SCALES`. Files that already
    exist in ``out`` are overwritten (same seed gives the same bytes); nothing else is deleted.
    ``volume`` multiplies the centre (agents, teams, cases, aggressive agents), so the call
    volume grows by that factor at the same calls per agent-day: the dialler caps the attempts
    per case and day, so more calls on the same cases would not be a realistic month.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
    if volume <= 0:
        raise ValueError("volume must be positive")
    sc = SCALES[scale]
    if volume != 1.0:
        sc = replace(sc, agents=round(sc.agents * volume), teams=round(sc.teams * volume),
                     cases=round(sc.cases * volume),
                     aggressive_agents=round(sc.aggressive_agents * volume))
    return _Generator(Path(out), start, months, seed, sc, progress).run()
