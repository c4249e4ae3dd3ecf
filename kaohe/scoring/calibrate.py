"""``kaohe calibrate``: a configuration proposed from the lender's own appraised history.

From the published agent-months of ``--from`` .. ``--to`` that were appraised (grade not NA,
not VETO):
1. **Rules**: each recovery, satisfaction and skill rule's floor and target move to percentiles of
   the metric's own history (default p10 -> 0 points and p90 -> 100 points, direction
   respected). The **compliance rules are left as they are**: they are the compliance officer's
   policy under the rule pack, not a distribution to fit; fitted, a "lower is better" floor
   would either loosen (paying breaches) or land on lawful behaviour (a complaint a lawful agent
   cannot avoid would cost points). A rule the rule pack pins (the mandatory pass-rate target)
   keeps its values too.
   The team managers' rules on recovery against target, skill-risk mismatches and tickets past
   their SLA move likewise, to the percentiles of the published team-months of the range (at
   least MIN_TEAM_MONTHS); the team rules on conduct alerts, mandatory courses and complaints
   resolved on time are kept (conduct; the rule pack's pin; the regulator's deadline).
2. **Bands**: the history is re-scored under the new rules with the scorecard's own function
   (kaohe.scoring.scorecard.score) and the grade bands are set at the composite quantiles that
   give the target distribution (default S 5, A 15, B 30, C 35, D 15).
3. **Safety** (docs/scorecard.md "Calibrating safely"), before anything is written: the proposal
   must load, pass ``kaohe audit-config`` (so every compliance floor stays inside the rule
   pack's limits), judge conduct no more leniently than the starting configuration
   (kaohe.scoring.conduct_guard.loosened), and, re-scored by ``kaohe whatif`` on every month of
   the range, pay no vetoed or conduct-gated agent. Otherwise it is refused
   (``CalibrationError``) and nothing is written.
The proposal is the starting configuration **file** with only the changed values replaced
(kaohe.config.edit: comments, order and spelling kept, so a diff shows the change), its
``version`` marked as calibrated. The what-if page of the last month and a one-paragraph summary
of what moves and for whom come with it.
"""

from __future__ import annotations

import difflib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from kaohe.config import Config, ConfigError, load_config
from kaohe.config.edit import EditError, edit
from kaohe.months import month_bounds
from kaohe.scoring import whatif
from kaohe.scoring.conduct_guard import loosened, paid_despite_conduct
from kaohe.scoring.history import NoHistoryError, scoring_history
from kaohe.scoring.rule_audit import audit, errors
from kaohe.scoring.scorecard import score

DEFAULT_DISTRIBUTION = {"S": 5.0, "A": 15.0, "B": 30.0, "C": 35.0, "D": 15.0}
GRADES = ("S", "A", "B", "C", "D")
# rules calibrate never fits: the whole compliance dimension, and the rule pack's pinned target
KEPT_DIMENSIONS = ("compliance",)
PINNED = {"mandatory_pass_rate"}  # config/regulatory_rules.yaml, rule mandatory-training
# the team managers' rules it fits (team_scorecard.rules); the others are kept: conduct alerts
# (conduct, like the compliance rules), the mandatory pass rate (pinned) and complaints resolved
# on time (the regulator's deadline: the points are the share itself)
TEAM_FITTED = ("recovery_vs_target", "skill_risk_mismatches_per_agent",
               "open_tickets_past_sla_per_agent", "skill_risk_mismatches_per_100_cases",
               "open_tickets_past_sla_per_100_cases")
MIN_TEAM_MONTHS = 6


class CalibrationError(RuntimeError):
    """Too little history to calibrate on, or a proposal that fails its own checks."""


