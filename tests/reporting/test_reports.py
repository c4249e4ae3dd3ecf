"""Monthly reports on generated sample data: complete, faithful to the marts, self-contained,
escaped, and opening in a real browser without errors."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from kaohe.config import DEFAULT_CONFIG, load_config
from kaohe.reporting.explanations import (
    mismatch_text,
    not_appraised_text,
    promotion_text,
    target_text,
    veto_text,
)
from kaohe.reporting.i18n import texts
from kaohe.reporting.reports import bar_chart, line_chart, render_month, score_bands
from kaohe.warehouse import connect

MONTH = "2026-08"
CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def home(sample_build) -> Path:
    return sample_build["home"]  # the shared sample (tests/conftest.py): read, never changed


@pytest.fixture
def published(home):
    con = duckdb.connect(str(home / "warehouse" / "kaohe.duckdb"), read_only=True)
    yield con
    con.close()


def out(home: Path) -> Path:
    return home / "reports" / MONTH


def test_every_agent_of_the_month_has_a_card_and_every_team_a_report(home, published):
    agents = {r[0] for r in published.sql(
        f"select agent_id from marts.agent_month_scorecard where month = '{MONTH}-01'"
    ).fetchall()}
    teams = {r[0] for r in published.sql(
        f"select team_id from marts.team_month_metrics where month = '{MONTH}-01'").fetchall()}
    assert agents and {p.stem for p in (out(home) / "agents").glob("*.html")} == agents
    assert {p.stem for p in (out(home) / "teams").glob("*.html")} == teams
    for page in ("index.html", "center.html", "data-quality.html"):
        assert (out(home) / page).exists()


def test_numbers_on_the_card_equal_the_marts(home, published):
    rows = published.sql(
        "select s.agent_id, s.composite, s.grade, s.team_rank, p.paid_now, p.deferred, "
        "m.answered_over_cap_calls, m.unanswered_over_cap_calls, m.curfew_calls "
        "from marts.agent_month_scorecard s join marts.agent_month_pay p "
        "using (agent_id, month) join marts.agent_month_metrics m using (agent_id, month) "
        f"where s.month = '{MONTH}-01' and s.composite is not null").fetchall()
    assert rows
    for agent_id, composite, grade, rank, paid_now, deferred, *breaches in rows:
        html = (out(home) / "agents" / f"{agent_id}.html").read_text()
        assert f">{composite:,.2f}<" in html, agent_id
        assert f"g-{grade}" in html
        assert f">{rank}<" in html
        assert f"¥{paid_now:,.2f}" in html and f"¥{deferred:,.2f}" in html
        # the incidents are the agent's own breaches of the legal contact rules
        for count in breaches:
            assert f">{count:,}<" in html, agent_id


def test_the_card_shows_agents_like_you_in_place_of_the_centre_rank(home, published):
    # 7.2 (issue 33): the card used to show the centre rank and percentile; a rank against the
    # whole centre is not the agent's to see (docs/scorecard.md "Agents like you"): the card
    # shows the percentile among the agents of the most similar portfolio instead. The team rank
    # stays (test_numbers_on_the_card_equal_the_marts), and the centre rank stays in the marts.
    t = texts("zh")
    rows = published.sql(
        "select agent_id, percentile, peers, peer_median from marts.agent_peer_comparisons "
        f"where month = '{MONTH}-01' and measure = 'composite'").fetchall()
    assert rows
    for agent_id, percentile, peers, median in rows:
        html = (out(home) / "agents" / f"{agent_id}.html").read_text()
        assert "中心排名" not in html and t["like_you"] in html, agent_id
        assert f">{percentile:.0f}%<" in html, agent_id
        assert t["like_you_composite"].format(n=peers, median=f"{median:,.1f}") in html


def test_reports_are_self_contained_with_no_external_url(home):
    pages = list(out(home).rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        html = page.read_text()
        for url in re.findall(r'(?:src|href)="([^"]*)"', html):
            assert not re.match(r"^(https?:)?//", url), f"{page.name}: {url}"
        assert "<script" not in html  # no JavaScript needed
        assert "<style>" in html  # CSS inline


def test_hostile_text_from_the_data_is_escaped(home, tmp_path):
    # a copy of the warehouse whose agent and team names carry markup
    db = tmp_path / "w.duckdb"
    shutil.copy(home / "warehouse" / "kaohe.duckdb", db)
    con = connect(db)
    con.execute("update staging.agents set agent_name = '<script>alert(1)</script>', "
                "team_name = '<img src=x onerror=alert(2)>'")
    result = render_month(con, tmp_path / "reports", MONTH)
    con.close()
    html = " ".join(p.read_text() for p in result.directory.rglob("*.html"))
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_english_reports_on_request(home, tmp_path):
    con = connect(home / "warehouse" / "kaohe.duckdb", read_only=True)
    result = render_month(con, tmp_path, MONTH, lang="en")
    con.close()
    assert "Agent scorecard" in next((result.directory / "agents").glob("*.html")).read_text()


def test_a_second_language_goes_beside_the_first_and_the_indexes_link_each_other(home, tmp_path):
    """`kaohe report --lang en` after the nightly (Chinese) rendering: the English pages go to
    reports/YYYY-MM/en/, the Chinese ones stay where the mail links them, readable, and each
    index links the other."""
    con = connect(home / "warehouse" / "kaohe.duckdb", read_only=True)
    try:
        zh = render_month(con, tmp_path, MONTH, lang="zh").directory
        card = next((zh / "agents").glob("*.html")).name
        en = render_month(con, tmp_path, MONTH, lang="en").directory
    finally:
        con.close()
    assert zh == tmp_path / MONTH and en == tmp_path / MONTH / "en"
    assert "催收员月度考核卡" in (zh / "agents" / card).read_text(encoding="utf-8")
    assert "Agent scorecard" in (en / "agents" / card).read_text(encoding="utf-8")
    assert "催收中心月度汇总" in (zh / "center.html").read_text(encoding="utf-8")
    assert "Centre summary" in (en / "center.html").read_text(encoding="utf-8")
    # the Chinese index was rendered again when English first appeared: it links it
    assert 'href="en/index.html"' in (zh / "index.html").read_text(encoding="utf-8")
    assert 'href="../index.html"' in (en / "index.html").read_text(encoding="utf-8")


def test_no_debtor_pii_in_any_report(home):
    landing = home.parent / "landing"
    cases = sorted((landing / "cases").glob("cases_*.csv"))[0]
    numbers = [v for row in duckdb.sql(
        f"select debtor_phone, debtor_id_number from read_csv('{cases}', all_varchar = true)"
    ).fetchall() for v in row if v]
    html = " ".join(p.read_text() for p in out(home).rglob("*.html"))
    assert not [n for n in numbers if n in html]


def test_charts_are_inline_svg():
    svg = line_chart([("08", 70.0), ("09", None), ("10", 85.5)])
    assert svg.startswith("<svg") and "polyline" not in svg  # a gap, no line across it
    assert "<rect" in bar_chart([("M1", 10.0), ("<M6+>", 2.0)])
    assert "&lt;M6+&gt;" in bar_chart([("<M6+>", 2.0)])


def test_rendering_again_gives_the_same_pages(home, tmp_path):
    # speed is measured in benchmarks/, never asserted here (a busy machine fails a timed test)
    con = connect(home / "warehouse" / "kaohe.duckdb", read_only=True)
    result = render_month(con, tmp_path / "reports-again", MONTH, config=load_config(None))
    con.close()
    again = result.directory
    for page in (out(home) / "agents").glob("*.html"):
        mine = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "", page.read_text(encoding="utf-8"))
        theirs = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "",
                        (again / "agents" / page.name).read_text(encoding="utf-8"))
        assert mine == theirs, page.name
    assert result.agents == len(list((out(home) / "agents").glob("*.html")))


# the parts of the explanations, as the marts give them (codes, numbers, thresholds)
PARTS = {
    "recovery_target": 0.2975, "base_recovery_rate": 0.35, "macro_factor": 0.97,
    "high_risk_factor": 0.96, "credit_factor": 1.0, "difficulty_coefficient": 0.9125,
    "veto": True, "veto_code": "violent_collection",
    "not_appraised_code": "too_few_cases", "not_appraised_reason": "too few cases",
    "to_level": "L4", "streak_months": 11, "required_months": 12, "min_composite": 85.0,
    "streak_veto_month": date(2026, 7, 1), "expertise_code": "restructuring_expertise",
    "expertise_count": 4,
}


def test_explanations_are_worded_from_their_parts_in_both_languages():
    en, zh = texts("en"), texts("zh")
    assert target_text(PARTS, en) == ("Recovery target 29.8% = base 35.0% × macro ×0.97 × "
                                      "high-risk industries ×0.96 × credited mix ×1.00 × "
                                      "difficulty ×0.91")
    assert target_text(PARTS, zh) == ("回收目标 29.8% = 基准 35.0% × 宏观系数 ×0.97 × "
                                      "高风险行业系数 ×0.96 × 加权结构系数 ×1.00 × 难度系数 ×0.91")
    assert promotion_text(PARTS, en) == (
        "11 of 12 months in a row with a composite ≥ 85 and no veto; the veto of 2026-07 broke "
        "the streak; restructuring expertise: 4 completed plans")
    assert promotion_text(PARTS, zh) == ("连续 11/12 个月综合得分 ≥ 85 且无否决；2026-07 的一票否决"
                                         "中断了连续月数；债务重组专长：已完成 4 个重组方案")
    assert promotion_text({**PARTS, "streak_veto_month": None, "expertise_code": "needs_expertise",
                           "expertise_count": None}, en) == (
        "11 of 12 months in a row with a composite ≥ 85 and no veto; needs M6+ capability or "
        "restructuring expertise")
    assert promotion_text({**PARTS, "to_level": None}, en) is None
    assert (veto_text(PARTS, en), veto_text(PARTS, zh)) == ("violent collection", "暴力催收")
    assert veto_text({**PARTS, "veto_code": "major"}, en) == "major violation"
    assert veto_text({**PARTS, "veto": False}, en) is None
    assert (not_appraised_text(PARTS, en), not_appraised_text(PARTS, zh)) == ("too few cases",
                                                                              "作业案件过少")
    assert mismatch_text({"reason_code": "new_hire", "tenure_months": 2}, zh) == "新员工（入职 2 个月）"
    assert mismatch_text({"reason_code": "l1_agent", "tenure_months": 30}, en) == "L1 agent"
    # the wording reads the parts only: another English sentence changes nothing
    changed = {**PARTS, "target_explanation": "x", "veto_reason": "x", "reason": "x",
               "not_appraised_reason": "x"}
    for lang in ("en", "zh"):
        t = texts(lang)
        for word in (target_text, promotion_text, veto_text, not_appraised_text):
            assert word(changed, t) == word(PARTS, t), (lang, word.__name__)


def test_a_month_built_before_the_parts_says_what_its_figures_say():
    # a warehouse migrated to schema version 4 keeps NULL parts in the months built before
    old = {**PARTS, "base_recovery_rate": None, "macro_factor": None, "high_risk_factor": None,
           "min_composite": None, "streak_veto_month": None, "expertise_code": None,
           "veto_code": None, "not_appraised_code": None}
    en = texts("en")
    assert target_text(old, en) == "Recovery target 29.8%, difficulty ×0.91"
    assert promotion_text(old, en) == "11 of 12 months on the bar"
    assert veto_text(old, en) == "other major violation"
    assert not_appraised_text(old, en) == en["na_unknown"]
    assert not_appraised_text({**old, "not_appraised_reason": None}, en) is None
    assert mismatch_text({"reason_code": None, "level": "L1"}, en) == "L1 agent"


def _dimension_rows(html: str) -> dict[str, str]:
    """Dimension label -> the weight the card shows beside it (7.2: the dimension's header spans
    the rule, its value, the peers' median and percentile, floor and target)."""
    return {label.strip(): w for label, w in re.findall(
        r'<th colspan="6">([^<]+)(?:<span[^>]*>[^<]*</span>)?</th><th class="n">([^<]+)</th>',
        html)}


def test_each_rule_weight_on_the_card_is_as_scored_and_a_rule_without_data_is_named():
    """Within a dimension the card's rule weights sum to 1 (restructuring's weight grows with
    the high-risk share and a rule without data drops out: the shares as scored), and a rule
    the configuration weighs that had no value is named."""
    from kaohe.reporting.reports import _rule_weights

    cfg = load_config(None)
    card = {"high_risk_share": 0.2, "rule_points": [
        {"dimension": "recovery", "metric": "merit_recovery_vs_target", "value": 1.0,
         "weight": 0.60},
        {"dimension": "recovery", "metric": "kept_commitments_vs_expected", "value": 1.1,
         "weight": 0.25},
        {"dimension": "recovery", "metric": "case_reach_vs_expected", "value": 0.9,
         "weight": 0.15},
        {"dimension": "recovery", "metric": "restructuring_success_rate", "value": 0.5,
         "weight": 0.06},
        {"dimension": "skill", "metric": "mandatory_pass_rate", "value": 1.0, "weight": 0.6},
        {"dimension": "skill", "metric": "simulation_score", "value": None, "weight": 0.0}]}
    shares, missing = _rule_weights(card, cfg.scorecard.rules)
    assert sum(v for k, v in shares.items() if k.startswith("recovery.")) == pytest.approx(1.0)
    assert shares["recovery.merit_recovery_vs_target"] == pytest.approx(0.60 / 1.06)
    assert shares["skill.mandatory_pass_rate"] == 1.0 and shares["skill.simulation_score"] == 0
    assert missing == {"skill": ["simulation_score"]}


def test_the_card_shows_the_weights_of_the_shipped_configuration(home):
    # rendered by the run, which passes the configuration's version: resolved to the file
    card = next((out(home) / "agents").glob("*.html")).read_text(encoding="utf-8")
    weights = load_config(None).scorecard.weights
    assert _dimension_rows(card) == {
        "合规": f"{weights['compliance']:.2f}", "回收质量": f"{weights['recovery']:.2f}",
        "客户满意": f"{weights['satisfaction']:.2f}", "技能提升": f"{weights['skill']:.2f}"}


def test_a_non_default_configuration_shows_on_the_cards_and_team_reports(home, tmp_path):
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["scorecard"]["weights"] = {"compliance": 0.4, "recovery": 0.3, "satisfaction": 0.2,
                                    "skill": 0.1}
    data["scorecard"]["grades"] = {"S": 97, "A": 91, "B": 81, "C": 71}
    data["scorecard"]["missing_dimension"] = "zero"
    path = tmp_path / "kaohe.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    cfg = load_config(path)
    con = connect(home / "warehouse" / "kaohe.duckdb", read_only=True)
    try:
        zh = render_month(con, tmp_path / "zh", MONTH, "zh", cfg).directory
        en = render_month(con, tmp_path / "en", MONTH, "en", cfg).directory
    finally:
        con.close()
    cards = [p.read_text(encoding="utf-8") for p in (zh / "agents").glob("*.html")]
    assert cards and all(_dimension_rows(c) == {"合规": "0.40", "回收质量": "0.30",
                                                "客户满意": "0.20", "技能提升": "0.10"}
                         for c in cards)
    assert all(cfg.config_version in c for c in cards)
    # the missing-dimension note follows scorecard.missing_dimension
    assert not any("权重已分摊" in c for c in cards)
    assert all("按0分计" in c for c in cards if "本月无数据的维度" in c)
    english = next((en / "agents").glob("*.html")).read_text(encoding="utf-8")
    assert _dimension_rows(english)["Compliance"] == "0.40"
    # the score histograms follow the grade bands of scorecard.grades
    team = next((zh / "teams").glob("*.html")).read_text(encoding="utf-8")
    center = (zh / "center.html").read_text(encoding="utf-8")
    for page in (team, center):
        assert all(f">{band}<" in page for band in ("71-81", "81-91", "91-97", "97+"))
        assert ">90-95<" not in page


def test_the_score_histogram_has_one_row_per_grade():
    bands = score_bands({"S": 93, "A": 87, "B": 74, "C": 55})
    assert [b[0] for b in bands] == ["<55", "55-74", "74-87", "87-93", "93+"]
    # contiguous, every score in exactly one band
    assert all(a[2] == b[1] for a, b in zip(bands, bands[1:], strict=False))


def test_a_configuration_known_only_by_its_version_shows_no_weight(home, tmp_path):
    con = connect(home / "warehouse" / "kaohe.duckdb", read_only=True)
    try:
        result = render_month(con, tmp_path, MONTH, "zh", "2099.1+000000000000")
    finally:
        con.close()
    card = next((result.directory / "agents").glob("*.html")).read_text(encoding="utf-8")
    assert set(_dimension_rows(card).values()) == {"–"} and "2099.1+000000000000" in card


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_reports_open_in_a_real_browser_without_errors(home, tmp_path):
    from playwright.sync_api import sync_playwright

    pages = [out(home) / "index.html", out(home) / "center.html",
             next((out(home) / "teams").glob("*.html")),
             next((out(home) / "agents").glob("*.html"))]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            errors: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            for path in pages:
                page.goto(path.as_uri())
                assert page.locator("h1").inner_text().strip(), path.name
                shot = tmp_path / f"{path.stem}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 20_000, f"{path.name}: blank page?"
            assert errors == []
            assert all(url.startswith("file://") for url in requests), requests
        finally:
            browser.close()
