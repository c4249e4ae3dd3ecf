"""The reports as their readers get them (issues 15, 16, 17): one language per page, the
explanations worded from the parts the marts give (never from their English sentences), numbers as they read, the pages in a real browser (no console error,
readable charts, badges on one line, the width of the screen), the agent card on one A4 page,
the team report on as few pages as its rows need, and the figures of the centre summary equal
to the marts.

The module reads the shared sample (tests/conftest.py, sample_build): two months of generated
small data (2026-08, 2026-09) through the real command line; the reports of 2026-09 are rendered in both languages from the published
warehouse. The browser tests take a screenshot of every kind of report in both languages; with
KAOHE_UPDATE_SCREENSHOTS=1 they are written to docs/screenshots/ (indexed PNGs, 1000 px wide),
otherwise to a temporary folder (a run of the tests never changes the checkout).
"""

from __future__ import annotations

import email
import email.policy
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from kaohe.config import DEFAULT_CONFIG, load_config
from kaohe.ingest.pii import FREE_TEXT_PATTERNS
from kaohe.quality import stored_results
from kaohe.reporting import i18n
from kaohe.reporting.charts import bar_chart, histogram, line_chart, text_width
from kaohe.reporting.i18n import LANGS, check_text, cny, metric, num, pct
from kaohe.reporting.mail import send_reports
from kaohe.reporting.reports import render_month
from tests.conftest import SAMPLE_MONTHS, copy_home
from tests.report_pages import (
    A4_PRINT_HEIGHT_PX,
    A4_PRINT_WIDTH_PX,
    CHROMIUM_ARGS,
    data_values,
    foreign_words,
    pdf_pages,
    raw_identifiers,
    small_png,
)

ROOT = Path(__file__).resolve().parents[2]
MONTHS = ("2026-08", "2026-09")
MONTH = MONTHS[-1]
START = f"{MONTH}-01"
CHROMIUM = shutil.which("chromium")
SHOTS = ROOT / "docs" / "screenshots"
browser_only = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def built(tmp_path_factory, sample_build) -> dict:
    # the shared sample (conftest.sample_build): August and September, run month by month
    assert SAMPLE_MONTHS == MONTHS
    root = tmp_path_factory.mktemp("pages")
    landing, home = sample_build["landing"], sample_build["home"]
    published = home / "warehouse" / "kaohe.duckdb"
    con = duckdb.connect(str(published), read_only=True)
    try:
        out = {lang: render_month(con, root / "rendered" / lang, MONTH, lang,
                                  load_config(None)).directory for lang in LANGS}
        data = data_values(con)
    finally:
        con.close()
    # a what-if page of the month beside the reports: the merit target lowered to 0.9
    from kaohe.scoring import whatif

    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace(
        "{metric: merit_recovery_vs_target, floor: 0.0, target: 1.0,",
        "{metric: merit_recovery_vs_target, floor: 0.0, target: 0.9,", 1)
    proposed = root / "proposed.yaml"
    proposed.write_text(text, encoding="utf-8")
    cfg = load_config(proposed)
    result = whatif.run(published, MONTH, cfg)  # re-scored once, its page in each language
    pages = {}
    for lang in LANGS:
        whatif._write(result, root / "whatif" / lang, lang, cfg)
        pages[lang] = result.html
    return {"root": root, "home": home, "landing": landing, "published": published,
            "pages": out, "data": data, "whatif": pages}


@pytest.fixture
def marts(built):
    con = duckdb.connect(str(built["published"]), read_only=True)
    yield con
    con.close()


