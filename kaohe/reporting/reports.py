"""Monthly HTML reports: a scorecard per agent, a report per team, the centre summary, an index.

Data comes from the marts in a handful of queries per month, never per agent
(kaohe.reporting.month_data); every explanation (the target, a veto, not appraised, the promotion
progress, a mismatch) is worded from the parts the marts give, never from their English sentences
(kaohe.reporting.explanations); this module renders and writes the pages. The shared Jinja
environment of kaohe.reporting.i18n renders ``reports/templates/*.html.j2`` with autoescaping, CSS
inline and charts as inline SVG, so each file is self-contained, works offline and prints on A4.
Every label comes from kaohe.reporting.i18n (the mart dictionaries and ``reports/i18n.yaml``); the
dimension weights, the grade bands and the missing-dimension rule shown come from the configuration
the reports are rendered under. Written to ``<home>/reports/YYYY-MM/`` (``agents/<agent_id>.html``,
``teams/<team_id>.html``, ``center.html``, ``index.html``, next to ``data-quality.html``), each
file atomically, in the configured language (``reports.lang``); a rendering in another language
(``kaohe report --lang``) goes beside it, in ``<home>/reports/YYYY-MM/<lang>/``, never over it,
and each index links the other languages rendered (``kaohe.paths.rendering_dir``). The team
report opens with the team manager's appraisal (``marts.team_month_scorecard`` under
``team_scorecard.rules``); the centre summary lists every team's. Every page of a rendering is
in one language, ``data-quality.html`` included; the charts are ``kaohe/reporting/charts.py``.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from kaohe.config import DIMENSIONS, TICKET_TYPES, Config, ConfigError, load_config
from kaohe.ingest.contract import BUCKETS
from kaohe.months import month_bounds
from kaohe.paths import data_path, rendering_dir
from kaohe.quality import page as quality_page
from kaohe.reporting.charts import bar_chart, histogram, line_chart
from kaohe.reporting.explanations import (
    gate_text,
    mismatch_text,
    mismatches_by_agent,
    not_appraised_counts,
    not_appraised_text,
    promotion_text,
    target_text,
    veto_text,
)
from kaohe.reporting.i18n import LANGS, cny, environment, metric_labels, num, pct, texts
from kaohe.reporting.month_data import MonthData, load_month
from kaohe.scoring.next_steps import next_steps, team_next_steps
from kaohe.scoring.shrinkage import intervals

__all__ = ["LANGS", "MonthData", "bar_chart", "cny", "histogram", "line_chart", "load_month",
           "num", "pct", "render_month", "score_bands"]

log = logging.getLogger("kaohe.reporting.reports")


# ---------------------------------------------------------------------------------------------
# rendering

def score_bands(grades: dict[str, float]) -> list[tuple[str, float, float]]:
    """The bands of the score histograms: exactly the grade bands of ``scorecard.grades``, one
    row per grade (an extra display split once fell inside the C band: two rows tagged C)."""
    edges = sorted({float(v) for v in grades.values()})
    return ([(f"<{edges[0]:g}", -1, edges[0])]
            + [(f"{lo:g}-{hi:g}", lo, hi) for lo, hi in zip(edges, edges[1:], strict=False)]
            + [(f"{edges[-1]:g}+", edges[-1], 101)])


def resolve_config(config: Config | str | None) -> tuple[Config, bool]:
    """The configuration to render under, and whether it is the one the caller means.

    A Config is used as given; None (or "") is the shipped ``config/kaohe.yaml``. A version
    string (what callers passed before: ``cfg.config_version``) is matched against
    ``KAOHE_CONFIG`` and the shipped file; when neither has that version, the shipped file's
    grade bands are used and no dimension weight is shown (False): pass the Config itself.
    """
    if isinstance(config, Config):
        return config, True
    if not config:
        return load_config(None), True
    candidates = [os.environ.get("KAOHE_CONFIG") or None, None]
    for path in dict.fromkeys(candidates):
        try:
            cfg = load_config(path)
        except ConfigError:  # an unreadable candidate is just not the one
            continue
        if cfg.config_version == config:
            return cfg, True
    log.warning("render_month got the configuration version %r, not the Config: no dimension "
                "weight is shown; pass the Config", config)
    return load_config(None), False


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


@dataclass
class RenderResult:
    directory: Path
    agents: int
    teams: int
    seconds: float
    cards_per_second: float


def _languages(reports_dir: Path, month: str, lang: str, primary: str) -> list[dict]:
    """The renderings of the month the index links: this one and every other already written,
    each with its href relative to this rendering's folder."""
    here = rendering_dir(reports_dir, month, lang, primary)
    out = []
    for other in LANGS:
        index = rendering_dir(reports_dir, month, other, primary) / "index.html"
        if other == lang or index.exists():
            out.append({"lang": other, "current": other == lang,
                        "href": Path(os.path.relpath(index, here)).as_posix()})
    return out


