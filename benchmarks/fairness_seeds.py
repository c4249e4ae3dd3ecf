"""Fairness on untuned generated centres: for each seed, a small centre of three months
(benchmarks/centre.py), then from its published warehouse and the generator's manifest (latent
skill), over the appraised agent-months:
  - Spearman of each scored rule's value (and of the composite) with the agent's M6+ share of the
    exposure and with the difficulty coefficient (the issue's bar: within +-0.2);
  - the composite's Spearman with latent skill (bar: >= 0.7);
  - the team managers' grades (marts.team_month_scorecard): the grades used, per month and over
    the three months (bar: at least three grades on each seed);
  - noise, with the small-sample shrinkage (fairness.shrink_small_samples) on and off, the months
    re-scored from the published scoring inputs (kaohe.scoring.history): the composite's
    Spearman between consecutive months over the agents appraised in both (rank stability), and
    over pairs of agents of equal latent skill (within 0.02) in a month, the median composite
    difference and the share differing by 10 points or more.

    uv run python benchmarks/fairness_seeds.py --seeds 11 23 42 --work /tmp/seeds \
        --out benchmarks/results/fairness_seeds.json
    uv run python benchmarks/fairness_seeds.py --scale medium --seeds 11 23 42 \
        --work /tmp/seeds-medium --out benchmarks/results/fairness_seeds_medium.json

Small: 60 agents of about 100 cases each, a third of a real agent's book, so a month says less
about an agent than it would in a real centre, and the Spearman of 60 agents-months a month
varies by about 0.08 between seeds. Medium: 300 agents of about 330 cases each.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.centre import MONTHS, build_centre, run_seeds  # noqa: E402
from kaohe.config import DEFAULT_CONFIG, load_config  # noqa: E402
from kaohe.scoring.history import scoring_history  # noqa: E402
from kaohe.scoring.scorecard import score  # noqa: E402


def spearman(frame: pl.DataFrame, a: str, b: str) -> float | None:
    pair = frame.select(pl.col(a).cast(pl.Float64), pl.col(b).cast(pl.Float64)).drop_nulls()
    if pair.height < 10:
        return None
    return round(pair.select(pl.corr(pl.col(a).rank(), pl.col(b).rank())).item(), 3)


def noise(published: Path, skill: dict[str, float], shrink_on: bool, tmp: Path) -> dict:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace(
        "fairness:\n", f"fairness:\n  shrink_small_samples: {str(shrink_on).lower()}\n", 1)
    path = tmp / f"shrink-{shrink_on}.yaml"
    path.write_text(text, encoding="utf-8")
    cfg = load_config(path)
    months = []
    for month in MONTHS:
        scored = score(scoring_history(published, [month], cfg), cfg).filter(
            pl.col("composite").is_not_null() & ~pl.col("veto"))
        months.append(scored.select("agent_id", "composite").with_columns(
            skill=pl.col("agent_id").replace_strict(skill, default=None)))
    stability = []
    for a, b in zip(months, months[1:], strict=False):
        both = a.join(b, on="agent_id", suffix="_next")
        stability.append(spearman(both, "composite", "composite_next"))
    diffs = []
    for m in months:
        pairs = m.join(m, how="cross", suffix="_b").filter(
            (pl.col("agent_id") < pl.col("agent_id_b"))
            & ((pl.col("skill") - pl.col("skill_b")).abs() < 0.02))
        diffs.append((pairs["composite"] - pairs["composite_b"]).abs())
    d = pl.concat(diffs)
    return {"rank_stability_by_month_pair": stability,
            "skill_spearman_by_month": [spearman(m, "composite", "skill") for m in months],
            "equal_skill_pairs": d.len(),
            "equal_skill_median_difference": round(float(d.median()), 2),
            "equal_skill_share_10_points_or_more": round(float((d >= 10).mean()), 3)}


def one_seed(seed: int, work: Path) -> dict:
    manifest = build_centre(seed, work, reuse=True)
    con = duckdb.connect(str(work / "home" / "warehouse" / "kaohe.duckdb"), read_only=True)
    try:
        cards = con.sql("""
            with m6 as (
                select s.agent_id, s.month,
                       case when b.exposure > 0 then coalesce(b.m6plus_share, 0) end
                           as m6plus_share
                from marts.agent_month_scorecard s,
                     intermediate.agent_book(s.month, (s.month + interval 1 month)::date) b
                where b.agent_id = s.agent_id)
            select s.agent_id, s.month, s.composite, s.difficulty_coefficient, s.rule_points,
                   m6.m6plus_share
            from marts.agent_month_scorecard s left join m6 using (agent_id, month)
            where s.composite is not null and not s.veto""").pl()
        teams = con.sql("select month, team_id, composite, grade "
                        "from marts.team_month_scorecard order by month, team_id").pl()
    finally:
        con.close()
    skill = manifest["latent_skill"]
    cards = cards.join(pl.DataFrame({"agent_id": list(skill),
                                     "latent_skill": list(skill.values())}), on="agent_id")
    rules = (cards.select("agent_id", "month", "m6plus_share", "difficulty_coefficient",
                          "rule_points").explode("rule_points").unnest("rule_points")
             .filter(pl.col("weight") > 0))
    per_rule = {}
    for (dim, metric), part in rules.partition_by("dimension", "metric", as_dict=True).items():
        per_rule[f"{dim}.{metric}"] = {
            "latent_skill": spearman(part.join(cards.select("agent_id", "month", "latent_skill"),
                                               on=["agent_id", "month"]), "value", "latent_skill"),
            "m6plus_share": spearman(part, "value", "m6plus_share"),
            "difficulty": spearman(part, "value", "difficulty_coefficient"),
            "agent_months": part.height}
    grades = {str(m): sorted(set(p["grade"].to_list()))
              for (m,), p in teams.partition_by("month", as_dict=True).items()}
    published = work / "home" / "warehouse" / "kaohe.duckdb"
    noise_on = noise(published, skill, True, work)
    noise_off = noise(published, skill, False, work)
    return {
        "seed": seed,
        "scale": json.loads((work / "built.json").read_text()).get("scale", "small"),
        "agent_months": cards.height,
        "noise_shrunk": noise_on, "noise_raw": noise_off,
        "composite": {"latent_skill": spearman(cards, "composite", "latent_skill"),
                      "m6plus_share": spearman(cards, "composite", "m6plus_share"),
                      "difficulty": spearman(cards, "composite", "difficulty_coefficient")},
        "rules": dict(sorted(per_rule.items())),
        "team_grades_by_month": grades,
        "team_grades_used": sorted(set(teams["grade"].to_list())),
        "team_composites": teams["composite"].to_list(),
    }


def main() -> int:
    out = run_seeds(one_seed, __doc__.split("\n")[0], "kaohe-fair")
    ok = all(r["composite"]["latent_skill"] >= 0.7 and len(r["team_grades_used"]) >= 3
             and all(abs(v[k] or 0) <= 0.2 for v in r["rules"].values()
                     for k in ("m6plus_share", "difficulty")) for r in out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
