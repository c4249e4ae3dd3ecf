"""Gaming does not pay (issue 29, docs/scorecard.md): cherry-picking the cases left unattempted
and sandbagging (collections moved past the month's end). The baseline, the judging and the bar
are in tests/gaming_pay.py."""

from tests.gaming_pay import MONTHS, plant_and_judge


def test_cherry_picking_unattempted_cases_does_not_pay(gaming_baseline, tmp_path):
    plant_and_judge(gaming_baseline, tmp_path, "unattempted_cases", MONTHS)


def test_sandbagging_month_boundary_shift_does_not_pay(gaming_baseline, tmp_path):
    # above target in August, collections moved into September
    plant_and_judge(gaming_baseline, tmp_path, "month_boundary_shift", MONTHS[:1])