@dataclass
class Calibration:
    config_text: str  # the starting file with only the changed values replaced
    config: Config
    agent_months: int
    before: dict[str, int]
    after: dict[str, int]
    rules: list[tuple[str, str, float, float, float, float]]  # dim, metric, old/new floor/target
    team_rules: list[tuple[str, float, float, float, float]] = field(default_factory=list)
    diff: str = ""  # unified diff of the starting file and the proposal
    checked: list[whatif.WhatIf] = field(default_factory=list)  # the what-if of each month
    conduct_held: int = 0  # vetoed or gated agent-months checked unpaid across the range
    summary: str = ""


def months_between(first: str, last: str) -> list[str]:
    if first > last:
        raise CalibrationError(f"--from {first} is after --to {last}")
    out, month = [], first
    while month <= last:
        out.append(month)
        month = month_bounds(month)[1].strftime("%Y-%m")
    return out


def _grades_of(scored: pl.DataFrame) -> dict[str, int]:
    counts = dict(scored.group_by("grade").len().iter_rows())
    return {g: int(counts.get(g, 0)) for g in GRADES}


def _fit(values: pl.Series, rule: dict, low: float, high: float, least: int
         ) -> tuple[float, float] | None:
    """A rule's (floor, target) at the ``low``/``high`` percentiles of its values (direction
    respected, 4 places); None with fewer than ``least`` values, no spread, or no change."""
    v = values.drop_nulls()
    if v.len() < least:
        return None
    lo, hi = float(v.quantile(low, "linear")), float(v.quantile(high, "linear"))
    floor, target = (lo, hi) if rule["direction"] == "higher" else (hi, lo)
    if abs(target - floor) < 1e-9:  # no spread in the history: keep the rule
        return None
    floor, target = round(floor, 4), round(target, 4)
    return None if (floor, target) == (float(rule["floor"]), float(rule["target"])) \
        else (floor, target)


def _fitted_rules(scored: pl.DataFrame, base: Config, low: float, high: float) -> list[tuple]:
    """(dimension, index in its list, metric, old floor, new floor, old target, new target)
    for each rule whose percentiles differ from its values."""
    values = scored.select(pl.col("rule_points")).explode("rule_points").unnest("rule_points")
    out = []
    for dim, rules in base.raw["scorecard"]["rules"].items():
        if dim in KEPT_DIMENSIONS:
            continue
        for i, rule in enumerate(rules):
            metric = rule["metric"]
            if metric in PINNED:
                continue
            fit = _fit(values.filter((pl.col("dimension") == dim)
                                     & (pl.col("metric") == metric))["value"], rule, low, high, 10)
            if fit:
                out.append((dim, i, metric, float(rule["floor"]), fit[0],
                            float(rule["target"]), fit[1]))
    return out


def _fitted_team_rules(published: Path, months: list[str], base: Config, low: float,
                       high: float) -> list[tuple]:
    """(index, measure, old floor, new floor, old target, new target) for the team managers'
    rules of TEAM_FITTED, at the percentiles of the published team-months of the range; none
    when the file does not set team_scorecard (the rules are then the defaults)."""
    section = base.raw.get("team_scorecard") or {}
    if not section.get("rules"):
        return []
    starts = [month_bounds(m)[0] for m in months]
    con = duckdb.connect(str(published), read_only=True)
    try:
        teams = con.sql(f"select {', '.join(TEAM_FITTED)} from marts.team_month_scorecard "
                        "where list_contains($m, month)", params={"m": starts}).pl()
    finally:
        con.close()
    out = []
    for i, rule in enumerate(section["rules"]):
        measure = rule["measure"]
        fit = (_fit(teams[measure], rule, low, high, MIN_TEAM_MONTHS)
               if measure in TEAM_FITTED else None)
        if fit:
            out.append((i, measure, float(rule["floor"]), fit[0], float(rule["target"]), fit[1]))
    return out


