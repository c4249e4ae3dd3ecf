"""Gaming does not pay (issue 29, docs/scorecard.md): padding calls and token promises. The
baseline, the judging and the bar are in tests/gaming_pay.py; the other behaviours are in
test_gaming_does_not_pay_cases.py and test_gaming_does_not_pay_promises.py (two a file, so that
the rebuilds run on all the test workers)."""

from tests.gaming_pay import MONTHS, plant_and_judge


def test_padding_calls_does_not_pay(gaming_baseline, tmp_path):
    plant_and_judge(gaming_baseline, tmp_path, "padding_calls", MONTHS)


def test_token_promises_do_not_pay(gaming_baseline, tmp_path):
    plant_and_judge(gaming_baseline, tmp_path, "token_promises", MONTHS)
