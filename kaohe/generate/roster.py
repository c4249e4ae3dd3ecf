"""The roster and what HR and compliance deliver about it: agents (teams, levels, tenure,
outsourcing, leavers, new hires, promotions), the violations register and training enrolments.

All three are planned once for the whole period (random streams ``agents`` and ``trainings``);
the day loop then writes the agents snapshots and the violations and trainings rows due each day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

import kaohe.generate.names as vocab
from kaohe.generate.people import _chinese_number, _people
from kaohe.generate.schema import COLUMNS, LEVELS, VIOLATION_TYPES
from kaohe.generate.util import (
    NEVER,
    _add_months,
    _date,
    _dates,
    _eday,
    _labels,
    _money,
    _nullify,
    _numbered,
    _seq,
)
from kaohe.generate.writer import _Writer

# Base salary band (yuan a month, lower and upper bound) per level L1..L4; the e-mail domain.
SALARY_BAND = (np.array([1_500, 3_000, 4_500, 6_000]), np.array([3_000, 4_500, 6_000, 9_000]))
EMAIL_DOMAIN = "xinhe-cf.example.com"
# Latent skill: lognormal around 1 (log-sd below), drawn from its own stream, independent of
# level, tenure, team, outsourcing and everything that drives case allocation. It is written to
# the manifest only (``latent_skill``), never to a landing file: the scorecard has to find it.
SKILL_SIGMA = 0.2
# Each kind of behaviour follows a trait = loading x z + sqrt(1 - loading^2) x the agent's own
# habit (z: skill in standard deviations; habits independent normal draws): skill shows in
# everything, but not alone. contact: reaching debtors; negotiation: promises made, their size,
# kept; conduct: breaches of the contact rules, threats, disclosures, complaints;
# service: survey scores; learning: courses and simulations.
TRAIT_LOADING = {"contact": 0.7, "negotiation": 0.8, "conduct": 0.5, "service": 0.6,
                 "learning": 0.6}


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
    skill: np.ndarray  # latent skill, lognormal around 1 (SKILL_SIGMA)
    traits: dict[str, np.ndarray]  # per kind of behaviour (TRAIT_LOADING), standard normal
    ids: pl.Series
    static: pl.DataFrame
    wechat: pl.Series

    def factor(self, trait: str, elasticity: float) -> np.ndarray:
        """A trait as a multiplier: like skill ** elasticity, lognormal around 1."""
        return np.exp(elasticity * SKILL_SIGMA * self.traits[trait])


class _Roster(_Writer):
    """Agents, violations and trainings. Sets ``ag`` (the roster, :class:`_Agents`) and
    ``violations`` (the register, one row per delivery, with its ``day``)."""

    ag: _Agents
    violations: pl.DataFrame

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

        # Its own stream: no draw depends on the roster's, nor the roster's on it.
        skill_rng = self._rng("skill")
        skill = np.clip(skill_rng.lognormal(0, SKILL_SIGMA, n), 0.5, 1.8)
        z = np.log(skill) / SKILL_SIGMA
        traits = {kind: r * z + np.sqrt(1 - r * r) * skill_rng.standard_normal(n)
                  for kind, r in TRAIT_LOADING.items()}
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
            skill=skill, traits=traits,
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
        # An average agent passes 90 % on time; the other 10 % are late (4 %), failed (3.5 %) or
        # never done (2.5 %), more often the less skilled the agent.
        learning = ag.traits["learning"]
        trouble = np.minimum(0.10 * np.exp(-0.9 * learning[m_agent]), 0.6)
        u = rng.random(k) / trouble
        late, failed, never = u < 0.4, (u >= 0.4) & (u < 0.75), (u >= 0.75) & (u < 1)
        done = np.where(late, m_due + rng.integers(1, 26, k), m_due - rng.integers(0, 41, k))
        done = np.where(failed, m_due - rng.integers(0, 21, k), done)
        done = np.maximum(done, np.maximum(m_announce, ag.hire[m_agent]))
        done = np.where(never, NEVER, done)
        passing = np.clip(np.round(rng.normal(86 + 3 * learning[m_agent], 6) * 2), 120, 200)
        m_score = np.where(failed, rng.integers(60, 120, k) * 50, passing * 50)

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
        # Simulated conflict scenarios test exactly the skill: mean 75, 9 points a deviation.
        s_score = np.clip(np.round(rng.normal(75 + 9 * learning[a], 7)), 40, 100
                          ).astype(np.int64) * 100

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

    def _agents_snapshot(self, i: int) -> None:
        ag, d = self.ag, self.d0 + i
        m = self.month_idx[i]
        here = np.flatnonzero(ag.hire <= d)
        gone = ag.leave[here] <= d
        # version 3: HR's leave date (the last working day) for half the leavers; the others
        # leave kaohe to date the departure by their last call
        dated = gone & (here % 2 == 0)
        df = ag.static[here].with_columns(
            level=_labels(LEVELS, ag.levels[m, here]),
            base_salary=_money(ag.salaries[m, here]),
            status=_labels(("active", "left"), gone.astype(int)),
            left_on=_dates(ag.leave[here] - 1, ~dated),
        ).select(COLUMNS["agents"])
        if i == self.wechat_day:  # schema drift: HR added a column one week
            df = df.with_columns(wechat_id=ag.wechat[here])
        self._write("agents", self.days[i], df, bom=True)

    def _from_plan(self, source: str, planned: dict, i: int) -> None:
        """Write the planned rows (violations, trainings) delivered on day ``i``."""
        rows = planned.get((i,))
        if rows is not None:
            df = rows.with_columns(agent_id=self.ag.ids.gather(rows["agent"].to_numpy()))
            self._write(source, self.days[i], df.select(COLUMNS[source]))
