"""Sample landing folder for kaohe: realistic, seeded and vectorised (``kaohe generate``).

What it is for: tests, the demo and the benchmarks need a landing folder that follows the data
contract (``docs/data-contract.md``) and exercises every rule of the metric dictionary
(``docs/metrics.md``): skill-risk mismatch, the legal contact rules (answered calls beyond 3 an
agent, debtor and day; unanswered attempts beyond 6 an agent, dialled number and day; calls in the
22:00-08:00 curfew: see "Contact rules" below), several agents calling one debtor the same day,
kept, partial, late and broken promises (some neutralised: a fee waiver or restructuring approval
the middle office left open past its SLA and the due date), reversals (some in the next month),
payments nobody holds the case for, complaints without agent or case (third-party disclosures
among them), verdicts re-delivered later, privacy-disclosure QA flags, a one-vote veto, hardship
plans.

Layout: ``<out>/<source>/<source>_<YYYYMMDD>[_<seq>].<ext>`` for the 14 sources, plus
``<out>/_manifest.json`` (files and rows per source, the documented bad rows and bad file, each
agent's latent skill, the planted harassers, who broke the contact rules and the debtor
segments' hidden hourly answer curves).

Contact rules: the dialler works like a predictive dialler (``dialler``). A worked case gets a
retry budget spread over the day (one attempt an hour at most, 08:00-21:59, a thin but lawful
21:xx); a debtor reached is left alone but for an occasional follow-up; a number is dropped for
the day after an invalid_number or 6 unanswered attempts; some debtors have a second number (a
contact's or their own second phone), dialled now and then (``calls.dialled_number``: the number
dialled, the debtor's phone on file or the second one). So a hard-to-reach debtor gets several
attempts a day, mostly unanswered (a quarter of the debtor-days with calls have more than 3), all
within the law. The planted harassers (``harassing_agents``; ``roster`` ``aggressive``) dial by
hand and break the rules on most days they work: more than 3 answered calls to one debtor, bursts
of redials past 6 on one number, calls before 08:00 or from 22:00. Ordinary agents break them
rarely, by hand (a redial past the cap, ring-backs, a call in the curfew: a few agent-months in
three), the less careful more (the conduct trait). The manifest gives the ground truth per
calendar month (``YYYY-MM``), counted on the delivered calls as
``sql/intermediate/contact_rule_calls.sql`` counts them: ``contact_rule_breakers`` the agent ids
with at least one breaching call (the harassers among them every month they call), and
``contact_rule_breaches`` each of those agents' breaching calls per rule
(``answered_over_cap``, ``unanswered_over_cap``, ``curfew``).

Skill, not luck: every agent has a latent skill (lognormal around 1, ``roster.SKILL_SIGMA``),
drawn from its own random stream, so independent of level, tenure, team, outsourcing and
therefore of the cases the agent is given (allocation follows level, risk and outsourcing). It is
written to the manifest (``latent_skill``) and to no landing file. It shows through traits that
load on it (``roster.TRAIT_LOADING``; the rest is the agent's own habit): right-party contacts,
promises made, their size and how many are kept (so the amounts collected), survey scores,
mandatory courses and simulations, and inversely complaints, threat/abuse/insult and disclosure
QA flags and the ordinary agents' breaches of the contact rules. The collections per yuan held
follow ``targets.bucket_recoverability`` of ``config/kaohe.yaml`` bucket by bucket, so a
portfolio's bucket mix alone neither helps nor hurts against its target.
``tests/scoring/test_fairness.py`` checks that the scorecard ranks agents by the skill and not by
the portfolio.

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

Where things are (the generator is one class, ``core._Generator``, assembled from one part per
concern; every part builds on ``base`` and ``writer``):

- ``scale``: the size of the simulated centre (``Scale``, ``SCALES``).
- ``schema``: the contract's columns in order, its enums, the file formats.
- ``util``: small vectorised helpers (epoch days, timestamps, money, labels, ids, buckets).
- ``names``: reference vocabularies (names, provinces, courses, complaint texts);
  ``people``: names, Chinese numerals and resident ID numbers built from them.
- ``base``: calendar, seeded random streams, queues of events due later, counters.
- ``writer``: file paths and formats, the documented bad lines, progress, the manifest.
- ``roster``: agents, violations and trainings (planned up front, delivered day by day).
- ``cases``: the case book, its snapshots, and assignments (who holds which case).
- ``dialler``: the day's attempts (worked cases, retries, numbers, outcomes, the legal stops,
  the harassers' and the ordinary agents' breaches); ``windows``: the debtor segments' hidden
  hourly answer curves (``contact_curves`` in the manifest); ``attempts``: the day's calls as
  handed on and the contact rules they are judged by.
- ``calls``: the calls files (with the bad call rows), promises; ``feedback``: QA flags, QA
  reviews and surveys.
- ``payments``: promised and spontaneous repayments, reversals, the bad repayment rows.
- ``conduct``: complaints, middle-office tickets, repayment plans and costs.
- ``macro``: quarterly macro-economic indicators.
- ``core``: the day loop that calls the parts in order (the order of the random draws).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

from kaohe.generate.core import _Generator
from kaohe.generate.people import resident_id_check
from kaohe.generate.scale import SCALES, Scale
from kaohe.generate.schema import COLUMNS, FORMATS, SOURCES
from kaohe.generate.windows import CURVE_KINDS

__all__ = ["COLUMNS", "FORMATS", "SCALES", "SOURCES", "Scale", "generate", "resident_id_check"]


def generate(out: Path, start: date, months: int, seed: int, scale: str = "small",
             progress: Callable[[str], None] | None = print, volume: float = 1.0,
             contact_curves: str = "industry") -> dict:
    """Write a landing folder following the data contract; return the manifest dict (also
    written to ``out/_manifest.json``).

    ``months`` calendar months from ``start``; ``scale`` one of :data:`SCALES`. Files that already
    exist in ``out`` are overwritten (same seed gives the same bytes); nothing else is deleted.
    ``volume`` multiplies the centre (agents, teams, cases, aggressive agents), so the call
    volume grows by that factor at the same calls per agent-day: the dialler caps the attempts
    per case and day, so more calls on the same cases would not be a realistic month.
    ``contact_curves``: ``industry`` (each debtor segment answers best at its own hours,
    ``windows``) or ``flat`` (every hour alike: the null case for the contact windows).
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
    if volume <= 0:
        raise ValueError("volume must be positive")
    if contact_curves not in CURVE_KINDS:
        raise ValueError(f"unknown contact_curves {contact_curves!r}; choose one of "
                         f"{CURVE_KINDS}")
    sc = SCALES[scale]
    if volume != 1.0:
        sc = replace(sc, agents=round(sc.agents * volume), teams=round(sc.teams * volume),
                     cases=round(sc.cases * volume),
                     aggressive_agents=round(sc.aggressive_agents * volume))
    return _Generator(Path(out), start, months, seed, sc, progress,
                      contact_curves=contact_curves).run()
