"""The predictive dialler's day (stream ``calls``): which cases the agents at work dial, how many
attempts each gets, on which number and with what outcome, and what stops the dialling.

- Worked cases: each agent's attempts spread over the cases the agent holds, weighted by bucket
  (early buckets more) and left alone while a promise is live. A worked case gets a retry budget
  (BUDGET by bucket, more for early buckets), at most one attempt an hour, spread over the dialling
  hours 08:00-21:59 with the usual peaks (a thin 21:xx: late but lawful).
- Numbers: every debtor has the phone on file (``cases.debtor_phone``); SECOND_NUMBER of them a
  second number (stream ``numbers``), the debtor's own second phone (SECOND_OWN of them) or a
  contact's (a relative, a colleague: mostly third parties answer). The day's first attempt dials
  the phone on file, later ones the second number now and then (mostly when the phone on file is
  dead). ``calls.dialled_number`` is the number dialled.
- Stops (an ordinary agent's queue, the compliance settings of the dialler): a debtor reached
  (connected_debtor) is not dialled again that day but for a follow-up now and then (P_FOLLOW),
  never past ANSWERED_CAP answered calls an agent, debtor and day; a number is not redialled after
  an invalid_number, nor past UNANSWERED_CAP unanswered attempts an agent and day. So hard-to-reach
  debtors get several attempts a day, mostly unanswered, within the legal limits.
- Breaches: the planted harassers (``roster`` ``aggressive``) dial by hand: bigger budgets, no
  stops, a debtor who answered answers again (AGG_AGAIN), bursts of redials minutes apart on one
  number (AGG_HAMMER of their worked cases), some calls in the curfew (AGG_CURFEW). An ordinary
  agent breaks a rule on a few days (BYPASS_RATE a day, the less careful more, following the
  conduct trait): redials by hand the number tried most that day past the unanswered cap, rings
  back a debtor who answered (4 answered calls or more), or calls before 08:00 or from 22:00.
"""

from __future__ import annotations

import numpy as np

import kaohe.generate.names as vocab
from kaohe.generate.attempts import ANSWERED_CAP, UNANSWERED_CAP
from kaohe.generate.feedback import _Feedback
from kaohe.generate.schema import BUSY, INDUSTRIES, INVALID, NO_ANSWER, RPC, THIRD, VOICEMAIL
from kaohe.generate.util import DAY, HOUR, _before_per_key, _bucket, _offsets
from kaohe.generate.windows import contact_curves

