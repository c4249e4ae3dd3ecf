"""What is heard of a call afterwards: speech-analytics QA flags (stream ``qa_flags``), human
QA reviews of a sample of connected calls (``qa_reviews``) and SMS satisfaction surveys
(``surveys``), each following the agent's traits (``roster.TRAIT_LOADING``). ``_Feedback`` is a
part of the dialler (``calls._Dialler``); it is given the day's calls as a :class:`_Calls`."""

from __future__ import annotations

import numpy as np
import polars as pl

from kaohe.generate.attempts import _Calls
from kaohe.generate.schema import QA_LABELS, RPC, THIRD
from kaohe.generate.util import DAY, HOUR, _add_months, _labels, _seq, _ts
from kaohe.generate.writer import _Writer

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


class _Feedback(_Writer):
    """QA flags, QA reviews and surveys."""

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