def pages(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.html"))


# ---------------------------------------------------------------------------------------------
# one language per page


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_is_in_one_language_with_no_raw_identifier(built, lang):
    every = pages(built["pages"][lang])
    kinds = {p.parent.name if p.parent.name in ("agents", "teams") else p.name for p in every}
    assert kinds >= {"agents", "teams", "center.html", "index.html", "data-quality.html",
                     "compliance.html"}
    problems = []
    for page in every:
        html = page.read_text(encoding="utf-8")
        assert f'<html lang="{i18n.texts(lang)["html_lang"]}">' in html, page.name
        other = foreign_words(html, lang, built["data"])
        ids = raw_identifiers(html, built["data"])
        if other or ids:
            problems.append(f"{page.relative_to(built['pages'][lang])}: other language "
                            f"{sorted(other)[:12]}, identifiers {sorted(ids)[:12]}")
    assert not problems, "\n".join(problems[:20])


def test_the_language_check_catches_the_other_language(built):
    data = built["data"]
    zh = '<html lang="zh-CN"><body><p>综合得分 75.83</p><td>M6+ · L1 · P90 · B</td></body></html>'
    assert foreign_words(zh, "zh", data) == set()
    assert foreign_words(zh.replace("综合得分", "target 28.9% (base"), "zh", data) == {
        "target", "base"}
    assert foreign_words(zh.replace("综合得分", "one-vote veto"), "zh", data) == {"one", "vote",
                                                                                   "veto"}
    en = '<html lang="en"><body><p>Composite 75.83</p><code>staging.calls</code></body></html>'
    assert foreign_words(en, "en", data) == set()
    assert foreign_words(en.replace("Composite", "等级"), "en", data) == {"等级"}
    assert foreign_words(en.replace("75.83", "75.83（中）"), "en", data) == {"（中）"}
    # names of agents and teams are data, in either language; code is code
    name = next(v for v in data if re.search("[\u4e00-\u9fff]", v))
    assert foreign_words(en.replace("75.83", name), "en", data) == set()
    assert raw_identifiers(en.replace("Composite", "over_cap_rate"), data) == {"over_cap_rate"}
    assert raw_identifiers(en.replace("staging.calls", "recovery_vs_target"), data) == set()


def test_report_lang_en_renders_data_quality_in_english_and_mail_follows(built, tmp_path):
    home = copy_home(built, tmp_path / "home")  # the shared sample is never changed
    run = subprocess.run([sys.executable, "-m", "pipelines.cli", "report", "--month", MONTH,
                          "--lang", "en", "--home", str(home)],
                         capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert run.returncode == 0, run.stderr[-2000:]
    month_dir = home / "reports" / MONTH
    # English beside the Chinese rendering, which stays as the nightly run left it
    dq = (month_dir / "en" / "data-quality.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in dq and not foreign_words(dq, "en", built["data"])
    zh = (month_dir / "data-quality.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in zh
    # send-reports in English sends the English rendering, all in English
    outbox = tmp_path / "en-outbox"
    result = send_reports(home, MONTH, load_config(None), dry_run=True, outbox=outbox,
                          lang="en")
    assert result.sent > 0
    for eml in outbox.glob("*.eml"):
        msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert msg["Subject"].startswith("[Appraisal]"), msg["Subject"]
        body = msg.get_body(("plain",)).get_content()
        assert body.startswith(i18n.texts("en")["email_hello"]), body[:80]
        for part in msg.iter_attachments():
            assert b'<html lang="en">' in part.get_payload(decode=True)[:400]
    # told no language, it sends the rendering in reports/YYYY-MM/, in its language
    outbox = tmp_path / "zh-outbox"
    send_reports(home, MONTH, load_config(None), dry_run=True, outbox=outbox)
    for eml in outbox.glob("*.eml"):
        msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        for part in msg.iter_attachments():
            assert b'<html lang="zh-CN">' in part.get_payload(decode=True)[:400]


def _values(marts, query: str) -> set:
    return {r[0] for r in marts.sql(query).fetchall()}


def test_every_explanation_is_in_parts_and_every_code_has_a_text(marts):
    # the codes of the generated months, each worded in both languages
    codes = {
        "violation": _values(marts, "select distinct veto_code from marts.agent_month_scorecard "
                                    "where veto"),
        "na": _values(marts, "select distinct not_appraised_code from "
                             "marts.agent_month_scorecard where not_appraised_code is not null"),
        "promotion": _values(marts, "select distinct expertise_code from "
                                    "marts.promotion_candidates where expertise_code is not null"),
        "mismatch": _values(marts, "select distinct reason_code from marts.skill_risk_mismatches"),
    }
    assert codes["violation"] and codes["na"] and codes["promotion"] and codes["mismatch"], codes
    assert codes["na"] <= {"left", "joined", "no_work", "too_few_cases"}
    assert codes["promotion"] <= {"m6plus_capability", "restructuring_expertise",
                                  "needs_expertise"}
    assert codes["mismatch"] <= {"l1_agent", "new_hire"}
    for lang in LANGS:
        t = i18n.texts(lang)
        missing = sorted(f"{kind}_{c}" for kind, cs in codes.items() for c in cs
                         if f"{kind}_{c}" not in t)
        assert not missing, (lang, missing)
    # where a mart has a sentence for analysts, it has its parts, and they say the same
    wrong = {
        "target": "select count(*) from marts.agent_month_scorecard where "
                  "(target_explanation is null) <> (recovery_target is null or base_recovery_rate "
                  "is null or macro_factor is null or high_risk_factor is null or "
                  "difficulty_coefficient is null)",
        "veto": "select count(*) from marts.agent_month_scorecard where veto is distinct from "
                "(veto_code is not null) or veto_reason is distinct from "
                "'one-vote veto: ' || veto_code",
        "not appraised": "select count(*) from marts.agent_month_scorecard where "
                         "not_appraised_reason is distinct from replace(not_appraised_code, "
                         "'_', ' ') or not_appraised_value >= not_appraised_threshold or "
                         "(not_appraised_measure is null) <> (not_appraised_threshold is null)",
        "promotion": "select count(*) from marts.promotion_candidates where min_composite is null "
                     "or not starts_with(reason, streak_months || ' of ' || required_months "
                     "|| ' months >= ' || min_composite::int) or (streak_veto_month is null) "
                     "= contains(reason, 'veto in') or (expertise_code in ('m6plus_capability', "
                     "'restructuring_expertise')) <> (expertise_count is not null)",
        "mismatch": "select count(*) from marts.skill_risk_mismatches where "
                    "(reason_code = 'l1_agent') <> (reason = 'L1 agent') or (reason_code = "
                    "'new_hire' and not tenure_months < min_tenure_months)",
    }
    counts = {k: marts.execute(q).fetchone()[0] for k, q in wrong.items()}
    assert counts == dict.fromkeys(wrong, 0), counts


def test_a_page_is_worded_from_the_parts_never_from_the_marts_sentences(built, tmp_path):
    # a copy of the warehouse whose English sentences say something else: no page changes
    db = tmp_path / "w.duckdb"
    shutil.copy(built["published"], db)
    con = duckdb.connect(str(db))
    try:
        for column in ("target_explanation", "veto_reason", "not_appraised_reason"):
            con.execute(f"update marts.agent_month_scorecard set {column} = 'changed' "
                        f"where {column} is not null")
        con.execute("update marts.promotion_candidates set reason = 'changed'")
        con.execute("update marts.skill_risk_mismatches set reason = 'changed'")
        again = {lang: render_month(con, tmp_path / lang, MONTH, lang,
                                    load_config(None)).directory for lang in LANGS}
    finally:
        con.close()

    def page(path: Path) -> str:  # without the time it was generated
        return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "", path.read_text(encoding="utf-8"))

    for lang in LANGS:
        mine = pages(again[lang])
        assert [p.relative_to(again[lang]) for p in mine] == [
            p.relative_to(built["pages"][lang]) for p in pages(built["pages"][lang])]
        changed = [p.name for p in mine
                   if page(p) != page(built["pages"][lang] / p.relative_to(again[lang]))]
        assert not changed, (lang, changed[:5])
    # and the pages do word them: the target's factors, the promotion's rule, a mismatch
    for lang in LANGS:
        t = i18n.texts(lang)
        words = " ".join(page(p) for p in pages(built["pages"][lang]))
        for key in ("target_explained", "promotion_streak", "promotion_needs_expertise",
                    "mismatch_l1_agent"):
            assert max(re.split(r"\{\w+\}", t[key]), key=len) in words, (lang, key)


def test_the_card_says_what_to_do_next(built, marts):
    # issue 30: the gap to the next band, and the measures worth the most, on every appraised
    # card below the top band; none on a vetoed or not appraised one
    bands = sorted(load_config(None).scorecard.grades.items(), key=lambda kv: kv[1])
    rows = marts.execute("select agent_id, composite, veto from "
                         "marts.agent_month_scorecard where month = $m", {"m": START}).fetchall()
    assert rows
    for lang in LANGS:
        t = i18n.texts(lang)
        for agent, composite, veto in rows:
            html = (built["pages"][lang] / "agents" / f"{agent}.html").read_text(encoding="utf-8")
            if composite is None or veto:
                assert t["next_steps"] not in html, (lang, agent)
                continue
            above = [(g, b) for g, b in bands if b > composite]
            if above:
                gap = t["next_gap"].format(grade=above[0][0],
                                           gap=num(round(above[0][1] - composite, 2), 1))
                assert gap in html, (lang, agent, gap)
            else:
                assert t["next_top"] in html, (lang, agent)
            assert t["points_and_lost"] in html


def test_every_check_of_the_month_is_described_in_chinese(marts):
    untranslated = i18n._check_texts()["untranslated"]["zh"]
    results = [r for m in MONTHS for r in stored_results(marts, m)]
    assert results
    missing = sorted({(r.suite, r.check) for r in results
                      if untranslated in str(check_text(r, "zh"))})
    assert not missing, missing


def test_numbers_read_as_what_they_are():
    assert cny(-1640) == "\u2212¥1,640.00" and cny(1640.5) == "¥1,640.50" and cny(None) == "–"
    assert cny(-0.001) == "¥0.00" and num(-0.173, 2) == "\u22120.17"
    assert metric(0.023, "off_hours_rate") == "2.3%" and metric(0.05, "own_over_cap_rate") == "5.0%"
    assert metric(2.0, "substantiated_complaints") == "2" and metric(1, "privacy_incidents") == "1"
    assert metric(4.0, "csat_avg") == "4.00" and metric(0.693, "recovery_vs_target") == "69.3%"


def test_charts_are_readable_and_never_clipped():
    line = str(line_chart([("2026-08", 82.0), ("2026-09", 76.0)]))
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)"', line)]
    assert sizes and min(sizes) >= 11
    assert ">2026-08<" in line and ">100<" in line and ">0<" in line  # months and a y axis
    assert line_chart([("2026-09", None)]) == ""  # nothing to draw: the page says so
    bars = str(bar_chart([("M1", 28762.0), ("M6+", 1275372.0)], fmt=lambda v: f"¥{v:,.0f}"))
    width = float(re.search(r'width="([\d.]+)"', bars)[1])
    for x, text in re.findall(r'<text x="([\d.]+)"[^>]*>([^<]+)</text>', bars):
        assert float(x) + text_width(text) <= width + 1, text
    hist = str(histogram([50.0, 70.0, 95.0], [("<60", -1, 60), ("60-90", 60, 90),
                                             ("90+", 90, 101)], tags=["D", "B", "S"]))
    assert ">60-90<" in hist and ">B<" in hist
    assert min(float(s) for s in re.findall(r'font-size="([\d.]+)"', hist)) >= 11


# ---------------------------------------------------------------------------------------------
# in the browser


KINDS = {
    "agent-card": lambda d: d / "agents" / "A00016.html",
    "team-report": lambda d: d / "teams" / "T01.html",
    "centre-summary": lambda d: d / "center.html",
    "index": lambda d: d / "index.html",
    "data-quality": lambda d: d / "data-quality.html",
    "compliance": lambda d: d / "compliance.html",
}

# every chart text, badge and page width as the browser lays them out
LAYOUT = """() => ({
  chartFonts: [...document.querySelectorAll('svg.chart text')].map(
      t => parseFloat(getComputedStyle(t).fontSize) *
           (t.ownerSVGElement.getBoundingClientRect().width / t.ownerSVGElement.viewBox.baseVal.width)),
  emptyCharts: [...document.querySelectorAll('svg.chart')].filter(s => !s.querySelector('text')).length,
  wrappedBadges: [...document.querySelectorAll('.grade, .pill')].filter(
      b => b.getClientRects().length > 1 || b.getBoundingClientRect().height > 2.2 * parseFloat(getComputedStyle(b).fontSize)).map(b => b.textContent),
  clippedSvgText: [...document.querySelectorAll('svg.chart text')].filter(t => {
      const s = t.ownerSVGElement.getBoundingClientRect(), r = t.getBoundingClientRect();
      return r.left < s.left - 1 || r.right > s.right + 1 || r.top < s.top - 1 || r.bottom > s.bottom + 1;
  }).map(t => t.textContent),
  contentWidth: (document.querySelector('main') || document.body).getBoundingClientRect().width,
  // a column of a two-column section whose content is wider than the column and the 24 px gap
  // beside it spills over its neighbour (a table drawn on top of the next column's table)
  overflowing: [...document.querySelectorAll('.two > *, .wide-left > *, .three > *')].filter(
      e => e.scrollWidth > e.clientWidth + 16).map(
      e => (e.querySelector('h2') || e).textContent.slice(0, 40) + ': ' + (e.scrollWidth - e.clientWidth) + ' px'),
})"""


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(browser, path: Path, width: int = 1000):
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    return page, errors, requests


@browser_only
@pytest.mark.parametrize("lang", LANGS)
def test_every_kind_of_report_in_the_browser_with_a_screenshot(built, browser, lang,
                                                               tmp_path):
    update = os.environ.get("KAOHE_UPDATE_SCREENSHOTS") == "1"
    # the reports, and the what-if page of a proposal (rendered apart: a proposal's page)
    kinds = {**KINDS, "whatif": lambda _: built["whatif"][lang]}
    for kind, where in kinds.items():
        path = where(built["pages"][lang])
        page, errors, requests = _open(browser, path)
        try:
            assert page.locator("h1").inner_text().strip(), path.name
            layout = page.evaluate(LAYOUT)
            png = page.screenshot(full_page=True)
            assert len(png) > 20_000, f"{kind}: blank page?"
            if update:
                small_png(page, png, SHOTS / f"{kind}-{lang}.png")
            else:
                (tmp_path / f"{kind}-{lang}.png").write_bytes(png)
        finally:
            page.close()
        assert errors == [], (kind, errors)
        assert all(url.startswith("file://") for url in requests), requests
        assert min(layout["chartFonts"], default=11) >= 11, (kind, min(layout["chartFonts"]))
        assert layout["emptyCharts"] == 0 and layout["clippedSvgText"] == [], (kind, layout)
        assert layout["wrappedBadges"] == [], (kind, layout["wrappedBadges"])
        assert layout["contentWidth"] >= 0.95 * 1000, (kind, layout["contentWidth"])
        assert layout["overflowing"] == [], (kind, layout["overflowing"])


@browser_only
def test_the_trend_shows_only_the_months_with_a_score(built, browser, marts):
    scored = {r[0] for r in marts.sql(
        "select strftime(month, '%Y-%m') from marts.agent_month_scorecard "
        "where agent_id = 'A00016' and composite is not null").fetchall()}
    page, errors, _ = _open(browser, built["pages"]["en"] / "agents" / "A00016.html")
    try:
        months = set(page.eval_on_selector_all(
            "svg.chart text",
            "ts => ts.map(t => t.textContent).filter(s => /^\\d{4}-\\d{2}$/.test(s))"))
    finally:
        page.close()
    assert months == scored and errors == []


def test_a_card_without_data_says_so_instead_of_an_empty_chart(built, tmp_path):
    # a copy of the warehouse where one agent has no score in any month and held no case
    db = tmp_path / "w.duckdb"
    shutil.copy(built["published"], db)
    con = duckdb.connect(str(db))
    try:
        con.execute("update marts.agent_month_scorecard set composite = null "
                    "where agent_id = 'A00006'")
        con.execute("delete from staging.assignments where agent_id = 'A00006'")
        for lang in LANGS:
            out = render_month(con, tmp_path / lang, MONTH, lang, load_config(None)).directory
            html = (out / "agents" / "A00006.html").read_text(encoding="utf-8")
            assert html.count(f'<p class="nodata">{i18n.texts(lang)["no_data"]}</p>') == 2
            assert '<svg' not in html
    finally:
        con.close()


def _heaviest_cards(marts) -> list[str]:
    """The cards with the most on them: a veto, not appraised, the most alerts, the longest
    promotion progress, missing dimensions."""
    q = {
        "veto": "select agent_id from marts.agent_month_scorecard where month = $m and veto",
        "na": "select agent_id from marts.agent_month_scorecard where month = $m and grade = 'NA'",
        "alerts": "select agent_id from marts.conduct_alerts where month = $m group by all "
                  "order by count(*) desc, agent_id",
        "promotion": "select agent_id from marts.promotion_candidates where month = $m "
                     "order by length(reason) desc, agent_id",
        "missing": "select agent_id from marts.agent_month_scorecard where month = $m "
                   "order by len(missing_dimensions) desc, agent_id",
    }
    out = []
    for sql in q.values():
        row = marts.execute(sql + " limit 1", {"m": START}).fetchone()
        if row and row[0] not in out:
            out.append(row[0])
    return out


@browser_only
def test_the_agent_card_prints_on_one_a4_page_and_the_team_report_on_few(built, browser, marts):
    cards = _heaviest_cards(marts)
    assert len(cards) >= 3
    page = browser.new_page(viewport={"width": A4_PRINT_WIDTH_PX, "height": A4_PRINT_HEIGHT_PX})
    try:
        for lang in LANGS:
            for agent in cards:
                page.goto((built["pages"][lang] / "agents" / f"{agent}.html").as_uri())
                pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
                assert pdf_pages(pdf) == 1, (lang, agent, pdf_pages(pdf))
            for team in sorted((built["pages"][lang] / "teams").glob("*.html")):
                page.goto(team.as_uri())
                page.emulate_media(media="print")
                height = page.evaluate("document.documentElement.scrollHeight")
                pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
                # as many pages as its content fills, none lost to page breaks
                assert pdf_pages(pdf) <= math.ceil(height / A4_PRINT_HEIGHT_PX), (
                    lang, team.name, pdf_pages(pdf), height)
    finally:
        page.close()


# ---------------------------------------------------------------------------------------------
# issue 16: the team scorecard, rehabilitation and complaint resolution equal the marts


@browser_only
@pytest.mark.parametrize("lang", LANGS)
def test_the_centre_summary_shows_the_marts_figures(built, browser, marts, lang):
    rules = load_config(None).team_scorecard.rules
    measures = [r.measure for r in rules]
    scores = {r[0]: r[1:] for r in marts.sql(
        "select team_id, composite, grade, "
        + ", ".join(f"{m}_points" for m in measures)
        + " from marts.team_month_scorecard where month = $m", params={"m": START}).fetchall()}
    rehab = {(r[0], r[1]): r[2] for r in marts.sql(
        "select plan_type, horizon_months, sum(normal) / nullif(sum(observed), 0) "
        "from marts.rehabilitation_index where month = $m and scope = 'centre' group by all",
        params={"m": START}).fetchall()}
    resolution = {r[0]: r[1:] for r in marts.sql(
        "select team_id, complaint_resolution_median_h, complaint_resolution_p90_h, "
        "complaints_resolved_on_time_share, open_complaints_past_deadline "
        "from marts.team_month_metrics where month = $m", params={"m": START}).fetchall()}
    resolution[""] = marts.execute(
        "select complaint_resolution_median_h, complaint_resolution_p90_h, "
        "complaints_resolved_on_time_share, open_complaints_past_deadline "
        "from marts.center_month_summary where month = $m", {"m": START}).fetchone()
    assert scores and rehab and resolution[""][3] is not None
    t = i18n.texts(lang)
    page, errors, _ = _open(browser, built["pages"][lang] / "center.html")
    try:
        shown = page.eval_on_selector_all(
            "table.team-scores tr[data-team]",
            "rows => rows.map(r => [r.dataset.team, ...[...r.cells].map(c => c.innerText.trim())])")
        cells = page.eval_on_selector_all(
            "table.rehab tr[data-plan] td[data-horizon]",
            "cs => cs.map(c => [c.parentElement.dataset.plan, +c.dataset.horizon, "
            "(c.querySelector('b') || c).innerText.trim()])")
        resolved = page.eval_on_selector_all(
            "table.resolution tr[data-team]",
            "rows => rows.map(r => [r.dataset.team, ...[...r.cells].slice(1).map(c => c.innerText.trim())])")
    finally:
        page.close()
    assert errors == []
    assert {row[0] for row in shown} == set(scores)
    for team, _rank, _name, composite, grade, *points in shown:
        want = scores[team]
        assert composite == num(want[0], 2)
        assert grade == (t.get(f"grade_{want[1]}", want[1]) if want[1] else "")
        assert points == [num(p, 0) for p in want[2:]], team
    assert {(p, h) for p, h, text in cells if text != "–"} == {
        k for k, v in rehab.items() if v is not None}
    for plan, horizon, text in cells:
        assert text == pct(rehab.get((plan, horizon))), (plan, horizon)
    assert {row[0] for row in resolved} == set(resolution)
    for team, median, p90, share, still_open in resolved:
        want = resolution[team]
        assert [median, p90, share, still_open] == [num(want[0], 1), num(want[1], 1),
                                                     pct(want[2]), num(want[3])], team


# ---------------------------------------------------------------------------------------------
# issue 15: the compliance page


@browser_only
def test_the_compliance_page_opens_clean_and_holds_no_debtor_data(built, browser):
    landing = built["landing"]
    files = ",".join(f"'{p}'" for p in sorted((landing / "cases").glob("cases_*.csv")))
    master = duckdb.sql(f"select distinct debtor_id, debtor_name, debtor_phone, debtor_id_number "
                        f"from read_csv([{files}], all_varchar = true)").fetchall()
    agents = set(built["data"])
    names = {r[1] for r in master if r[1]} - agents     # a debtor may share an agent's name
    numbers = {v for r in master for v in (r[0], r[2], r[3]) if v}
    patterns = [re.compile(p) for p in FREE_TEXT_PATTERNS]
    for lang in LANGS:
        path = built["pages"][lang] / "compliance.html"
        page, errors, requests = _open(browser, path)
        try:
            text = page.inner_text("body")
            # what a reader sees, one text node at a time: the body's text joins a table's cells
            # with tabs, and a row of counts (a model version 2026.07, then 18, 9, 7, 77.8%) is
            # as long a run of digits and separators as a phone number
            pieces = page.evaluate(
                "() => { const w = document.createTreeWalker(document.body, 4); const out = [];"
                " while (w.nextNode()) out.push(w.currentNode.textContent); return out; }")
            assert page.locator("h1").inner_text().strip()
        finally:
            page.close()
        assert errors == [] and all(u.startswith("file://") for u in requests)
        html = path.read_text(encoding="utf-8")
        assert pieces and "".join(pieces).strip()
        for content in (text, html, *pieces):
            assert not [n for n in numbers if n in content]
        for content in (html, *pieces):
            assert not [p.pattern for p in patterns if p.search(content)]
        tokens = set(re.split(r"[\s,;:()（）·、]+", text))
        assert not tokens & names, sorted(tokens & names)[:5]
