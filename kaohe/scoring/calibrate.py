"""``kaohe calibrate``: a configuration proposed from the lender's own appraised history.

From the published agent-months of ``--from`` .. ``--to`` that were appraised (grade not NA,
not VETO):
1. **Rules**: each scoring rule's floor and target move to percentiles of the metric's own
   history (default p10 → 0 points and p90 → 100 points, direction respected: for "lower is
   better" the floor is the high percentile). Compliance rules never become more lenient than
   the configuration they start from (a floor is clamped at or below the current one, and the
   target of a "lower" compliance rule stays at its current value: zero tolerance stays zero
   tolerance); a rule the regulatory rule pack pins (the mandatory pass-rate target) keeps it.
2. **Bands**: the history is re-scored under the new rules with the scorecard's own function
   (kaohe.scoring.scorecard.score) and the grade bands are set at the composite quantiles that give
   the target distribution (default S 5, A 15, B 30, C 35, D 15).
The result is a complete configuration (the base one with rules and bands replaced), checked to
load and to pass ``kaohe audit-config``; ``kaohe whatif`` with it shows what it would do.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from kaohe.config import Config, load_config
from kaohe.months import month_bounds
from kaohe.scoring.history import NoHistoryError, scoring_history
from kaohe.scoring.rule_audit import audit, errors
from kaohe.scoring.scorecard import score

DEFAULT_DISTRIBUTION = {"S": 5.0, "A": 15.0, "B": 30.0, "C": 35.0, "D": 15.0}


class CalibrationError(RuntimeError):
    """Too little history to calibrate on, or a proposal that fails its own checks."""


@dataclass
class Calibration:
    config_text: str
    config: Config
    agent_months: int
    before: dict[str, int]
    after: dict[str, int]
    rules: list[tuple[str, str, float, float, float, float]]  # dim, metric, old/new floor/target


def months_between(first: str, last: str) -> list[str]:
    out, month = [], first
    while month <= last:
        out.append(month)
        month = month_bounds(month)[1].strftime("%Y-%m")
    return out


def _grades_of(scored: pl.DataFrame) -> dict[str, int]:
    counts = dict(scored.group_by("grade").len().iter_rows())
    return {g: int(counts.get(g, 0)) for g in ("S", "A", "B", "C", "D")}


def calibrate(published: Path, first: str, last: str, base: Config,
              distribution: dict[str, float] | None = None, low: float = 0.10,
              high: float = 0.90) -> Calibration:
    dist = distribution or DEFAULT_DISTRIBUTION
    if set(dist) != set(DEFAULT_DISTRIBUTION) or abs(sum(dist.values()) - 100) > 1e-6:
        raise CalibrationError("--distribution must give S, A, B, C and D summing to 100")
    if not published.exists():
        raise CalibrationError(f"no published warehouse at {published}: run the months first")
    try:
        history = scoring_history(published, months_between(first, last), base)
    except NoHistoryError as exc:
        raise CalibrationError(str(exc)) from None
    scored_before = score(history, base)
    before = _grades_of(scored_before)
    # the value each rule scored, per agent-month (the scorecard's derived metrics included)
    values = scored_before.select(pl.col("rule_points")).explode("rule_points").unnest(
        "rule_points")
    data = copy.deepcopy(base.raw)
    pinned = {"mandatory_pass_rate"}  # the rule pack's target (config/regulatory_rules.yaml)
    changes = []
    for dim, rules in data["scorecard"]["rules"].items():
        for rule in rules:
            metric = rule["metric"]
            v = values.filter((pl.col("dimension") == dim) & (pl.col("metric") == metric)
                              )["value"].drop_nulls()
            if v.len() < 10 or metric in pinned:
                continue
            lo, hi = float(v.quantile(low, "linear")), float(v.quantile(high, "linear"))
            old_floor, old_target = float(rule["floor"]), float(rule["target"])
            if rule["direction"] == "higher":
                floor, target = lo, hi
            else:
                floor, target = hi, lo
            if dim == "compliance":  # never more lenient than the starting rules
                if rule["direction"] == "lower":
                    floor, target = min(floor, old_floor), old_target
                else:
                    floor, target = max(floor, old_floor), max(target, old_target)
            if abs(target - floor) < 1e-9:  # no spread in the history: keep the rule
                continue
            rule["floor"], rule["target"] = round(floor, 4), round(target, 4)
            changes.append((dim, metric, old_floor, rule["floor"], old_target, rule["target"]))
    # bands: re-score the history under the new rules, cut at the target shares
    provisional = _load(data, base)
    composites = score(history, provisional).filter(
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
    data["scorecard"]["grades"] = bands
    data["version"] = f"{base.version}-calibrated-{first}-{last}"
    text = ("# Proposed by kaohe calibrate from the appraised agent-months of "
            f"{first}..{last} ({history.height} agent-months): rule floors/targets at p"
            f"{low * 100:.0f}/p{high * 100:.0f}, compliance never more lenient, bands for "
            + ", ".join(f"{g} {s:g}%" for g, s in dist.items())
            + ". Review it with kaohe whatif before it goes live.\n"
            + yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    proposed = _load(data, base, text)
    failed = errors(audit(proposed))
    if failed:
        raise CalibrationError("the proposal fails kaohe audit-config: " + "; ".join(
            f"[{f.rule}] {f.detail}" for f in failed))
    after = _grades_of(score(history, proposed))
    return Calibration(text, proposed, history.height, before, after, changes)


def _load(data: dict, base: Config, text: str | None = None) -> Config:
    """A configuration object from parsed data (validated like any configuration file)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "proposal.yaml"
        path.write_text(text or yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
        return load_config(path)


def parse_distribution(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    try:
        pairs = dict(item.split("=", 1) for item in text.split(","))
        return {k.strip(): float(v) for k, v in pairs.items()}
    except ValueError:
        raise CalibrationError("--distribution must look like S=5,A=15,B=30,C=35,D=15"
                               ) from None

