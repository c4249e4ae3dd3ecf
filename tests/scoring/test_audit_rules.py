"""The stricter configuration audit: one test per rule of config/regulatory_rules.yaml added for
the compliance officer; the shipped configuration passes."""

from __future__ import annotations

import pytest

from kaohe.config import load_config
from kaohe.scoring.rule_audit import audit
from tests.scoring.test_scorecard import config_copy


def findings(tmp_path, change) -> dict[str, str]:
    return {f.rule: f.severity for f in audit(load_config(config_copy(tmp_path, change)))}


def rule(dim: str, metric: str, **values):
    def change(data):
        for r in data["scorecard"]["rules"][dim]:
            if r["metric"] == metric:
                r.update(values)
    return change


def test_the_shipped_configuration_passes():
    assert audit(load_config(None)) == []


def test_a_rule_on_the_collected_amount_is_an_error(tmp_path):
    def change(data):
        data["scorecard"]["rules"]["recovery"].append(
            {"metric": "collected", "floor": 0, "target": 100000, "direction": "higher",
             "weight": 3})
    assert findings(tmp_path, change)["no-amount-appraisal"] == "error"


@pytest.mark.parametrize("metric", ["own_over_cap_rate", "off_hours_rate",
                                    "complaints_per_1k_cases", "threat_ratio",
                                    "privacy_incidents"])
def test_an_essential_compliance_measure_at_weight_0_is_an_error(tmp_path, metric):
    assert findings(tmp_path, rule("compliance", metric, weight=0))["essential-compliance"] == \
        "error"


def test_an_over_cap_range_that_gives_everyone_full_marks_is_an_error(tmp_path):
    got = findings(tmp_path, rule("compliance", "own_over_cap_rate", floor=0.95, target=0.90))
    assert got["compliance-floors"] == "error"


def test_no_deferred_pay_is_a_warning(tmp_path):
    got = findings(tmp_path, lambda d: d["pay"].update(deferred_share=0))
    assert got == {"deferred-pay": "warning"}


def test_variable_pay_for_grade_d_is_a_warning(tmp_path):
    got = findings(tmp_path, lambda d: d["pay"]["payout_factors"].update(D=0.2))
    assert got == {"no-pay-for-d": "warning"}


def test_a_veto_list_missing_a_major_violation_is_an_error(tmp_path):
    got = findings(tmp_path, lambda d: d["scorecard"].update(
        veto_violation_types=["violent_collection"]))
    assert got["veto-list"] == "error"
