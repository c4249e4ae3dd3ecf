"""One source of every label (kaohe.reporting.i18n: the mart dictionaries' labels and reports/i18n.yaml),
one Jinja environment, and no configured number copied into a dictionary, a template or a label.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kaohe.config import DIMENSIONS, TICKET_TYPES, load_config
from kaohe.reporting import i18n

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "reports" / "templates").glob("*.j2"))
DICTIONARIES = sorted((ROOT / "sql" / "marts").glob("*.yaml")) + sorted(
    (ROOT / "sql" / "intermediate").glob("*.yaml"))
CFG = load_config()


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_label_a_template_or_the_code_names_exists_in_both_languages(lang):
    t, m = i18n.texts(lang), i18n.metric_labels(lang)
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        # t.get(key, default) is a lookup with a fallback, not a label called "get"
        ui = set(re.findall(r"\bt\.([a-z_0-9]+)\b(?!\()", text)) | set(
            re.findall(r"\bt\[\"([a-z_0-9]+)\"\]", text))
        metrics = set(re.findall(r"\bm\.([a-z_0-9]+)", text))
        assert ui <= set(t), f"{path.name}: no text for {sorted(ui - set(t))}"
        assert metrics <= set(m), f"{path.name}: no label for {sorted(metrics - set(m))}"
    # the keys the templates and the code build: dimensions, ticket types, the missing-dimension
    # note of each scorecard.missing_dimension, the e-mails' figures
    built = {*DIMENSIONS, *TICKET_TYPES, "missing_reweight", "missing_zero", "restated"}
    assert built <= set(t), sorted(built - set(t))
    assert {"collected", "exposure_recovery_rate", "vetoed_agents", "teams"} <= set(m)
    # every metric a shipped scoring rule scores has a label
    assert {r.metric for r in CFG.scorecard.rules} <= set(m)


def test_labels_are_one_per_metric_and_short():
    labels = {}
    for path in sorted((ROOT / "sql" / "marts").glob("*.yaml")):
        for column in yaml.safe_load(path.read_text(encoding="utf-8"))["columns"]:
            if "label" in column:
                assert set(column["label"]) == set(i18n.LANGS), (path.name, column["name"])
                assert labels.setdefault(column["name"], column["label"]) == column["label"], (
                    f"{path.name}: {column['name']} has another label elsewhere")
    assert labels and all(len(v["zh"]) <= 12 and len(v["en"]) <= 30 for v in labels.values())
    assert i18n.metric_labels("zh")["ptp_kept_rate"] == labels["ptp_kept_rate"]["zh"]


def test_one_jinja_environment_and_no_text_tables_in_the_code():
    for path in sorted((ROOT / "kaohe").rglob("*.py")):
        if path.name == "i18n.py":
            continue
        code = path.read_text(encoding="utf-8")
        assert "Environment(" not in code and "from jinja2" not in code, path.name
        assert not re.search(r"^(TEXT|METRIC_LABELS|LABELS)\s*=", code, re.M), path.name
    assert i18n.environment() is i18n.environment()


def test_plain_text_templates_are_not_escaped_and_pages_are():
    env = i18n.environment()
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    assert i18n.render("email_body.txt.j2", "en", intro="A & B", rows=[]).count("A & B") == 1
    assert "A &amp; B" in i18n.render("email_body.html.j2", "en", intro="A & B", rows=[])


# ---------------------------------------------------------------------------------------------
# configured numbers are read from the configuration, never written into text


def _n(v: float | str) -> str:
    """A number as a whole token: 3 matches in 默认3次 and '3 a day', not in 30, 1.3 or 3.5."""
    text = v if isinstance(v, str) else f"{v:g}"
    return rf"(?<![\d.]){re.escape(text)}(?!\d|\.\d)"


def configured_literals(cfg) -> dict[str, list[str]]:
    """Patterns that would state a value of ``cfg`` in words, by its configuration key."""
    m, sc, pay, tg = cfg.metrics, cfg.scorecard, cfg.pay, cfg.targets
    ge = r"(?:>=|≥|at least)\s*"
    cap, tenure = m.contact_cap_per_day, m.min_tenure_months_for_high_risk
    return {
        "metrics.contact_cap_per_day": [
            rf"(?:default|默认|at most|最多)\s*{_n(cap)}",
            rf"{_n(cap)}\s*(?:次|calls|attempts|contact attempts)\s*(?:a|per)\s*day"],
        "metrics.contact_hours": [re.escape(m.hours_start[:5]), re.escape(m.hours_end[:5])],
        "metrics.effective_call_min_s": [rf"{ge}{_n(m.effective_call_min_s)}",
                                         rf"{_n(m.effective_call_min_s)}\s*(?:s|秒|seconds)\b"],
        "metrics.bucket_weights": [_n(w) for w in m.bucket_weights.values() if w != 1],
        "metrics.qa_confidence_threshold": [rf"{ge}{_n(m.qa_confidence_threshold)}"],
        "metrics.high_risk_score": [_n(m.high_risk_score)],
        "metrics.min_tenure_months_for_high_risk": [rf"{_n(tenure)}\s*(?:months|个月)",
                                                    rf"不满\s*{_n(tenure)}"],
        "metrics.ticket_sla_hours": [rf"{_n(h)}\s*(?:h|hours|小时)\b"
                                     for h in m.ticket_sla_hours.values()],
        "metrics.complaint_deadline_days": [
            rf"{_n(m.complaint_deadline_days)}\s*(?:days|天|日|个工作日)"],
        "scorecard.weights": [rf"{_n(round(w * 100))}\s*%" for w in sc.weights.values()]
        + [_n(f"{w:.2f}") for w in sc.weights.values()],
        "scorecard.grades": [rf"(?<![A-Za-z]){g}\s*{ge}{_n(v)}" for g, v in sc.grades.items()]
        + [rf"{ge}{_n(v)}" for v in sc.grades.values()],
        "pay.variable_share": [_n(f"{pay.variable_share:.2f}"),
                               rf"{_n(round(pay.variable_share * 100))}\s*%"],
        "pay.deferred_share": [_n(f"{pay.deferred_share:.2f}"),
                               rf"{_n(round(pay.deferred_share * 100))}\s*%"],
        "pay.payout_factors": [rf"(?<![A-Za-z]){g}\s+{_n(f)}"
                               for g, f in pay.payout_factors.items() if f],
        "promotion": [rf"{ge}{_n(r.min_composite)}" for r in cfg.promotion]
        + [rf"{_n(r.months)}\s*(?:consecutive months|months on target|months >=)"
           for r in cfg.promotion] + [rf"连续\s*{_n(r.months)}\s*个月" for r in cfg.promotion],
        "expertise": [rf"{ge}{_n(cfg.expertise.m6plus_min_assignments)}\s*M6",
                      rf"{ge}{_n(cfg.expertise.restructuring_min_completed)}\s*completed"],
        "targets.base_recovery_rate": [rf"{_n(tg.base_recovery_rate * 100)}\s*%"],
        "targets.high_risk_target_factor": [_n(tg.high_risk_target_factor)],
        "retention.raw_days": [_n(cfg.retention_days)],
    }


def _texts(node):
    """Every text of a dictionary: descriptions, grain, the columns' en/zh/label."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            if k not in ("name", "type", "table", "params"):
                yield from _texts(v)
    elif isinstance(node, list):
        for v in node:
            yield from _texts(v)