# Share of agents at work by weekday (Mon..Sun): collection centres run 7 days, thinner at weekends.
PRESENCE = np.array([0.94, 0.94, 0.94, 0.94, 0.94, 0.70, 0.50])
# Dialling hours 08..21 with the usual morning/afternoon peaks and a thin 21:xx (before 22:00).
CALL_HOURS = np.arange(8, 22)
CALL_HOUR_W = np.array([6, 10, 11, 9, 4, 6, 9, 10, 9, 7, 6, 8, 5, 1.2])
# The curfew hours a call breaking the rule starts in (06:xx, 07:xx, 22:xx, 23:xx).
CURFEW_HOURS, CURFEW_P = np.array([6, 7, 22, 23]), np.array([0.1, 0.45, 0.35, 0.1])
# By bucket M1..M6, M6+: early buckets get dialled more and answer more; the retry budget (mean
# attempts a worked case is given a day, at most MAX_BUDGET).
BUCKET_CALL_WEIGHT = np.array([1.3, 1.15, 1.0, 0.9, 0.85, 0.8, 0.7])
RPC_BASE = np.array([0.30, 0.26, 0.22, 0.19, 0.17, 0.15, 0.11])
BUDGET = np.array([4.6, 4.3, 4.0, 3.7, 3.5, 3.3, 3.0])
MAX_BUDGET = 10
# A second number: the share of debtors with one, the share of those that are the debtor's own;
# the share of attempts after the first that dial it (when the phone on file is dead: DEAD).
SECOND_NUMBER, SECOND_OWN = 0.3, 0.4
P_SECOND, P_SECOND_DEAD = 0.35, 0.7
# Outcomes: right-party contacts on a contact's number, on the debtor's own second phone (x the
# phone on file's chance); third parties answering the debtor's phones, a contact's number.
CONTACT_RPC, SECOND_OWN_RPC = 0.03, 0.8
OWN_THIRD, CONTACT_THIRD = 0.025, 0.25
# After a right-party contact the dialler dials the debtor again that day only as a follow-up.
P_FOLLOW = 0.15
# The hour and the kind of day: each debtor segment's hidden answer curve (``windows``, mean 1
# over the dialling hours) times LEVEL, the average the flat evening x1.15 it replaces gave.
LEVEL = 1 + 0.15 * CALL_HOUR_W[CALL_HOURS >= 18].sum() / CALL_HOUR_W.sum()
# Skilled agents reach the debtor more often (a multiplier like skill ** RPC_SKILL).
RPC_SKILL = 1.0
# The harassers: budget (mean), share of worked cases hammered with a burst of AGG_BURST +
# Poisson(AGG_BURST_EXTRA) redials 1-6 minutes apart, share of calls in the curfew, chance a
# debtor who answered answers again, attempts a day against an ordinary agent's planned ones (no
# stop cuts theirs, so they make about 1.1 x the calls).
AGG_BUDGET, AGG_HAMMER, AGG_BURST, AGG_BURST_EXTRA = 4.0, 0.06, 7, 4.0
AGG_CURFEW, AGG_AGAIN, AGG_VOLUME = 0.05, 0.45, 0.95
# Ordinary agents' breaches by hand: a day's chance x exp(-BYPASS_SKILL x t), t the conduct trait;
# which breach (redial past the cap, ring back an answered debtor, a call in the curfew).
BYPASS_RATE, BYPASS_SKILL = 0.001, 1.0
BYPASS_KIND_P = np.array([0.45, 0.30, 0.25])