def render_month(con: duckdb.DuckDBPyConnection, reports_dir: Path, month: str,
                 lang: str = "zh", config: Config | str | None = None,
                 relink: bool = True) -> RenderResult:
    """Render every report of the month, data-quality.html included, all in ``lang``, into
    ``kaohe.paths.rendering_dir`` (the configured language's folder, or one of its own for
    another).

    ``config``: the Config the month is appraised under (None: the shipped one); its version is
    in every footer and its dimension weights, grade bands and missing-dimension rule are shown.
    ``relink``: when this language had no rendering of the month yet, the other languages'
    renderings are rendered again so their indexes link it.
    """
    if lang not in LANGS:
        raise ValueError(f"--lang must be one of {LANGS}")
    cfg, known = resolve_config(config)
    primary = cfg.reports.lang
    out = rendering_dir(reports_dir, month, lang, primary)
    new_language = not (out / "index.html").exists()
    data = load_month(con, month)
    started = time.perf_counter()
    env = environment()
    t = texts(lang)
    sc = cfg.scorecard
    bands = score_bands(sc.grades)
    # each band's grade beside it, when grades are the bands (not under grading by distribution)
    tags = (None if cfg.grading.mode == "distribution"
            else [band_grade(lo, sc.grades) for _, lo, _ in bands])
    common = {
        "t": t, "m": metric_labels(lang), "month": month, "lang": lang,
        "config_version": cfg.config_version if known else config,
        "generated_at": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "restated": t["restated"].format(date=data.restated_on) if data.restated_on else None,
    }
    # the card's dimensions in their order, each with its configured weight (None: unknown)
    weights = [(d, sc.weights[d] if known else None) for d in DIMENSIONS]
    trend = {k[0]: rows for k, rows in
             data.trend.partition_by("agent_id", as_dict=True, maintain_order=True).items()}
    buckets = {k[0]: rows for k, rows in
               data.buckets.partition_by("agent_id", as_dict=True).items()}
    medians = {r["team_id"]: r for r in data.team_medians.to_dicts()}
    cards = data.cards.to_dicts()
    card_template = env.get_template("agent_card.html.j2")
    own_alerts: dict[str, list[dict]] = {}
    for a in (data.alerts.to_dicts() if data.alerts is not None else []):
        own_alerts.setdefault(a["agent_id"], []).append(a)
    # what each appraised agent can do next (needs the month's weights: the configuration known)
    steps = next_steps(data.cards, cfg) if known else {}
    # the rates scored on few events: shrunk, with their 90% interval (kaohe/scoring/shrinkage)
    spans = intervals(data.cards) if known and cfg.fairness.shrink_small_samples else {}
    scored = {r.metric for r in sc.rules if r.weight > 0 or r.high_risk_weight > 0}
    spans = {a: {k: v for k, v in s.items() if k in scored} for a, s in spans.items()}
    # agents like you: the card's comparison in place of the centre rank, per agent and measure
    like_you: dict[str, dict[str, dict]] = {}
    for r in (data.peers.to_dicts() if data.peers is not None else []):
        like_you.setdefault(r["agent_id"], {})[f"{r['dimension']}.{r['measure']}"] = r
    # appeals (申诉) about the month's items, and whether its grades are final yet
    own_appeals: dict[str, list[dict]] = {}
    for a in (data.appeals.to_dicts() if data.appeals is not None else []):
        own_appeals.setdefault(a["agent_id"], []).append(a)
    final_on = month_bounds(month)[1] + timedelta(days=cfg.appeals.window_days)
    before_final = datetime.now(ZoneInfo(cfg.timezone)).date() < final_on
    for card in cards:
        card["alerts"] = own_alerts.get(card["agent_id"], [])
        card["appeals"] = own_appeals.get(card["agent_id"], [])
        card["appeal_groups"] = _appeal_groups(card["appeals"])
        card["pending_appeals"] = sum(a["decision"] == "pending" for a in card["appeals"])
        card["provisional"] = before_final or card["pending_appeals"] > 0
        card["peers"] = like_you.get(card["agent_id"], {})
        card["next_steps"] = steps.get(card["agent_id"])
        card["intervals"] = spans.get(card["agent_id"], {})
        card["rule_weights"], card["no_data"] = _rule_weights(card, sc.rules if known else [])
        # the explanations worded from their parts (kaohe.reporting.explanations)
        card["veto_text"] = veto_text(card, t)
        card["gate_text"] = gate_text(card, t)
        card["not_appraised_text"] = not_appraised_text(card, t)
        card["target_text"] = target_text(card, t)
        card["promotion_text"] = promotion_text(card, t)
        # only the months with a score, on a real axis (0-100)
        history = trend[card["agent_id"]].to_dicts() if card["agent_id"] in trend else []
        card["trend_svg"] = line_chart(
            [(r["month"].strftime("%Y-%m"), r["composite"]) for r in history
             if r["composite"] is not None], width=290, height=140)
        mix = buckets[card["agent_id"]].to_dicts() if card["agent_id"] in buckets else []
        card["bucket_svg"] = bar_chart(
            [(t["bucket_current"] if r["bucket"] == "current" else r["bucket"], r["amount_due"])
             for r in sorted(mix, key=lambda r: _bucket_rank(r["bucket"]))],
            width=250, fmt=lambda v: cny(v)[:-3])
        card["team_median"] = medians.get(card["team_id"], {})
        _write(data_path(out, "agents", card["agent_id"]), card_template.render(
            c=card, weights=weights, missing_dimension=sc.missing_dimension,
            final_on=final_on.isoformat(), **common))
    elapsed = time.perf_counter() - started
    team_template = env.get_template("team_report.html.j2")
    by_team = {}
    for card in cards:
        by_team.setdefault(card["team_id"] or "(no team)", []).append(card)
    mismatches = data.mismatches.to_dicts()
    for x in mismatches:
        x["reason_text"] = mismatch_text(x, t)
    alerts = data.alerts.to_dicts() if data.alerts is not None else []
    signals = data.signals.to_dicts() if data.signals is not None else []
    teams = data.teams.to_dicts()
    # best windows for the team's portfolio (marts.contact_windows weighted by its segment mix)
    windows: dict[str, list[dict]] = {}
    for w in (data.windows.to_dicts() if data.windows is not None else []):
        windows.setdefault(w["team_id"], []).append(w)
    for team in teams:
        team["next_steps"] = team_next_steps(team, cfg) if known else None
        members = sorted(by_team.get(team["team_id"], []),
                         key=lambda c: (c["team_rank"] is None, c["team_rank"] or 0,
                                        c["agent_id"]))
        _write(data_path(out, "teams", team["team_id"]), team_template.render(
            team=team, members=members, distribution=histogram(_scores(members), bands,
                                                               tags=tags),
            mismatches=mismatches_by_agent(
                [m for m in mismatches if m["team_id"] == team["team_id"]]),
            vetoed=[c for c in members if c["veto"]],
            gated=[c for c in members if c.get("conduct_gate_code")],
            alerts=[a for a in alerts if a["team_id"] == team["team_id"]],
            signals=[s for s in signals if s["team_id"] == team["team_id"]],
            ticket_types=TICKET_TYPES, team_rules=cfg.team_scorecard.rules,
            teams_count=len(teams), roll=roll_matrix(data.roll_rates, team["team_id"]),
            windows=windows.get(team["team_id"], []) if data.windows is not None else None,
            **common))
    failed = [r for r in data.checks if not r.passed]
    dq = {"failed": sorted(failed, key=lambda r: (r.severity != "blocking", r.suite, r.check)),
          "quarantine": data.quarantine, "late": data.late_sources,
          "quarantined": quality_page.rows_quarantined(data.quarantine),
          "files_rejected": quality_page.files_rejected(data.quarantine)}
    _write(out / "center.html", env.get_template("center_summary.html.j2").render(
        center=data.center, teams=teams, agencies=data.agencies.to_dicts(),
        team_rules=cfg.team_scorecard.rules, team_scores=sorted(teams, key=lambda x: (
            x.get("rank_among_teams") is None, x.get("rank_among_teams") or 0, x["team_id"])),
        distribution=histogram(_scores(cards), bands, tags=tags), dq=dq,
        not_appraised=not_appraised_counts(cards),
        roll=roll_matrix(data.roll_rates, None),
        rehabilitation=rehabilitation_table(data.rehabilitation, t),
        **common))
    _write(out / COMPLIANCE_PAGE, render_compliance(env, data, cards, alerts, cfg,
                                                    dict(common, signals=signals)))
    _write(out / "index.html", env.get_template("index.html.j2").render(
        cards=cards, teams=teams, dq=dq, center=data.center,
        languages=_languages(reports_dir, month, lang, primary), **common))
    # the data-quality page in the same language as the reports beside it
    _write(out / "data-quality.html", quality_page.render(month, data.checks, data.quarantine,
                                                          lang))
    if relink and new_language:
        for other in LANGS:
            if other != lang and (rendering_dir(reports_dir, month, other, primary)
                                  / "index.html").exists():
                render_month(con, reports_dir, month, other, config, relink=False)
    return RenderResult(out, len(cards), data.teams.height, elapsed,
                        len(cards) / elapsed if elapsed else float("inf"))


