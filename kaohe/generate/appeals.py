"""Appeals (申诉, version 3): agents dispute the speech-analytics flags held against them.

Each conduct flag the model gives with confidence at least QA_THRESHOLD (the shipped
``metrics.qa_confidence_threshold``) on labels threat .. false_promise is, unknown to everyone
but the manifest, wrong with its label's false-positive rate (FALSE_POSITIVE). The agent appeals
a wrong flag with P_APPEAL_WRONG and a right one with P_APPEAL_RIGHT, 1-7 days after the call;
the QA team decides 1-14 days later and overturns a wrong flag with P_OVERTURN_WRONG, a right
one with P_OVERTURN_RIGHT. So the overturn rate among decided appeals of a label is

    (fp a_w o_w + (1 - fp) a_r o_r) / (fp a_w + (1 - fp) a_r)

which the manifest records per label (``appeals.overturn_rate``) beside the false-positive rates
(tests recover them from marts.appeal_outcomes). The appeal is delivered on the day it is filed
(decision empty) and again, decided, on the day of the decision (the later file replaces the row);
an appeal decided after the period stays pending. Reasons are the agent's words, sometimes with
the debtor's phone number (PII the ingestion masks).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from kaohe.generate.schema import QA_LABELS
from kaohe.generate.util import DAY, HOUR, _labels, _seq, _ts
from kaohe.generate.writer import _Writer

QA_THRESHOLD = 0.8
# per QA label (QA_LABELS order, empathy is never held against an agent)
FALSE_POSITIVE = np.array([0.12, 0.2, 0.3, 0.4, 0.25, 0.0])
P_APPEAL_WRONG, P_APPEAL_RIGHT = 0.6, 0.08
P_OVERTURN_WRONG, P_OVERTURN_RIGHT = 0.9, 0.05
REASONS = ("系统误判，通话中未使用威胁性语言，请复听录音",
           "客户本人情绪激动，相关用语为客户所说",
           "告知逾期后果属合规提示，非威胁",
           "通话对象为客户本人，未向第三方透露欠款",
           "还款承诺为客户主动提出")


def overturn_rate(fp: np.ndarray) -> np.ndarray:
    """The expected overturn rate among decided appeals for false-positive rates ``fp``."""
    wrong, right = fp * P_APPEAL_WRONG, (1 - fp) * P_APPEAL_RIGHT
    return (wrong * P_OVERTURN_WRONG + right * P_OVERTURN_RIGHT) / (wrong + right)


class _Appeals(_Writer):
    """Appeals against QA flags (stream ``appeals``)."""

    def _appeals(self, i: int, calls, flags: pl.DataFrame) -> None:
        rng, day = self._rng("appeals", i), self.days[i]
        if flags.height:
            f = flags.filter((pl.col("label") < 5) & (pl.col("confidence") >= QA_THRESHOLD))
            call, label = f["call"].to_numpy(), f["label"].to_numpy()
            n = len(call)
            wrong = rng.random(n) < FALSE_POSITIVE[label]
            filed = rng.random(n) < np.where(wrong, P_APPEAL_WRONG, P_APPEAL_RIGHT)
            overturn = rng.random(n) < np.where(wrong, P_OVERTURN_WRONG, P_OVERTURN_RIGHT)
            at = ((calls.t[call] // DAY + rng.integers(1, 8, n)) * DAY
                  + rng.integers(9 * HOUR, 18 * HOUR, n))
            decided = at + rng.integers(1, 15, n) * DAY + rng.integers(-2 * HOUR, 2 * HOUR, n)
            reason = rng.integers(0, len(REASONS), n)
            phone = np.where(rng.random(n) < 0.1,
                             self.debtor_phone[self.case_debtor[calls.case[call]]], 0)
            pick = np.flatnonzero(filed)
            rows = pl.DataFrame({
                "call_id": calls.ids.gather(call[pick]),
                "label": label[pick], "agent": calls.agent[call[pick]],
                "t": at[pick], "decided": decided[pick], "overturn": overturn[pick],
                "reason": reason[pick], "phone": phone[pick]})
            self._enqueue("appeals", rows.with_columns(day=pl.col("t") // DAY - self.d0))
        new = self._dequeue("appeals", i)
        if new is not None:  # numbered on the day they are filed, then their decision queued
            new = new.sort("t", "call_id", maintain_order=True).with_columns(
                appeal_id=_seq(f"AP{day:%Y%m%d}", new.height, 5))
            self._enqueue("appeal_decisions", new.with_columns(
                day=pl.col("decided") // DAY - self.d0))
        parts = [self._appeal_rows(new, decided=False)] if new is not None else []
        done = self._dequeue("appeal_decisions", i)
        if done is not None:
            parts.append(self._appeal_rows(done, decided=True))
        if parts:
            self._write("appeals", day, pl.concat(parts).sort("appeal_id"))

    def _appeal_rows(self, df: pl.DataFrame, decided: bool) -> pl.DataFrame:
        phone = df["phone"].to_numpy()
        text = np.array(REASONS)[df["reason"].to_numpy()]
        text = np.where(phone > 0, np.strings.add(np.strings.add(text, "（客户电话："),
                                                  np.strings.add(phone.astype(str), "）")), text)
        n = df.height
        none = np.full(n, not decided)
        return pl.DataFrame({
            "appeal_id": df["appeal_id"],
            "agent_id": self.ag.ids.gather(df["agent"].to_numpy()),
            "subject_type": pl.Series(["qa_flag"] * n),
            "subject_id": df["call_id"] + ":" + _labels(QA_LABELS, df["label"].to_numpy()),
            "filed_at": _ts(df["t"].to_numpy()),
            "reason": pl.Series(text.tolist(), dtype=pl.String),
            "decided_at": _ts(df["decided"].to_numpy(), none),
            "decision": _labels(("upheld", "overturned"),
                                df["overturn"].cast(pl.Int64).to_numpy(), none),
            "reviewer_id": df.select(pl.when(pl.lit(decided)).then(
                "QA" + (pl.col("agent") % 6 + 1).cast(pl.String).str.zfill(3))).to_series(),
        })

    def _appeal_truth(self) -> dict:
        """The manifest's ground truth: each label's false-positive rate and the overturn rate
        among decided appeals it implies."""
        labels = QA_LABELS[:5]
        return {"appeals": {
            "qa_threshold": QA_THRESHOLD,
            "false_positive_rate": dict(zip(labels, FALSE_POSITIVE[:5].tolist(), strict=True)),
            "overturn_rate": dict(zip(labels, [round(float(v), 6) for v in
                                               overturn_rate(FALSE_POSITIVE[:5])], strict=True)),
        }}
