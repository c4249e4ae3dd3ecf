"""Contact windows: the hidden hourly answer curves of the debtors (``contact_curves``).

Each debtor segment (the debtor's ``industry``, a contract column of ``cases``, so the warehouse
can segment by it) answers the phone better at some hours than others, and differently at
weekends: a factory worker at lunch and after the shift, an IT worker late in the evening, a shop
worker before opening. The curve is a multiplier on the right-party-contact chance of an attempt
(``dialler._outcomes``), over the legal dialling hours 08..21 and two kinds of day (weekday,
weekend); it replaces the flat evening x1.15 of kaohe 8.1 and earlier.

Each curve is 1 plus a few bumps (hour, height, width in hours), normalised so that its mean over
the hours the dialler uses (weighted by ``dialler.CALL_HOUR_W``) is 1: the segment's contact rate
over the day stays where it was, only its spread over the hours changes. ``LEVEL`` (the evening
x1.15's average, 1 + 0.15 x the share of planned attempts from 18:00) keeps the centre's overall
contact rate where 8.1 had it. Hours outside 08..21 (the curfew calls) take the multiplier 1.

``contact_curves="flat"`` gives every segment, hour and day the multiplier 1 (the null case: no
window is better than another). No randomness: the curves are written here, not drawn, so no
random stream changes. The curves and each segment's best window are in the manifest
(``contact_curves``, ``contact_best_windows``), never in a landing file.
"""

from __future__ import annotations

import numpy as np

CURVE_KINDS = ("industry", "flat")
DAY_KINDS = ("weekday", "weekend")
HOURS = np.arange(8, 22)  # the legal dialling hours, as contact_rules.legal_hours 08:00-22:00
# Per industry (the contract's enum order is not assumed: keyed by name), the weekday and the
# weekend bumps: (hour, height, width in hours). One clear peak each, so a best window exists.
SHAPES: dict[str, tuple[list[tuple[int, float, float]], list[tuple[int, float, float]]]] = {
    # offices trading with Europe and America: mid-morning, before the overseas calls
    "foreign_trade": ([(10, 0.9, 0.8), (16, 0.3, 1.2)], [(11, 0.6, 1.2)]),
    # sales representatives on the road: the lunch break
    "pharma_distribution": ([(12, 1.0, 0.8), (9, 0.25, 1.0)], [(10, 0.6, 1.2)]),
    # factory shifts: lunch, and after the shift
    "manufacturing": ([(19, 1.0, 0.8), (12, 0.4, 0.8)], [(14, 0.6, 1.5)]),
    # shop staff: before the shop opens
    "retail": ([(9, 1.0, 0.8), (21, 0.3, 0.8)], [(9, 0.7, 1.0)]),
    # sites start early; evenings at the dormitory
    "construction": ([(18, 0.9, 0.8), (8, 0.4, 0.8)], [(19, 0.7, 1.2)]),
    # late evenings
    "it": ([(20, 1.0, 0.8), (13, 0.3, 0.8)], [(15, 0.6, 1.5)]),
    # a mild evening peak, as the old x1.15 had it
    "other": ([(18, 0.6, 1.0)], [(11, 0.5, 1.5)]),
}


def _curve(bumps: list[tuple[int, float, float]], weights: np.ndarray) -> np.ndarray:
    """1 + the bumps over HOURS, divided by its mean weighted by the dialler's hour weights."""
    c = np.ones(len(HOURS))
    for hour, height, width in bumps:
        c += height * np.exp(-0.5 * ((HOURS - hour) / width) ** 2)
    return c / np.average(c, weights=weights)


def contact_curves(kind: str, industries: tuple[str, ...], weights: np.ndarray) -> np.ndarray:
    """(industry, day kind, hour 0..23) multipliers on the right-party chance: the curves over
    HOURS (``weights``: the dialler's hour weights over HOURS), 1 outside them; all 1 when
    ``kind`` is ``flat``."""
    if kind not in CURVE_KINDS:
        raise ValueError(f"unknown contact_curves {kind!r}; choose one of {CURVE_KINDS}")
    out = np.ones((len(industries), len(DAY_KINDS), 24))
    if kind == "flat":
        return out
    for i, name in enumerate(industries):
        for k, bumps in enumerate(SHAPES[name]):
            out[i, k, HOURS] = _curve(bumps, weights)
    return out


def manifest_entry(curves: np.ndarray, industries: tuple[str, ...], kind: str) -> dict:
    """The manifest's record: ``contact_curves`` {industry: {weekday|weekend: [multiplier per
    hour of HOURS]}} and ``contact_best_windows`` {industry: {weekday|weekend: {hour,
    multiplier}}} (none for the flat curve: no window is best)."""
    table = {name: {dk: [round(float(v), 4) for v in curves[i, k, HOURS]]
                    for k, dk in enumerate(DAY_KINDS)} for i, name in enumerate(industries)}
    best = {} if kind == "flat" else {
        name: {dk: {"hour": int(HOURS[np.argmax(curves[i, k, HOURS])]),
                    "multiplier": round(float(curves[i, k, HOURS].max()), 4)}
               for k, dk in enumerate(DAY_KINDS)} for i, name in enumerate(industries)}
    return {"contact_curves_kind": kind, "contact_curve_hours": [int(h) for h in HOURS],
            "contact_curves": table, "contact_best_windows": best}
