"""The dialler and what follows each call: the day's call attempts (stream ``calls``) with the
promises to pay made on them and the documented bad call rows, speech-analytics QA flags
(``qa_flags``) and SMS satisfaction surveys (``surveys``).

``_calls`` returns the day's calls as a :class:`_Calls`; the day loop hands it to the parts that
react to calls (payments, QA flags, surveys, complaints, tickets, plans, costs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from kaohe.generate.schema import (
    BUSY,
    COLUMNS,
    CSV_FORMAT,
    INVALID,
    NO_ANSWER,
    OUTCOMES,
    QA_LABELS,
    RPC,
    THIRD,
    VOICEMAIL,
)
from kaohe.generate.util import (
    DAY,
    HOUR,
    _add_months,
    _bucket,
    _cap_per_key,
    _dates,
    _first_per,
    _labels,
    _money,
    _seq,
    _ts,
)
from kaohe.generate.writer import _Writer

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
# The daily contact cap (config metrics.contact_cap_per_day) and the middle office's SLA in hours
# per ticket type (config metrics.ticket_sla_hours: legal_signoff, fee_waiver,
# restructuring_approval), as the shipped configuration has them.
CONTACT_CAP = 3
TICKET_SLA_HOURS = np.array([72, 24, 120])
# How latent skill shows, through the agent's traits (roster.TRAIT_LOADING; t in standard
# deviations): as a multiplier like skill ** e (_Agents.factor) for right-party contacts
# (contact), promises made and the share of the balance promised (negotiation); as a factor
# exp(-k t) (conduct) for own redials past the cap (REDIAL_RATE of an average agent's attempts)
# and off-hours calls.
RPC_SKILL, PTP_SKILL, SHARE_SKILL = 1.0, 0.5, 0.3
REDIAL_RATE, REDIAL_SKILL = 0.004, 1.0
OFF_HOURS_RATE, OFF_HOURS_SKILL = 0.003, 0.9
# By bucket M1..M6, M6+: the chance a promise covers the whole balance, and a factor on the part
# promised otherwise. Calibrated so that the month's collections per yuan held (exposure) follow
# targets.bucket_recoverability of config/kaohe.yaml (M1 1.0 ... M6+ 0.3) at about 0.6 x it (M1
# ~65 %, M6+ ~20 %): an average agent reaches about 85-90 % of the shipped recovery target,
# whatever the bucket mix.
PTP_FULL = np.array([0.25, 0.20, 0.16, 0.12, 0.09, 0.07, 0.04])
PTP_PART = np.array([0.63, 0.56, 0.57, 0.55, 0.52, 0.52, 0.68])
# Speech-analytics labels (QA_LABELS order: threat, abuse, insult, privacy_disclosure,
# false_promise, empathy) per connected call x exp(-QA_SKILL x t), t the conduct trait (the
# service trait for empathy).
QA_SKILL = np.array([0.8, 0.8, 0.8, 0.6, 0.5, -0.4])
# ... and their base rates per connected call (an average agent). A disclosure to a third party is
# rare (about one in 7,000 connected calls, x 8 on third-party contacts): an ordinary agent goes
# most months without a suspected privacy call, so one is worth a review (conduct_alerts).
QA_BASE = np.array([0.002, 0.003, 0.004, 0.00015, 0.005, 0.07])
# Human QA reviews (version 2): the share of connected calls reviewed, in-house and outsourced;
# how often a reviewer confirms a confident / doubtful AI label, and hears what the model missed
# (x the label's base rate); the size of the QA team.
REVIEW_SHARE, REVIEW_SHARE_OUTSOURCED = 0.02, 0.06
REVIEW_AGREE_CONFIDENT, REVIEW_AGREE_DOUBTFUL, REVIEW_MISSED = 0.8, 0.35, 0.6
REVIEWERS = 6
# Survey scores 1..5: after a short or aggressive call; otherwise a mix of a good and a poor
# experience, weighted 1 / (1 + exp(-CSAT_SKILL x t)) to the good one, t the service trait.
CSAT_UNHAPPY = np.array([0.25, 0.2, 0.2, 0.2, 0.15])
CSAT_GOOD = np.array([0.02, 0.02, 0.06, 0.24, 0.66])
CSAT_POOR = np.array([0.08, 0.10, 0.21, 0.33, 0.28])
CSAT_SKILL = 1.2
# Share of promises that hang on a fee waiver or restructuring approval.
PTP_CONDITIONAL = 0.04
# Promise horizon 1..14 days: "by Friday" and "on payday" are the usual answers.
PTP_DAYS_P = np.array([3, 3, 3, 3, 3, 2, 4, 1, 1, 1, 1, 1, 1, 2], dtype=float)
PTP_DAYS_P /= PTP_DAYS_P.sum()


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


class _Dialler(_Writer):
    """Calls, QA flags and surveys."""

    def _calls(self, i: int) -> _Calls:
        """Dialler attempts by the agents at work on the cases they hold: about one a case a
        day, clustered, capped at 3 a debtor a day per product dialler and per agent (some
        debtors still get more), mostly 08:00-21:00; outcomes, promises and their fate follow
        the agent's traits (``roster.TRAIT_LOADING``)."""
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
        # Each product's dialler stops at 3 attempts a debtor a day over all the queues it
        # serves, and each agent's queue at 3 a debtor (all the debtor's cases the agent holds).
        # Agents redial by hand past the cap now and then, the careless ones more: their own
        # over-cap calls, about REDIAL_RATE of an average agent's attempts. The diallers do not
        # see each other, so a debtor with cases of two products held by two agents still gets
        # more than 3 calls some days (the centre's dialler governance, no agent's doing). The
        # aggressive agents dial by hand, uncapped.
        debtor_h = self.case_debtor[held]
        capped = _cap_per_key(debtor_h * np.int64(3) + self.product[held], count, CONTACT_CAP)
        key = h * np.int64(self.nd) + debtor_h
        capped = _cap_per_key(key, capped, CONTACT_CAP)
        _, group = np.unique(key, return_inverse=True)
        at_cap = (np.bincount(group, weights=capped)[group] >= CONTACT_CAP) & (capped > 0)
        attempts = np.bincount(h, weights=capped, minlength=ag.n)
        n_at_cap = np.bincount(h, weights=at_cap, minlength=ag.n)
        redial_rate = np.minimum(REDIAL_RATE * np.exp(-REDIAL_SKILL * ag.traits["conduct"]), 0.08)
        mu = np.minimum(redial_rate * attempts / np.maximum(n_at_cap, 1), 3.0)
        redials = np.where(at_cap, rng.poisson(mu[h]), 0)
        count = np.where(ag.aggressive[h], count, capped + redials)
        case, agent = np.repeat(held, count), np.repeat(h, count)
        n = len(case)
        # Off-hours calls (07:xx, 21:xx-22:xx): careless agents more, the aggressive ones most.
        p_off = np.minimum(OFF_HOURS_RATE * np.exp(-OFF_HOURS_SKILL * ag.traits["conduct"]), 0.05)
        off = rng.random(n) < np.where(ag.aggressive[agent], 0.08, p_off[agent])
        hour = np.where(off, OFF_HOURS[rng.choice(3, n, p=[0.4, 0.45, 0.15])],
                        CALL_HOURS[rng.choice(len(CALL_HOURS), n, p=CALL_HOUR_P)])
        t = t0 + hour * HOUR + rng.integers(0, HOUR, n)
        order = np.lexsort((case, t))
        case, agent, t, hour, off = case[order], agent[order], t[order], hour[order], off[order]

        debtor = self.case_debtor[case]
        # Skilled agents reach the debtor more often (timing, the right number, skip tracing).
        p_rpc = (RPC_BASE[_bucket(d - self.ovd[case])] * self.contact[debtor]
                 * ag.factor("contact", RPC_SKILL)[agent]
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

        # Promises to pay: about a third of right-party contacts (more for skilled agents), at
        # most one a case a day.
        live = self.ptp_due[case] >= d
        p_ptp = (np.where(duration >= 60, 0.42, np.where(duration >= 30, 0.25, 0.05))
                 * np.where(live, 0.3, 1.0) * ag.factor("negotiation", PTP_SKILL)[agent])
        ptp_idx = _first_per(case, np.flatnonzero(rpc & (rng.random(n) < p_ptp)))
        ptp = np.zeros(n, bool)
        ptp[ptp_idx] = True
        pc, pa, kp = case[ptp_idx], agent[ptp_idx], len(ptp_idx)
        rem = self.remaining[pc]
        bucket = _bucket(d - self.ovd[pc])
        # What a debtor can promise shrinks with the overdue age: the whole arrears early on, a
        # part of a large balance later; skilled agents negotiate a little more.
        full = rng.random(kp) < PTP_FULL[bucket]
        negotiation = ag.factor("negotiation", SHARE_SKILL)[pa]
        share = np.where(full, 1.0, np.minimum(
            rng.uniform(0.15, 0.7, kp) * PTP_PART[bucket] * negotiation, 1.0))
        amount = np.clip(np.round(rem * share / 1_000) * 1_000, np.minimum(5_000, rem), rem)
        amount = amount.astype(np.int64)
        due = d + 1 + rng.choice(14, kp, p=PTP_DAYS_P)
        # Some promises hang on the middle office: the debtor pays once a fee waiver (or a
        # restructuring) is approved, and the agent opens the ticket after the call. When the
        # middle office misses its SLA (metrics.ticket_sla_hours) and the due date, the promise
        # breaks through no fault of the agent (the metrics call it neutralised).
        cond = rng.random(kp) < PTP_CONDITIONAL
        kind = np.where(rng.random(kp) < 0.7, 1, 2)  # fee_waiver, restructuring_approval
        due = np.where(cond & (kind == 2), np.maximum(due, d + 6), due)
        opened = np.minimum(t[ptp_idx] + rng.integers(300, 5_400, kp), t0 + DAY - 60)
        sla = TICKET_SLA_HOURS[kind] * HOUR
        stuck = cond & (rng.random(kp) < 0.4)
        closed = np.where(stuck, np.maximum(opened + sla, (due + 1) * DAY)
                          + rng.integers(HOUR, 3 * DAY, kp),
                          opened + (rng.uniform(0.1, 0.9, kp) * sla).astype(np.int64))
        tickets = pl.DataFrame({"case": pc[cond], "agent": pa[cond], "type": kind[cond],
                                "opened": opened[cond], "closed": closed[cond],
                                "approved": rng.random(int(cond.sum())) < 0.8})
        self.ptp_due[pc] = due
        self._schedule_promised_payments(rng, i, pc, pa, t[ptp_idx], amount, due,
                                         np.where(stuck, closed, 0))
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
        return _Calls(case, agent, t, off, outcome, duration, debtor_calls, ids, tickets)

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

    def _qa_flags(self, i: int, calls: _Calls) -> pl.DataFrame:
        """Speech analytics on connected calls: empathy is common, threats rare except for the
        aggressive agents, and both follow latent skill (QA_SKILL); disclosures to third parties
        (privacy_disclosure) mostly on third-party contacts; confidence spreads around the 0.8
        threshold."""
        rng, day = self._rng("qa_flags", i), self.days[i]
        conn = np.flatnonzero((calls.outcome == RPC) | (calls.outcome == THIRD))
        agg = self.ag.aggressive[calls.agent[conn]]
        conduct = self.ag.traits["conduct"][calls.agent[conn]]
        service = self.ag.traits["service"][calls.agent[conn]]
        third = calls.outcome[conn] == THIRD
        base = QA_BASE
        parts = []
        for label, p in enumerate(base):  # six labels
            # the harassers threaten, abuse, insult and tell third parties (x 10)
            rate = (p * np.where(agg & (label < 4), 10, 1) * np.where(third & (label == 3), 8, 1)
                    * np.exp(-QA_SKILL[label] * (service if label == 5 else conduct)))
            hit = conn[rng.random(len(conn)) < rate]
            a = self.ag.aggressive[calls.agent[hit]]
            conf = np.where(a, rng.beta(8, 1.5, len(hit)), rng.beta(5, 1.6, len(hit)))
            parts.append(pl.DataFrame({"call": hit, "label": np.full(len(hit), label),
                                       "confidence": conf.round(3)}))
        flags = pl.concat(parts).sort("call", "label", maintain_order=True)
        if not flags.height:
            return flags
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
        return flags

    def _qa_reviews(self, i: int, calls: _Calls, flags: pl.DataFrame) -> None:
        """Human QA reviews (version 2) of a sample of connected calls, 1-3 days later: about
        REVIEW_SHARE of in-house agents' connected calls and REVIEW_SHARE_OUTSOURCED of the
        outsourced agencies' (the guideline's daily spot check of outsourced recordings), with
        the reviewer's one finding (the most serious). Reviewers agree with a confident AI label
        (confidence >= 0.8) REVIEW_AGREE_CONFIDENT of the time, with a doubtful one
        REVIEW_AGREE_DOUBTFUL, and find on calls the model left unlabelled what it missed at
        REVIEW_MISSED x the label's base rate (x 10 for the aggressive agents' threats, abuse and
        insults): so the AI's precision and recall per label are measurable and imperfect."""
        rng, day = self._rng("qa_reviews", i), self.days[i]
        conn = np.flatnonzero((calls.outcome == RPC) | (calls.outcome == THIRD))
        outsourced = self.ag.outsourced[calls.agent[conn]]
        share = np.where(outsourced, REVIEW_SHARE_OUTSOURCED, REVIEW_SHARE)
        picked = conn[rng.random(len(conn)) < share]
        if not len(picked):
            return
        n = len(picked)
        agg = self.ag.aggressive[calls.agent[picked]]
        # found[k, label]: the reviewer hears label (threat, abuse, insult, privacy_disclosure,
        # false_promise) on call k
        found = np.zeros((n, 5), dtype=bool)
        f = flags.filter(pl.col("label") < 5)
        call, label, conf = (f[c].to_numpy() for c in ("call", "label", "confidence"))
        k = np.minimum(np.searchsorted(picked, call), n - 1)  # picked is sorted
        on = picked[k] == call
        agree = np.where(conf >= 0.8, REVIEW_AGREE_CONFIDENT, REVIEW_AGREE_DOUBTFUL)
        hit = on & (rng.random(len(call)) < agree)
        found[k[hit], label[hit]] = True
        missed = (REVIEW_MISSED * QA_BASE[None, :5]
                  * np.where(agg[:, None] & (np.arange(5) < 4), 10, 1))
        found |= rng.random((n, 5)) < missed
        deviation = rng.random(n) < 0.06
        # the most serious finding: the first label found in contract order, else a script
        # deviation, else none
        first = np.where(found.any(axis=1), found.argmax(axis=1), np.where(deviation, 5, 6))
        failed = first < 5
        score = np.where(failed, rng.integers(20, 60, n),
                         np.where(first == 5, rng.integers(60, 80, n), rng.integers(75, 101, n)))
        # reviewed 1-3 days later, in office hours (09:00-18:00)
        at = ((calls.t[picked] // DAY + rng.integers(1, 4, n)) * DAY
              + rng.integers(9 * HOUR, 18 * HOUR, n))
        self._enqueue("qa_reviews", pl.DataFrame({
            "day": at // DAY - self.d0, "t": at, "call": picked,
            "call_id": calls.ids.gather(picked), "finding": first, "score": score,
            "reviewer": rng.integers(1, REVIEWERS + 1, n)}))
        today = self._dequeue("qa_reviews", i)
        if today is None:
            return
        today = today.sort("t", "call_id", maintain_order=True)
        findings = ("threat", "abuse", "insult", "privacy_disclosure", "false_promise",
                    "script_deviation", "none")
        df = pl.DataFrame({
            "review_id": _seq(f"QR{day:%Y%m%d}", today.height, 5),
            "call_id": today["call_id"],
            "reviewer_id": pl.Series([f"QA{r:03d}" for r in today["reviewer"].to_list()]),
            "reviewed_at": _ts(today["t"].to_numpy()),
            "score": today["score"],
            "result": _labels(("pass", "fail"), (today["finding"] < 5).cast(pl.Int64).to_numpy()),
            "finding": _labels(findings, today["finding"].to_numpy()),
        })
        self._write("qa_reviews", day, df)

    def _surveys(self, i: int, calls: _Calls) -> None:
        """An SMS survey after ~5 % of right-party contacts, answered within two days."""
        rng, day = self._rng("surveys", i), self.days[i]
        rpc = np.flatnonzero(calls.outcome == RPC)
        s = rpc[rng.random(len(rpc)) < 0.05]
        at = calls.t[s] + np.clip(rng.lognormal(np.log(3 * HOUR), 1.0, len(s)), 300, 47 * HOUR
                                  ).astype(np.int64)
        unhappy = self.ag.aggressive[calls.agent[s]] | (calls.duration[s] < 30)
        # Otherwise the score follows the agent's latent skill: a mix of a good and a poor
        # experience, the good one the more likely the more skilled the agent.
        good = 1 / (1 + np.exp(-CSAT_SKILL * self.ag.traits["service"][calls.agent[s]]))[:, None]
        cdf = np.where(unhappy[:, None], CSAT_UNHAPPY.cumsum(),
                       good * CSAT_GOOD.cumsum() + (1 - good) * CSAT_POOR.cumsum())
        score = (rng.random(len(s))[:, None] >= cdf[:, :4]).sum(axis=1) + 1
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