def _bands(history: pl.DataFrame, cfg: Config, dist: dict[str, float]) -> dict[str, float]:
    composites = score(history, cfg).filter(
        pl.col("composite").is_not_null() & ~pl.col("veto"))["composite"]
    if composites.len() < 10:
        raise CalibrationError(f"only {composites.len()} appraised agent-months: too few")
    cumulative, bands = 0.0, {}
    for grade in ("S", "A", "B", "C"):
        cumulative += dist[grade]
        bands[grade] = round(float(composites.quantile(1 - cumulative / 100, "higher")), 2)
    for better, worse in (("S", "A"), ("A", "B"), ("B", "C")):  # strictly falling
        if bands[worse] >= bands[better]:
            bands[worse] = round(bands[better] - 0.01, 2)
    return bands


def calibrate(published: Path, first: str, last: str, base: Config,
              distribution: dict[str, float] | None = None, low: float = 0.10,
              high: float = 0.90, reports_dir: Path | None = None,
              lang: str = "zh") -> Calibration:
    dist = distribution or DEFAULT_DISTRIBUTION
    if set(dist) != set(DEFAULT_DISTRIBUTION) or abs(sum(dist.values()) - 100) > 1e-6:
        raise CalibrationError("--distribution must give S, A, B, C and D summing to 100")
    months = months_between(first, last)
    if not published.exists():
        raise CalibrationError(f"no published warehouse at {published}: run the months first")
    try:
        history = scoring_history(published, months, base)
    except NoHistoryError as exc:
        raise CalibrationError(str(exc)) from None
    scored_before = score(history, base)
    fitted = _fitted_rules(scored_before, base, low, high)
    changes: dict[tuple, object] = {}
    for dim, i, _metric, _f0, f1, _t0, t1 in fitted:
        changes[("scorecard", "rules", dim, i, "floor")] = f1
        changes[("scorecard", "rules", dim, i, "target")] = t1
    team_fitted = _fitted_team_rules(published, months, base, low, high)
    for i, _measure, _f0, f1, _t0, t1 in team_fitted:
        changes[("team_scorecard", "rules", i, "floor")] = f1
        changes[("team_scorecard", "rules", i, "target")] = t1
    original = base.path.read_text(encoding="utf-8")
    try:
        provisional = _load(edit(original, changes))  # the rules first: the bands follow them
        bands = _bands(history, provisional, dist)
        changes.update({("scorecard", "grades", g): b for g, b in bands.items()
                        if abs(b - base.scorecard.grades[g]) > 1e-9})
        changes[("version",)] = f"{base.version}-calibrated-{first}-{last}"
        text = edit(original, changes)
    except EditError as exc:
        raise CalibrationError(f"{base.path}: {exc}") from None
    proposed = _load(text)
    failed = errors(audit(proposed))
    if failed:
        raise CalibrationError("the proposal fails kaohe audit-config: " + "; ".join(
            f"[{f.rule}] {f.detail}" for f in failed))
    lenient = loosened(base, proposed)
    if lenient:
        raise CalibrationError("the proposal would judge conduct more leniently: "
                               + "; ".join(lenient))
    result = Calibration(text, proposed, history.height, _grades_of(scored_before),
                         _grades_of(score(history, proposed)),
                         [(d, m, f0, f1, t0, t1) for d, _i, m, f0, f1, t0, t1 in fitted],
                         [(m, f0, f1, t0, t1) for _i, m, f0, f1, t0, t1 in team_fitted])
    result.diff = "".join(difflib.unified_diff(
        original.splitlines(keepends=True), text.splitlines(keepends=True),
        fromfile=str(base.path), tofile="proposal", n=0))
    _check_pay(result, published, months, reports_dir, lang)
    result.summary = summarise(result, first, last)
    return result


def _check_pay(result: Calibration, published: Path, months: list[str],
               reports_dir: Path | None, lang: str) -> None:
    """Every month of the range re-scored under the proposal (kaohe whatif): refused when a
    vetoed or conduct-gated agent would earn variable pay. The last month's page is written."""
    for month in months:
        try:
            check = whatif.run(published, month, result.config,
                               reports_dir if month == months[-1] else None, lang)
        except whatif.WhatIfError:
            continue  # a month without a scorecard: nothing to pay
        paid = paid_despite_conduct(check.rows)
        if not paid.is_empty():
            raise CalibrationError(
                f"the proposal would pay {paid.height} vetoed or conduct-gated agent(s) in "
                f"{month} ({', '.join(paid['agent_id'].head(5).to_list())}): refused")
        result.conduct_held += int(check.rows.filter(
            pl.col("conduct_held_before").fill_null(False)
            | pl.col("conduct_held_after").fill_null(False)).height)
        result.checked.append(check)


