"""Monthly HTML reports: a scorecard per agent, a report per team, the centre summary, an index.

Data comes from the marts in a handful of queries per month (never per agent); the shared Jinja
environment of kaohe.i18n renders ``reports/templates/*.html.j2`` with autoescaping, CSS inline
and charts as inline SVG, so each file is self-contained, works offline and prints on A4. Every
label comes from kaohe.i18n (the mart dictionaries and ``reports/i18n.yaml``); the dimension
weights, the grade bands and the missing-dimension rule shown come from the configuration the
reports are rendered under. Written to ``<home>/reports/YYYY-MM/`` (``agents/<agent_id>.html``,
``teams/<team_id>.html``, ``center.html``, ``index.html``, next to ``data-quality.html``), each
file atomically. The team report opens with the team manager's appraisal
(``marts.team_month_scorecard`` under ``team_scorecard.rules``); the centre summary lists every
team's.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
from markupsafe import Markup, escape

from kaohe.config import DIMENSIONS, TICKET_TYPES, Config, ConfigError, load_config
from kaohe.i18n import LANGS, cny, environment, metric_labels, num, pct, texts
from kaohe.models import model_sql
from kaohe.months import month_bounds
from kaohe.paths import data_path
from kaohe.quality import stored_results

__all__ = ["LANGS", "bar_chart", "cny", "histogram", "line_chart", "load_month", "num", "pct",
           "render_month", "score_bands"]

log = logging.getLogger("kaohe.reports")


# ---------------------------------------------------------------------------------------------
# charts


def line_chart(points: list[tuple[str, float | None]], width: int = 320, height: int = 90,
               lo: float = 0, hi: float = 100) -> Markup:
    """A small inline SVG line chart (months on x, value on y); gaps for missing months."""
    if not points:
        return Markup("")
    pad = 18
    n = len(points)
    step = (width - 2 * pad) / max(n - 1, 1)

    def y(v: float) -> float:
        return height - pad - (min(max(v, lo), hi) - lo) / (hi - lo) * (height - 2 * pad)

    dots, labels, path = [], [], []
    for i, (label, value) in enumerate(points):
        x = pad + i * step
        labels.append(f'<text x="{x:.1f}" y="{height - 3}" font-size="9" '
                      f'text-anchor="middle" fill="#52606d">{escape(label)}</text>')
        if value is None:
            path.append(None)
            continue
        path.append((x, y(value)))
        dots.append(f'<circle cx="{x:.1f}" cy="{y(value):.1f}" r="2.5" fill="#2f6fde"/>'
                    f'<text x="{x:.1f}" y="{y(value) - 5:.1f}" font-size="9" '
                    f'text-anchor="middle" fill="#1f2933">{value:.0f}</text>')
    segments, current = [], []
    for p in path:
        if p is None:
            if len(current) > 1:
                segments.append(current)
            current = []
        else:
            current.append(p)
    if len(current) > 1:
        segments.append(current)
    lines = "".join(
        '<polyline fill="none" stroke="#2f6fde" stroke-width="1.5" points="'
        + " ".join(f"{x:.1f},{yy:.1f}" for x, yy in seg) + '"/>' for seg in segments)
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                  f'viewBox="0 0 {width} {height}" role="img">'
                  f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
                  f'stroke="#cbd2d9"/>{lines}{"".join(dots)}{"".join(labels)}</svg>')


def bar_chart(items: list[tuple[str, float]], width: int = 320, bar: int = 14,
              fmt=lambda v: f"{v:.0f}", color: str = "#2f6fde") -> Markup:
    """Horizontal bars with labels, as inline SVG."""
    if not items:
        return Markup("")
    top = max((v for _, v in items if v is not None), default=0) or 1
    label_w, gap = 70, 4
    height = len(items) * (bar + gap)
    rows = []
    for i, (label, value) in enumerate(items):
        y = i * (bar + gap)
        w = 0 if value is None else max(0.0, value) / top * (width - label_w - 50)
        rows.append(
            f'<text x="0" y="{y + bar - 3}" font-size="10" fill="#1f2933">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar}" fill="{color}" rx="2"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 3}" font-size="10" '
            f'fill="#52606d">{escape(fmt(value) if value is not None else "–")}</text>')
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                  f'viewBox="0 0 {width} {height}" role="img">{"".join(rows)}</svg>')


def histogram(values: list[float], bands: list[tuple[str, float, float]],
              width: int = 320) -> Markup:
    counts = [(label, float(sum(lo <= v < hi for v in values))) for label, lo, hi in bands]
    return bar_chart(counts, width=width, fmt=lambda v: f"{v:.0f}", color="#7b61ff")


# ---------------------------------------------------------------------------------------------
# data: a few queries per month, then plain dicts for the templates


@dataclass
class MonthData:
    month: str
    cards: pl.DataFrame
    teams: pl.DataFrame
    center: dict
    agencies: pl.DataFrame
    mismatches: pl.DataFrame
    trend: pl.DataFrame
    buckets: pl.DataFrame
    team_medians: pl.DataFrame
    checks: list
    quarantine: list[dict]
    late_sources: list[str]
    restated_on: str | None
    alerts: pl.DataFrame | None = None
    agreement: pl.DataFrame | None = None
    roll_rates: pl.DataFrame | None = None
    rehabilitation: pl.DataFrame | None = None


def report_sql(name: str) -> str:
    """A query of the reports: ``sql/reports/<name>.sql``."""
    return model_sql("reports", name)


def _df(con: duckdb.DuckDBPyConnection, query: str, **params) -> pl.DataFrame:
    return con.sql(query, params=params or None).pl()


def load_month(con: duckdb.DuckDBPyConnection, month: str) -> MonthData:
    start, end, _ = month_bounds(month)
    six = start.replace(year=start.year - (start.month <= 5),
                        month=(start.month - 6) % 12 + 1)
    cards = _df(con, report_sql("agent_cards"), start=start, end=end)
    teams = _df(con, report_sql("teams"), start=start, end=end)
    center = _df(con, "select * from marts.center_month_summary where month = $start",
                 start=start).to_dicts()
    trend = _df(con, report_sql("composite_trend"), six=six, start=start)
    buckets = _df(con, report_sql("portfolio_buckets"), start=start, end=end)
    team_medians = _df(con, report_sql("team_medians"), start=start)
    quarantine = _df(con, report_sql("quarantine_summary"), start=start, end=end).to_dicts()
    checks = stored_results(con, month)
    late = [r.sample for r in checks if r.check == "daily_sources_fresh" and not r.passed]
    restated = con.execute(
        "select value from audit.warehouse_meta where key = ?", [f"restated:{month}"]
    ).fetchall()
    return MonthData(
        month=month, cards=cards, teams=teams, center=center[0] if center else {},
        agencies=_df(con, "select * from marts.agency_month_metrics where month = $start "
                          "order by agency_id", start=start),
        mismatches=_df(con, "select * from marts.skill_risk_mismatches where month = $start "
                            "order by team_id, assigned_at", start=start),
        trend=trend, buckets=buckets, team_medians=team_medians, checks=checks,
        quarantine=quarantine, late_sources=[s for group in late for s in group],
        restated_on=restated[0][0] if restated else None,
        alerts=_df(con, report_sql("conduct_alerts"), start=start),
        agreement=_df(con, "select * from marts.qa_model_agreement where month = $start "
                           "order by model_version, label", start=start),
        roll_rates=_df(con, "select * from marts.roll_rates where month = $start "
                            "order by scope, team_id, opening_rank, closing_rank", start=start),
        rehabilitation=_df(con, report_sql("rehabilitation_summary"), start=start),
    )


# ---------------------------------------------------------------------------------------------
# rendering

# The score histograms split the range below the lowest grade band once more, here: a display
# choice of the reports, not a rule of the appraisal (the grade bands are scorecard.grades).
HISTOGRAM_SPLIT = 60.0


def score_bands(grades: dict[str, float]) -> list[tuple[str, float, float]]:
    """The bands of the score histograms: the grade bands of ``scorecard.grades``."""
    edges = sorted({HISTOGRAM_SPLIT, *(float(v) for v in grades.values())})
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


def render_month(con: duckdb.DuckDBPyConnection, reports_dir: Path, month: str,
                 lang: str = "zh", config: Config | str | None = None) -> RenderResult:
    """Render every report of the month into reports_dir/month.

    ``config``: the Config the month is appraised under (None: the shipped one); its version is
    in every footer and its dimension weights, grade bands and missing-dimension rule are shown.
    """
    if lang not in LANGS:
        raise ValueError(f"--lang must be one of {LANGS}")
    cfg, known = resolve_config(config)
    data = load_month(con, month)
    started = time.perf_counter()
    env = environment()
    t = texts(lang)
    out = reports_dir / month
    sc = cfg.scorecard
    bands = score_bands(sc.grades)
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
    months = _last_months(month, 6)
    card_template = env.get_template("agent_card.html.j2")
    own_alerts: dict[str, list[dict]] = {}
    for a in (data.alerts.to_dicts() if data.alerts is not None else []):
        own_alerts.setdefault(a["agent_id"], []).append(a)
    for card in cards:
        card["alerts"] = own_alerts.get(card["agent_id"], [])
        history = {r["month"].strftime("%Y-%m"): r["composite"]
                   for r in trend[card["agent_id"]].to_dicts()} if card["agent_id"] in trend \
            else {}
        mix = buckets.get(card["agent_id"])
        card["trend_svg"] = line_chart([(m[5:], history.get(m)) for m in months])
        card["bucket_svg"] = bar_chart(
            [(r["bucket"], r["amount_due"]) for r in mix.to_dicts()] if mix is not None
            else [], fmt=lambda v: f"¥{v:,.0f}")
        card["team_median"] = medians.get(card["team_id"], {})
        _write(data_path(out, "agents", card["agent_id"]), card_template.render(
            c=card, weights=weights, missing_dimension=sc.missing_dimension, **common))
    elapsed = time.perf_counter() - started
    team_template = env.get_template("team_report.html.j2")
    by_team = {}
    for card in cards:
        by_team.setdefault(card["team_id"] or "(no team)", []).append(card)
    mismatches = data.mismatches.to_dicts()
    alerts = data.alerts.to_dicts() if data.alerts is not None else []
    teams = data.teams.to_dicts()
    for team in teams:
        members = sorted(by_team.get(team["team_id"], []),
                         key=lambda c: (c["team_rank"] is None, c["team_rank"] or 0,
                                        c["agent_id"]))
        scores = [c["composite"] for c in members if c["composite"] is not None]
        _write(data_path(out, "teams", team["team_id"]), team_template.render(
            team=team, members=members, distribution=histogram(scores, bands),
            mismatches=[m for m in mismatches if m["team_id"] == team["team_id"]],
            vetoed=[c for c in members if c["veto"]],
            alerts=[a for a in alerts if a["team_id"] == team["team_id"]],
            ticket_types=TICKET_TYPES, team_rules=cfg.team_scorecard.rules,
            teams_count=len(teams), roll=roll_matrix(data.roll_rates, team["team_id"]),
            **common))
    failed = [r for r in data.checks if not r.passed]
    dq = {"failed": failed, "quarantine": data.quarantine, "late": data.late_sources,
          "quarantined": sum(q["n"] for q in data.quarantine)}
    scores = [c["composite"] for c in cards if c["composite"] is not None]
    _write(out / "center.html", env.get_template("center_summary.html.j2").render(
        center=data.center, teams=teams, agencies=data.agencies.to_dicts(),
        team_rules=cfg.team_scorecard.rules, team_scores=sorted(teams, key=lambda x: (
            x.get("rank_among_teams") is None, x.get("rank_among_teams") or 0, x["team_id"])),
        distribution=histogram(scores, bands), dq=dq,
        grades=_grade_counts(cards, sc.grades), not_appraised=_not_appraised(cards),
        roll=roll_matrix(data.roll_rates, None),
        rehabilitation=rehabilitation_table(data.rehabilitation),
        **common))
    _write(out / COMPLIANCE_PAGE, render_compliance(env, data, cards, alerts, cfg, common))
    _write(out / "index.html", env.get_template("index.html.j2").render(
        cards=cards, teams=data.teams.to_dicts(), dq=dq, center=data.center, **common))
    return RenderResult(out, len(cards), data.teams.height, elapsed,
                        len(cards) / elapsed if elapsed else float("inf"))


AGING_BUCKETS = ("current", "M1", "M2", "M3", "M4", "M5", "M6", "M6+")


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


def rehabilitation_table(rows: pl.DataFrame | None) -> list[dict]:
    """Per plan type: the pooled shares back to normal at 12, 24 and 36 months, and a small
    curve of them (horizons with no cohort yet are left out)."""
    if rows is None or rows.is_empty():
        return []
    out = []
    for (plan_type,), part in rows.partition_by("plan_type", as_dict=True,
                                                maintain_order=True).items():
        by_h = {r["horizon_months"]: r for r in part.to_dicts()}
        curve = [(f"{h}", 100 * by_h[h]["normal_share"]) for h in (12, 24, 36)
                 if h in by_h and by_h[h]["normal_share"] is not None]
        out.append({"plan_type": plan_type, "horizons": by_h,
                    "curve": line_chart(curve, width=180, height=70) if curve else ""})
    return out


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
        agencies=data.agencies.to_dicts(),
        min_share=cfg.compliance.spot_check_daily_min_share,
        agreement=data.agreement.to_dicts() if data.agreement is not None else [],
        **common)


def _grade_counts(cards: list[dict], bands: dict[str, float]) -> list[tuple[str, float]]:
    grades = [*bands, "D", "VETO"]   # the graded bands of scorecard.grades, below them D
    return [(g, float(sum(c["grade"] == g for c in cards))) for g in grades]


def _not_appraised(cards: list[dict]) -> list[tuple[str, int]]:
    """(reason, agents) of the agents not appraised this month, most frequent first."""
    reasons: dict[str, int] = {}
    for c in cards:
        if c.get("not_appraised_reason"):
            reasons[c["not_appraised_reason"]] = reasons.get(c["not_appraised_reason"], 0) + 1
    return sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))


def _last_months(month: str, n: int) -> list[str]:
    y, m = int(month[:4]), int(month[5:])
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]
