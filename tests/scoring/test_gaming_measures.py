"""The shipped scorecard's measures that gaming cannot move (docs/scorecard.md "Gaming does not
pay"), on hand-made rows: the merit window, conduct per case held and per effective call."""

from __future__ import annotations

import pytest
import yaml

from kaohe.config import DEFAULT_CONFIG, load_config
from tests.scoring.test_scorecard import metrics_row, points, scored


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["appraisal"] = {"min_active_days": 0, "min_cases_handled": 0}
    path = tmp_path_factory.mktemp("cfg") / "kaohe.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_config(path)


def test_merit_is_judged_over_the_window_so_a_saved_collection_gains_nothing(shipped):
    # this month: 1,000 of exposure on a 35% target (350 expected), 175 collected; the months
    # before in the window: 700 collected of 700 expected -> (175 + 700) / (350 + 700)
    row = dict(amount_due=1000.0, credited_collections=175.0, uncontacted_collections=0.0)
    alone = scored([metrics_row("A", **row)], shipped)["A"]
    assert alone["merit_recovery_vs_target"] == pytest.approx(0.5)
    windowed = scored([metrics_row("A", **row, window_merit_collections=700.0,
                                   window_expected=700.0)], shipped)["A"]
    assert windowed["merit_recovery_vs_target"] == pytest.approx(875 / 1050)
    # 100 moved from the month before into this one: the window's sum is the same
    moved = scored([metrics_row("A", **{**row, "credited_collections": 275.0},
                                window_merit_collections=600.0, window_expected=700.0)],
                   shipped)["A"]
    assert moved["merit_recovery_vs_target"] == pytest.approx(
        windowed["merit_recovery_vs_target"])
    # collections on uncontacted cases are the centre's
    centre = scored([metrics_row("A", **{**row, "uncontacted_collections": 35.0})], shipped)["A"]
    assert centre["merit_recovery_vs_target"] == pytest.approx(0.4)
    assert shipped.gaming.merit_window_months == 3


def test_contact_rule_breaches_are_judged_per_case_held_not_per_call(shipped):
    # 5 breaches on 40 held cases: 0.125 a case, half-way to the 0.25 floor -> 50 points,
    # however many lawful calls are added around them
    got = [scored([metrics_row("A", cases_assigned=40, call_attempts=calls,
                               contact_rule_breaches=5,
                               contact_rule_breaches_per_case=5 / 40)], shipped)["A"]
           for calls in (200, 2000)]
    assert [points(g, "contact_rule_breaches_per_case") for g in got] == pytest.approx([50, 50])
    assert {r["metric"] for r in got[0]["rule_points"]} >= {"contact_rule_breaches_per_case",
                                                            "effective_threat_ratio"}
    assert "contact_rule_breach_rate" not in {r["metric"] for r in got[0]["rule_points"]}


def test_threatening_speech_is_judged_per_effective_call(shipped):
    # 2 flagged calls in 40 effective ones: 0.05 of a 0.07 floor -> 28.57 points; short calls
    # added around them change neither count
    got = scored([metrics_row("A", qa_flagged_calls=2, effective_calls=40,
                              effective_threat_ratio=2 / 40, threat_ratio=2 / 400)],
                 shipped)["A"]
    assert points(got, "effective_threat_ratio") == pytest.approx((0.07 - 0.05) / 0.07 * 100)