def summarise(result: Calibration, first: str, last: str) -> str:
    """One paragraph: what moves and for whom, on the last month checked."""
    n = result.agent_months
    parts = [f"Calibrated on {n} appraised agent-months of {first}..{last}: "
             + ", ".join(f"{g} {100 * result.before[g] / n:.0f}% -> "
                         f"{100 * result.after[g] / n:.0f}%" for g in GRADES) + "."]
    if result.rules:
        parts.append(f"{len(result.rules)} rule(s) re-fitted ("
                     + ", ".join(m for _d, m, *_ in result.rules)
                     + "); the compliance rules, the conduct gate and the contact rules are "
                     "unchanged.")
    if result.checked:
        last_check = result.checked[-1]
        rows = last_check.rows
        order = {g: i for i, g in enumerate(GRADES)}
        moved = rows.filter(pl.col("grade_before").is_in(GRADES)
                            & pl.col("grade_after").is_in(GRADES)
                            & (pl.col("grade_before") != pl.col("grade_after")))
        up = moved.filter(pl.col("grade_after").replace_strict(order, default=9)
                          < pl.col("grade_before").replace_strict(order, default=9))
        moves = (moved.group_by("grade_before", "grade_after").len()
                 .sort("len", "grade_before", "grade_after", descending=[True, False, False]))
        pay0 = float(rows["variable_pay_before"].fill_null(0).sum())
        pay1 = float(rows["variable_pay_after"].fill_null(0).sum())
        teams = (moved.group_by("team_id").len().sort("len", "team_id", descending=[True, False])
                 .head(3))
        text = (f"On {last_check.month}, {moved.height} of {rows.height} agents change grade "
                f"({up.height} up, {moved.height - up.height} down")
        if moves.height:
            text += ": " + ", ".join(f"{a}->{b} {k}" for a, b, k in moves.head(4).iter_rows())
        text += ")"
        if teams.height:
            text += ", most in " + ", ".join(f"{t} ({k})" for t, k in teams.iter_rows())
        text += (f"; variable pay {pay0:,.0f} -> {pay1:,.0f} ({pay1 - pay0:+,.0f}).")
        parts.append(text)
        teams = last_check.teams
        if teams is not None and teams.height:
            moved_teams = teams.filter(pl.col("grade_before").ne_missing(pl.col("grade_after")))
            parts.append(
                f"Team managers: {moved_teams.height} of {teams.height} team grade(s) change"
                + "".join(f"; {r['team_id']} {r['grade_before']}->{r['grade_after']}"
                          for r in moved_teams.head(6).to_dicts())
                + (f" ({len(result.team_rules)} team rule(s) re-fitted)." if result.team_rules
                   else "."))
    parts.append(f"No vetoed or conduct-gated agent earns variable pay under it "
                 f"({result.conduct_held} such agent-month(s) checked over "
                 f"{len(result.checked)} month(s)).")
    return " ".join(parts)


def _load(text: str) -> Config:
    """A configuration object from a proposal's text (validated like any configuration file)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "proposal.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return load_config(path)
        except ConfigError as exc:
            raise CalibrationError(f"the proposal does not load: {exc}") from None


def parse_distribution(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    try:
        pairs = dict(item.split("=", 1) for item in text.split(","))
        return {k.strip(): float(v) for k, v in pairs.items()}
    except ValueError:
        raise CalibrationError("--distribution must look like S=5,A=15,B=30,C=35,D=15"
                               ) from None