def _spread(rng: np.random.Generator, budget: np.ndarray, weights: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """``budget[r]`` distinct slots for each row r, drawn without replacement with ``weights``
    (Gumbel top-k): (row, slot) of each pick, rows ascending, slots ascending within a row."""
    keys = np.log(weights)[None, :] + rng.gumbel(size=(len(budget), len(weights)))
    kth = np.take_along_axis(np.sort(keys, axis=1), (len(weights) - budget)[:, None], axis=1)
    return np.nonzero(keys >= kth)


def _one_per_agent(rng: np.random.Generator, agent: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One of ``rows`` at random for each agent that has any."""
    rows = rows[rng.permutation(len(rows))]
    _, first = np.unique(agent[rows], return_index=True)
    return rows[first]


class _DialPlan(_Feedback):
    """The day's attempts: ``_dial`` gives (case, agent, slot, t, outcome) in file order (t, then
    case); ``slot`` 0 the phone on file, 1 the second number (``phones``)."""

    phones: np.ndarray  # [debtor, slot] the numbers (0: none)
    number_id: np.ndarray  # [debtor, slot] the index of the number among the distinct ones
    n_numbers: int
    second_own: np.ndarray  # per debtor: the second number is the debtor's own
    breaches: np.ndarray  # [month, agent, rule] calls breaking each legal rule (attempts.RULES)
    curves: np.ndarray  # [industry, weekday|weekend, hour] the answer curves (windows)

    def _plan_numbers(self) -> None:
        """Second numbers (stream ``numbers``, so the case book's draws stay as they were)."""
        rng, nd = self._rng("numbers"), self.nd
        prefixes = np.array(vocab.PHONE_PREFIXES)
        second = prefixes[rng.integers(0, len(prefixes), nd)] * 10**8 + rng.integers(0, 10**8, nd)
        has = rng.random(nd) < SECOND_NUMBER
        self.second_own = has & (rng.random(nd) < SECOND_OWN)
        self.phones = np.column_stack([self.debtor_phone, np.where(has, second, 0)])
        # Each distinct number's index (two debtors may share one, like two cases a debtor).
        values, index = np.unique(self.phones, return_inverse=True)
        self.number_id = index.reshape(self.phones.shape)
        self.n_numbers = len(values)
        self.breaches = np.zeros((self.n_months, self.ag.n, 3), np.int64)
        self.curves = contact_curves(self.curve_kind, INDUSTRIES, CALL_HOUR_W)

    def _outcomes(self, rng: np.random.Generator, d: int, case: np.ndarray, agent: np.ndarray,
                  slot: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Each attempt's outcome: the debtor's reachability, bucket, the agent's contact trait,
        the hour and kind of day (the debtor segment's answer curve) and the number dialled."""
        n, debtor = len(case), self.case_debtor[case]
        own = (slot == 0) | self.second_own[debtor]
        weekend = int((d + 3) % 7 >= 5)  # epoch day 0 was a Thursday
        p_rpc = (RPC_BASE[_bucket(d - self.ovd[case])] * self.contact[debtor]
                 * self.ag.factor("contact", RPC_SKILL)[agent]
                 * LEVEL * self.curves[self.industry[case], weekend, t % DAY // HOUR])
        p_rpc = np.where(slot == 1, np.where(own, SECOND_OWN_RPC * p_rpc, CONTACT_RPC), p_rpc)
        c = p_rpc + np.where(own, OWN_THIRD, CONTACT_THIRD)
        u = rng.random(n)
        outcome = np.select([u < p_rpc, u < c, u < c + 0.09, u < c + 0.20, u < c + 0.21],
                            [RPC, THIRD, VOICEMAIL, BUSY, INVALID], NO_ANSWER).astype(np.int8)
        dead = self.bad_phone[debtor] & (slot == 0)
        return np.where(dead, np.where(rng.random(n) < 0.85, INVALID, NO_ANSWER),
                        outcome).astype(np.int8)

    def _dial(self, rng: np.random.Generator, i: int) -> tuple[np.ndarray, ...]:
        """The day's calls (case, agent, slot, t, outcome) in file order: the attempts planned
        (``_attempts``), their outcomes, the dialler's stops on the ordinary agents' queues, and
        the breaches by hand (``_by_hand``)."""
        ag, d, t0 = self.ag, self.d0 + i, (self.d0 + i) * DAY
        present = ((ag.hire <= d) & (ag.leave > d)
                   & (rng.random(ag.n) < PRESENCE[self.days[i].weekday()]))
        case, agent, slot, t = self._attempts(rng, i, present)
        debtor = self.case_debtor[case]
        outcome = self._outcomes(rng, d, case, agent, slot, t)
        exempt = ag.aggressive[agent]
        by_debtor = agent * self.nd + debtor
        # A harasser's debtor who answered once answers again (or rejects the call).
        hr = np.flatnonzero(exempt)
        again = hr[_before_per_key(by_debtor[hr], outcome[hr] >= RPC) > 0]
        u = rng.random(len(again))
        outcome[again] = np.where(u < AGG_AGAIN, RPC, np.where(u < AGG_AGAIN + 0.3, BUSY,
                                                                NO_ANSWER))
        # The dialler's stops on an ordinary agent's queue (the harassers dial by hand): a debtor
        # reached only as a follow-up and never past ANSWERED_CAP answered calls; a number not
        # after an invalid_number nor past UNANSWERED_CAP unanswered attempts.
        answered = outcome >= RPC
        before = _before_per_key(by_debtor, np.column_stack([answered, outcome == RPC]))
        keep = exempt | ((before[:, 0] < ANSWERED_CAP)
                         & ((before[:, 1] == 0) | (rng.random(len(case)) < P_FOLLOW)))
        sel = np.flatnonzero(keep)
        number = self.number_id[debtor[sel], slot[sel]]
        before = _before_per_key(agent[sel] * self.n_numbers + number,
                                 np.column_stack([~answered[sel], outcome[sel] == INVALID]))
        ok = exempt[sel] | ((before[:, 0] < UNANSWERED_CAP) & (before[:, 1] == 0))
        sel, tried = sel[ok], before[ok, 0] + 1  # an unanswered attempt's rank on its number
        kept = [a[sel] for a in (case, agent, slot, t, outcome)]
        extra = self._by_hand(rng, i, present, kept, tried)
        case, agent, slot, t, outcome = (np.concatenate([k, e]) for k, e in zip(kept, extra,
                                                                                strict=True))
        order = np.argsort((t - t0) * self.nc + case)  # file order: time, then case
        return tuple(a[order] for a in (case, agent, slot, t, outcome))

    def _attempts(self, rng: np.random.Generator, i: int, present: np.ndarray
                  ) -> tuple[np.ndarray, ...]:
        """The attempts planned on the cases the agents at work hold: (case, agent, slot, t) in
        file order. Each agent's attempts spread over the agent's cases by bucket (fewer while a
        promise is live); a worked case gets a retry budget, one attempt an hour; the harassers
        add bursts and calls in the curfew."""
        ag, d, t0 = self.ag, self.d0 + i, (self.d0 + i) * DAY
        held = np.flatnonzero(self.cur_agent >= 0)
        held = held[present[self.cur_agent[held]]]
        h = self.cur_agent[held]
        agg = ag.aggressive[h]
        live = self.ptp_due[held] >= d  # a live promise: leave them be
        bucket = _bucket(d - self.ovd[held])
        w = BUCKET_CALL_WEIGHT[bucket] * np.where(live, 0.35, 1.0)
        per_agent = np.bincount(h, weights=w, minlength=ag.n)
        target = self.calls_target * ag.productivity[h] * np.where(agg, AGG_VOLUME, 1.0)
        planned = target * w / np.maximum(per_agent[h], 1e-9)  # attempts a case
        mean = np.maximum(np.where(agg, AGG_BUDGET, BUDGET[bucket] * np.where(live, 0.5, 1.0)), 1)
        work = rng.random(len(held)) < np.minimum(planned / mean, 0.9)  # few cases: dial less
        budget = np.minimum(1 + rng.poisson(mean - 1), np.where(agg, len(CALL_HOURS), MAX_BUDGET))
        held, h, agg, budget = held[work], h[work], agg[work], budget[work]
        row, hour = _spread(rng, budget, CALL_HOUR_W)
        hour = CALL_HOURS[hour]
        first = np.ones(len(row), bool)
        first[1:] = row[1:] != row[:-1]
        curfew = agg[row] & (rng.random(len(row)) < AGG_CURFEW)
        hour = np.where(curfew, CURFEW_HOURS[rng.choice(4, len(row), p=CURFEW_P)], hour)
        t = t0 + hour * HOUR + rng.integers(0, HOUR, len(row))
        # The harassers' bursts: the phone on file redialled every few minutes.
        burst = np.flatnonzero(agg & (rng.random(len(held)) < AGG_HAMMER))
        size = AGG_BURST + rng.poisson(AGG_BURST_EXTRA, len(burst))
        start = t0 + np.where(rng.random(len(burst)) < 0.15,
                              CURFEW_HOURS[rng.choice(4, len(burst), p=CURFEW_P)],
                              CALL_HOURS[rng.choice(len(CALL_HOURS), len(burst),
                                                    p=CALL_HOUR_W / CALL_HOUR_W.sum())]) * HOUR
        gap = rng.integers(60, 360, int(size.sum()))
        span = np.bincount(np.repeat(np.arange(len(burst)), size), weights=gap,
                           minlength=len(burst)).astype(np.int64)
        start = np.minimum(start + rng.integers(0, HOUR, len(burst)), t0 + DAY - 60 - span)
        t = np.concatenate([t, np.repeat(start, size) + _offsets(size, gap)])
        case = held[np.concatenate([row, np.repeat(burst, size)])]
        agent = self.cur_agent[case]
        # The day's first attempt on a case dials the phone on file, later ones now and then the
        # second number (mostly, when the phone on file is dead).
        debtor = self.case_debtor[case]
        later = np.ones(len(case), bool)
        later[: len(first)] = ~first
        p2 = np.where(self.bad_phone[debtor], P_SECOND_DEAD, np.where(later, P_SECOND, 0))
        slot = ((self.phones[debtor, 1] > 0) & (rng.random(len(case)) < p2)).astype(np.int64)
        slot[len(first):] = 0  # the bursts
        order = np.argsort((t - t0) * self.nc + case)  # file order: time, then case
        return case[order], agent[order], slot[order], t[order]

    def _by_hand(self, rng: np.random.Generator, i: int, present: np.ndarray,
                 kept: list[np.ndarray], tried: np.ndarray) -> list[np.ndarray]:
        """The ordinary agents' breaches on the day (BYPASS_RATE): the rows (case, agent, slot,
        t, outcome) to add to the ``kept`` attempts (``tried``: each one's rank among the
        agent's unanswered attempts on its number)."""
        ag, d, t0 = self.ag, self.d0 + i, (self.d0 + i) * DAY
        p = np.minimum(BYPASS_RATE * np.exp(-BYPASS_SKILL * ag.traits["conduct"]), 0.05)
        who = present & ~ag.aggressive & (rng.random(ag.n) < p)
        kind = np.where(who, rng.choice(3, ag.n, p=BYPASS_KIND_P), -1)[kept[1]]
        case, agent, slot, t, outcome = kept
        # Redial by hand the number tried most (past the dialler's stop): unanswered again and
        # again, beyond UNANSWERED_CAP.
        quiet = np.flatnonzero((kind == 0) & (outcome < RPC) & (outcome != INVALID))
        quiet = quiet[np.lexsort((-tried[quiet], agent[quiet]))]
        _, first = np.unique(agent[quiet], return_index=True)
        redial = quiet[first]
        # Ring back a debtor who answered, again and again: 4 answered calls or more.
        back = _one_per_agent(rng, agent, np.flatnonzero((kind == 1) & (outcome == RPC)))
        # Otherwise (and when there is nothing to redial or ring back) a call in the curfew.
        done = np.zeros(ag.n, bool)
        done[agent[np.concatenate([redial, back])]] = True
        late = _one_per_agent(rng, agent, np.flatnonzero((kind >= 0) & ~done[agent]))
        n_redial = UNANSWERED_CAP + 1 - tried[redial] + rng.poisson(1.0, len(redial))
        n_back = ANSWERED_CAP + rng.poisson(0.3, len(back))
        sizes = np.concatenate([n_redial, n_back])
        step = np.concatenate([rng.integers(240, 1_200, int(n_redial.sum())),
                               rng.integers(600, 2_400, int(n_back.sum()))])
        row = np.repeat(np.concatenate([redial, back]), sizes)
        out_t = np.minimum(t[row] + _offsets(sizes, step) + step, t0 + DAY - 1)
        # the debtor lets it ring (redials), picks up each time (ring-backs)
        answer = np.repeat(np.arange(len(sizes)) >= len(redial), sizes)
        out = np.where(answer, RPC, np.array([NO_ANSWER, BUSY, VOICEMAIL])[
            rng.choice(3, len(row), p=[0.7, 0.2, 0.1])])
        early = rng.random(len(late)) < 0.5
        late_t = t0 + np.where(early, 7 * HOUR + rng.integers(HOUR // 2, HOUR, len(late)),
                               22 * HOUR + rng.integers(0, HOUR // 2, len(late)))
        late_slot = np.zeros(len(late), np.int64)
        return [np.concatenate([case[row], case[late]]),
                np.concatenate([agent[row], agent[late]]),
                np.concatenate([slot[row], late_slot]),
                np.concatenate([out_t, late_t]),
                np.concatenate([out, self._outcomes(rng, d, case[late], agent[late], late_slot,
                                                    late_t)]).astype(np.int8)]
