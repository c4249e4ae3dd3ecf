"""Gaming does not pay (issue 29, docs/scorecard.md): collections without contact and broken
promises left unrecorded. The baseline, the judging and the bar are in tests/gaming_pay.py."""

from tests.gaming_pay import MONTHS, plant_and_judge


def test_uncontacted_collections_do_not_pay(gaming_baseline, tmp_path):
    plant_and_judge(gaming_baseline, tmp_path, "uncontacted_collections", MONTHS)


def test_leaving_broken_promises_unrecorded_does_not_pay(gaming_baseline, tmp_path):
    """An agent who records a promise only when the debtor will keep it lifts the kept share of
    the promises recorded (commitment_kept_rate, scored until 6.0) to about 1, and gains
    nothing under the shipped scorecard, which scores commitments kept per case held
    (kept_commitments_vs_expected)."""
    after = plant_and_judge(gaming_baseline, tmp_path, "withheld_promises", MONTHS)
    before = gaming_baseline["before"]["withheld_promises"]
    for agent, fig in after.items():
        for b, a in zip(before[agent]["kept_rate"], fig["kept_rate"], strict=True):
            # the behaviour works on the 6.0 measure: it is what would have paid
            assert a is not None and a > 0.99 and (b is None or a > b), (agent, b, a)