def _rule_weights(card: dict, rules: list) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Each scored rule's weight within its dimension as it was scored (its effective weight
    over the dimension's: they sum to 1), keyed ``dimension.metric``; and per dimension the rules
    of the configuration (``rules``) that would have weighed but had no value this month, whose
    weight went to the others."""
    points = card.get("rule_points") or []
    totals: dict[str, float] = {}
    for r in points:
        totals[r["dimension"]] = totals.get(r["dimension"], 0.0) + (r["weight"] or 0.0)
    share = {f"{r['dimension']}.{r['metric']}": (r["weight"] or 0.0) / totals[r["dimension"]]
             for r in points if totals.get(r["dimension"])}
    values = {(r["dimension"], r["metric"]): r["value"] for r in points}
    high_risk = card.get("high_risk_share") or 0.0
    missing: dict[str, list[str]] = {}
    for rule in rules:
        would = rule.weight + rule.high_risk_weight * high_risk
        if would > 0 and values.get((rule.dimension, rule.metric), 0) is None:
            missing.setdefault(rule.dimension, []).append(rule.metric)
    return share, missing


def _scores(cards: list[dict]) -> list[float]:
    """The composites the score distributions count: appraised agents, not vetoed (a veto's 0
    is no score; the veto is shown as such)."""
    return [c["composite"] for c in cards if c["composite"] is not None and not c["veto"]]


def band_grade(lo: float, grades: dict[str, float]) -> str:
    """The grade of the scores of a histogram band starting at ``lo`` (D below every band)."""
    return next((g for g, v in sorted(grades.items(), key=lambda kv: -kv[1]) if lo >= v), "D")


AGING_BUCKETS = ("current", *BUCKETS)  # dpd 0, then the contract's buckets


def _bucket_rank(bucket: str) -> int:
    return AGING_BUCKETS.index(bucket) if bucket in AGING_BUCKETS else len(AGING_BUCKETS)


def roll_matrix(rows: pl.DataFrame | None, team_id: str | None) -> dict | None:
    """The roll-rate matrix of a team (or the centre, ``team_id`` None) for a table: opening
    buckets as rows, closing buckets as columns, each cell (cases, share of the opening bucket).
    None when the month has no aging data (version 2: cases.dpd)."""
    if rows is None or rows.is_empty():
        return None
    scope = rows.filter(pl.col("team_id").is_null() if team_id is None
                        else pl.col("team_id") == team_id)
    if scope.is_empty():
        return None
    cells = {(r["opening_bucket"], r["closing_bucket"]): (r["cases"], r["share_of_opening"])
             for r in scope.to_dicts()}
    opening = [b for b in AGING_BUCKETS if any(k[0] == b for k in cells)]
    closing = [b for b in AGING_BUCKETS if any(k[1] == b for k in cells)]
    return {"opening": opening, "closing": closing, "cells": cells}


def rehabilitation_table(rows: pl.DataFrame | None, t: dict[str, str] | None = None
                         ) -> list[dict]:
    """Per plan type: the pooled shares back to normal at 12, 24 and 36 months, and a small
    curve of them on a 0-100% axis (horizons with no cohort yet are left out)."""
    if rows is None or rows.is_empty():
        return []
    out = []
    for (plan_type,), part in rows.partition_by("plan_type", as_dict=True,
                                                maintain_order=True).items():
        by_h = {r["horizon_months"]: r for r in part.to_dicts()}
        curve = [(t["after_months"].format(n=h) if t else f"{h}", 100 * by_h[h]["normal_share"])
                 for h in (12, 24, 36) if h in by_h and by_h[h]["normal_share"] is not None]
        out.append({"plan_type": plan_type, "horizons": by_h, "curve": line_chart(
            curve, width=260, height=120, ticks=(0, 50, 100), fmt=lambda v: f"{v:.0f}%")})
    return out


def _appeal_groups(appeals: list[dict]) -> list[dict]:
    """An agent's appeals of the month for the card, counted per subject, QA label and decision
    (the items themselves are in marts.agent_appeals): a line, whatever their number."""
    counts: dict[tuple, int] = {}
    for a in appeals:
        key = (a["subject_type"], a["qa_label"] or "", a["decision"])
        counts[key] = counts.get(key, 0) + 1
    return [{"subject_type": k[0], "qa_label": k[1], "decision": k[2], "n": n}
            for k, n in sorted(counts.items())]


# The compliance officer's page: conduct alerts, vetoes, agency spot checks and the speech-analytics
# model against human reviewers. Delivered only to delivery.compliance_recipients; not linked from
# the index, which every manager receives.
COMPLIANCE_PAGE = "compliance.html"


def render_compliance(env, data: MonthData, cards: list[dict], alerts: list[dict], cfg: Config,
                      common: dict) -> str:
    in_house = [a for a in alerts if not a["agency_id"]]
    by_agency: dict[str, list[dict]] = {}
    for a in alerts:
        if a["agency_id"]:
            by_agency.setdefault(a["agency_id"], []).append(a)
    counts = {s: sum(a["severity"] == s for a in alerts) for s in ("high", "medium", "low")}
    counts["agents"] = len({a["agent_id"] for a in alerts})
    return env.get_template("compliance.html.j2").render(
        center=data.center, counts=counts, in_house=in_house,
        by_agency=sorted(by_agency.items()),
        vetoed=[c for c in cards if c["veto"]],
        gated=[c for c in cards if c.get("conduct_gate_code")],
        agencies=data.agencies.to_dicts(),
        min_share=cfg.compliance.spot_check_daily_min_share,
        agreement=data.agreement.to_dicts() if data.agreement is not None else [],
        appeal_outcomes=(data.appeal_outcomes.to_dicts()
                         if data.appeal_outcomes is not None else []),
        **common)