def _sources() -> list[tuple[str, str]]:
    out = [(p.name, p.read_text(encoding="utf-8")) for p in TEMPLATES]
    out.append(("reports/i18n.yaml", (ROOT / "reports" / "i18n.yaml").read_text(encoding="utf-8")))
    for path in DICTIONARIES:
        out += [(path.name, text) for text in _texts(yaml.safe_load(path.read_text("utf-8")))]
    return out


def test_no_dictionary_template_or_label_states_a_configured_value():
    found = []
    for key, patterns in configured_literals(CFG).items():
        for pattern in patterns:
            for where, text in _sources():
                hit = re.search(pattern, text)
                if hit:
                    found.append(f"{where}: {hit.group(0)!r} states {key}: name the key "
                                 f"or read the configuration")
    assert not found, "\n".join(found)


def test_the_literal_check_would_catch_a_copied_value():
    literals = configured_literals(CFG)

    def caught(text):
        return [k for k, ps in literals.items() for p in ps if re.search(p, text)]

    assert "metrics.effective_call_min_s" in caught("connected calls with duration_s >= 30")
    assert "metrics.contact_cap_per_day" in caught("超过每日上限（默认3次）")
    bands = CFG.scorecard.grades
    assert "scorecard.grades" in caught(f"S >= {bands['S']:g}, A >= {bands['A']:g}")
    assert "scorecard.weights" in caught("compliance 30%, recovery quality 40%")
    assert "metrics.bucket_weights" in caught("M6+ weighted 1.4")
    assert "metrics.contact_hours" in caught("before 08:00 or from 21:00")
    assert "metrics.high_risk_score" in caught("risk_score >= 800")
    assert "pay.deferred_share" in caught("20% of the earned variable pay")
    assert "promotion" in caught("晋升进度：见习专员连续3个月≥90分晋升客户经理")
    assert "pay.payout_factors" in caught("from the grade: S 1.2, A 1.0, B 0.8")
    assert "metrics.complaint_deadline_days" in caught("resolved within 15 days")
    assert caught("duration_s >= metrics.effective_call_min_s") == []


def test_every_quarantine_reason_is_worded_in_both_languages_and_a_rejected_file_is_a_file():
    from kaohe.docs import REASONS
    from kaohe.quality.page import WHOLE_FILE_REASONS, render
    from kaohe.reporting.i18n import texts

    for lang in ("zh", "en"):
        t = texts(lang)
        assert not [c for c in REASONS if f"reason_{c}" not in t], lang
    assert WHOLE_FILE_REASONS <= set(REASONS)
    # every check passed, one file rejected whole and three rows quarantined: amber, the file
    # counted as a file, the reasons worded (the code kept for analysts)
    quarantine = [{"source": "tickets", "reason_code": "missing_column", "n": 1},
                  {"source": "calls", "reason_code": "bad_type", "n": 3}]
    zh = render("2026-08", [], quarantine, "zh")
    assert 'class="banner warn"' in zh and 'class="banner ok"' not in zh
    assert "1 个文件" in zh and "3 行" in zh and "值类型不符" in zh and "<code>bad_type</code>" in zh
    en = render("2026-08", [], quarantine, "en")
    assert "1 file(s)" in en and "value of the wrong type" in en
    assert 'class="banner ok"' in render("2026-08", [], quarantine[1:], "zh")
