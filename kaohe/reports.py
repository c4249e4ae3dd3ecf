"""Monthly HTML reports: a scorecard per agent, a report per team, the centre summary, an index.

Data comes from the marts in a handful of queries per month (never per agent); Jinja2 renders
``reports/templates/*.html.j2`` with autoescaping, CSS inline and charts as inline SVG, so each
file is self-contained, works offline and prints on A4. Written to
``<home>/reports/YYYY-MM/`` (``agents/<agent_id>.html``, ``teams/<team_id>.html``,
``center.html``, ``index.html``, next to ``data-quality.html``), each file atomically.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from kaohe.models import model_sql
from kaohe.months import month_bounds
from kaohe.paths import data_path, safe_name
from kaohe.quality import stored_results

TEMPLATES = Path(__file__).resolve().parents[1] / "reports" / "templates"
LANGS = ("zh", "en")


# ---------------------------------------------------------------------------------------------
# formatting and charts


def cny(value) -> str:
    if value is None:
        return "–"
    return f"¥{Decimal(value):,.2f}" if not isinstance(value, float) else f"¥{value:,.2f}"


def pct(value, digits: int = 1) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value * 100:.{digits}f}%"


def num(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


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
    )


# ---------------------------------------------------------------------------------------------
# rendering

TEXT = {
    "zh": {
        "lang": "zh-CN", "agent_card": "催收员月度考核卡", "team_report": "团队月度报告",
        "center": "催收中心月度汇总", "index": "月度考核报告", "composite": "综合得分",
        "grade": "等级", "team_rank": "团队排名", "center_rank": "中心排名",
        "dimensions": "四维度得分", "compliance": "合规", "recovery": "回收质量",
        "satisfaction": "客户满意", "skill": "技能提升", "weight": "权重", "points": "得分",
        "rule": "指标", "value": "实际值", "floor": "0分线", "target": "满分线",
        "key_metrics": "关键指标", "team_median": "团队中位数", "trend": "近6个月综合得分",
        "bucket_mix": "账龄结构（应催金额）", "incidents": "合规事件",
        "over_cap": "超频外呼", "off_hours": "非合规时段外呼", "complaints": "投诉",
        "qa_flags": "质检命中", "privacy": "隐私事件", "pay": "薪酬", "base": "基本工资",
        "variable_target": "绩效工资基数", "factor": "绩效系数", "earned": "应得绩效",
        "paid_now": "当月发放", "deferred": "递延至年底", "forfeited": "扣除",
        "pool": "年内递延池", "promotion": "晋升进度", "veto": "一票否决",
        "veto_text": "本月触发一票否决：综合得分为0，当月绩效及年内递延奖金全部扣除。",
        "missing": "本月无数据的维度（权重已分摊至其他维度）", "not_appraised": "本月无考核数据",
        "difficulty": "难度系数", "recovery_target": "回收目标", "collected": "净回款",
        "amount_due": "应催金额", "recovery_rate": "回收率", "rpc_rate": "本人接通率",
        "ptp_kept_rate": "承诺兑现率", "csat": "满意度", "complaints_1k": "千案投诉率",
        "agents": "人数", "ranking": "排名", "agent": "催收员", "distribution": "得分分布",
        "alerts": "合规预警", "tickets": "中台工单响应（小时）", "ticket_type": "工单类型",
        "median": "中位数", "p90": "P90", "open_past_sla": "超时未结",
        "mismatches": "技能与风险错配", "agencies": "委外机构录音抽检",
        "spot_check": "抽检覆盖率", "daily_rate": "每日抽检达标率", "data_quality": "数据质量",
        "checks_failed": "项检查未通过", "quarantined": "隔离数据行", "late": "延迟数据源",
        "all_good": "全部检查通过", "teams": "团队", "restated": "数据已于 {date} 重述",
        "legal_signoff": "法务签批", "fee_waiver": "减免审批",
        "restructuring_approval": "重组审批", "unattributed": "未归属回款",
        "reconciliation": "对账差额", "relief_rate": "债务纾困率", "cards": "个人考核卡",
        "generated": "生成于", "config": "配置版本", "reason": "原因", "none": "无",
        "level": "职级", "month_label": "考核月份", "eligible": "已符合晋升条件",
        "explanation": "目标说明",
    },
    "en": {
        "lang": "en", "agent_card": "Agent scorecard", "team_report": "Team report",
        "center": "Centre summary", "index": "Monthly appraisal reports",
        "composite": "Composite", "grade": "Grade", "team_rank": "Team rank",
        "center_rank": "Centre rank", "dimensions": "Dimensions", "compliance": "Compliance",
        "recovery": "Recovery quality", "satisfaction": "Customer satisfaction",
        "skill": "Skill improvement", "weight": "weight", "points": "points", "rule": "metric",
        "value": "value", "floor": "0 points at", "target": "100 points at",
        "key_metrics": "Key metrics", "team_median": "team median",
        "trend": "Composite, last 6 months", "bucket_mix": "Bucket mix (amount due)",
        "incidents": "Compliance incidents", "over_cap": "Over-cap calls",
        "off_hours": "Off-hours calls", "complaints": "Complaints", "qa_flags": "QA flags",
        "privacy": "Privacy incidents", "pay": "Pay", "base": "Base salary",
        "variable_target": "Variable target", "factor": "Payout factor", "earned": "Earned",
        "paid_now": "Paid now", "deferred": "Deferred to year end", "forfeited": "Forfeited",
        "pool": "Deferred pool this year", "promotion": "Promotion progress", "veto": "VETO",
        "veto_text": "One-vote veto this month: composite 0; the month's variable pay and "
                     "this year's deferred pool are forfeited.",
        "missing": "Dimensions without data this month (their weight was re-spread)",
        "not_appraised": "No appraisal data this month", "difficulty": "Difficulty",
        "recovery_target": "Recovery target", "collected": "Collected",
        "amount_due": "Amount due", "recovery_rate": "Recovery rate", "rpc_rate": "RPC rate",
        "ptp_kept_rate": "PTP kept rate", "csat": "CSAT", "complaints_1k": "Complaints / 1k",
        "agents": "Agents", "ranking": "Ranking", "agent": "Agent",
        "distribution": "Score distribution", "alerts": "Compliance alerts",
        "tickets": "Middle-office response (hours)", "ticket_type": "Ticket type",
        "median": "median", "p90": "p90", "open_past_sla": "open past SLA",
        "mismatches": "Skill-risk mismatches", "agencies": "Agencies' recording spot checks",
        "spot_check": "Spot-check coverage", "daily_rate": "Daily spot-check rate",
        "data_quality": "Data quality", "checks_failed": "checks failed",
        "quarantined": "quarantined rows", "late": "late sources",
        "all_good": "All checks passed", "teams": "Teams", "restated": "Restated on {date}",
        "legal_signoff": "Legal sign-off", "fee_waiver": "Fee waiver",
        "restructuring_approval": "Restructuring approval",
        "unattributed": "Unattributed collections", "reconciliation": "Reconciliation gap",
        "relief_rate": "Debt-relief rate", "cards": "Agent scorecards",
        "generated": "generated", "config": "configuration", "reason": "reason",
        "none": "none", "level": "Level", "month_label": "Month",
        "eligible": "eligible for promotion", "explanation": "Target",
    },
}

METRIC_LABELS = {
    "zh": {
        "recovery_vs_target": "目标达成率", "ptp_kept_rate": "承诺兑现率", "rpc_rate": "本人接通率",
        "restructuring_success_rate": "债务重组成功率", "over_cap_rate": "超频外呼占比",
        "off_hours_rate": "非合规时段外呼占比", "complaints_per_1k_cases": "千案投诉率",
        "threat_ratio": "威胁话术占比", "privacy_incidents": "隐私事件", "csat_avg": "满意度",
        "mandatory_pass_rate": "必修课通过率", "simulation_score": "情景模拟得分",
    },
    "en": {},
}

BANDS = [("<60", -1, 60), ("60-70", 60, 70), ("70-80", 70, 80), ("80-90", 80, 90),
         ("90-95", 90, 95), ("95+", 95, 101)]


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True)
    # a link to a report file: the file name from the id, as the writer names it
    env.filters.update(cny=cny, pct=pct, num=num, file=safe_name)
    env.globals["metric_labels"] = METRIC_LABELS
    return env


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
                 lang: str = "zh", config_version: str = "") -> RenderResult:
    """Render every report of the month into reports_dir/month."""
    if lang not in LANGS:
        raise ValueError(f"--lang must be one of {LANGS}")
    data = load_month(con, month)
    started = time.perf_counter()
    env = environment()
    t = TEXT[lang]
    out = reports_dir / month
    common = {
        "t": t, "month": month, "lang": lang, "config_version": config_version,
        "generated_at": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "restated": t["restated"].format(date=data.restated_on) if data.restated_on else None,
    }
    trend = {k[0]: rows for k, rows in
             data.trend.partition_by("agent_id", as_dict=True, maintain_order=True).items()}
    buckets = {k[0]: rows for k, rows in
               data.buckets.partition_by("agent_id", as_dict=True).items()}
    medians = {r["team_id"]: r for r in data.team_medians.to_dicts()}
    cards = data.cards.to_dicts()
    months = _last_months(month, 6)
    card_template = env.get_template("agent_card.html.j2")
    for card in cards:
        history = {r["month"].strftime("%Y-%m"): r["composite"]
                   for r in trend[card["agent_id"]].to_dicts()} if card["agent_id"] in trend \
            else {}
        mix = buckets.get(card["agent_id"])
        card["trend_svg"] = line_chart([(m[5:], history.get(m)) for m in months])
        card["bucket_svg"] = bar_chart(
            [(r["bucket"], r["amount_due"]) for r in mix.to_dicts()] if mix is not None
            else [], fmt=lambda v: f"¥{v:,.0f}")
        card["team_median"] = medians.get(card["team_id"], {})
        _write(data_path(out, "agents", card["agent_id"]),
               card_template.render(c=card, **common))
    elapsed = time.perf_counter() - started
    team_template = env.get_template("team_report.html.j2")
    by_team = {}
    for card in cards:
        by_team.setdefault(card["team_id"] or "(no team)", []).append(card)
    mismatches = data.mismatches.to_dicts()
    for team in data.teams.to_dicts():
        members = sorted(by_team.get(team["team_id"], []),
                         key=lambda c: (c["team_rank"] is None, c["team_rank"] or 0,
                                        c["agent_id"]))
        scores = [c["composite"] for c in members if c["composite"] is not None]
        _write(data_path(out, "teams", team["team_id"]), team_template.render(
            team=team, members=members, distribution=histogram(scores, BANDS),
            mismatches=[m for m in mismatches if m["team_id"] == team["team_id"]],
            alerts=[c for c in members if c["veto"] or c["over_cap_calls"]
                    or c["off_hours_calls"] or c["qa_flagged_calls"] or c["complaints"]],
            **common))
    failed = [r for r in data.checks if not r.passed]
    dq = {"failed": failed, "quarantine": data.quarantine, "late": data.late_sources,
          "quarantined": sum(q["n"] for q in data.quarantine)}
    scores = [c["composite"] for c in cards if c["composite"] is not None]
    _write(out / "center.html", env.get_template("center_summary.html.j2").render(
        center=data.center, teams=data.teams.to_dicts(), agencies=data.agencies.to_dicts(),
        distribution=histogram(scores, BANDS), dq=dq,
        grades=_grade_counts(cards), **common))
    _write(out / "index.html", env.get_template("index.html.j2").render(
        cards=cards, teams=data.teams.to_dicts(), dq=dq, center=data.center, **common))
    return RenderResult(out, len(cards), data.teams.height, elapsed,
                        len(cards) / elapsed if elapsed else float("inf"))


def _grade_counts(cards: list[dict]) -> list[tuple[str, float]]:
    grades = ["S", "A", "B", "C", "D", "VETO"]
    return [(g, float(sum(c["grade"] == g for c in cards))) for g in grades]


def _last_months(month: str, n: int) -> list[str]:
    y, m = int(month[:4]), int(month[5:])
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]
