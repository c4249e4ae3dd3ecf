"""The explanations of the reports, worded in the page's language from their parts.

The marts give every explanation as data: a reason code (a stable snake_case token) and the
numbers and thresholds it is made of, beside an English sentence for analysts that the pages never
show nor read. Each is worded here from ``ui`` of reports/i18n.yaml, the key named by the code:

- the recovery target (marts.agent_month_scorecard): recovery_target, base_recovery_rate,
  macro_factor, high_risk_factor, difficulty_coefficient -> ``target_explained``;
- the veto: veto_code -> ``violation_<veto_code>`` (an unknown code: ``violation_other``);
- not appraised: not_appraised_code -> ``na_<not_appraised_code>``;
- the promotion progress (marts.promotion_candidates): streak_months, required_months,
  min_composite -> ``promotion_streak``, streak_veto_month -> ``promotion_veto``,
  expertise_code and expertise_count -> ``promotion_<expertise_code>``;
- a skill-risk mismatch (marts.skill_risk_mismatches): reason_code -> ``mismatch_<reason_code>``,
  with tenure_months;
- the conduct gate (version 3): conduct_gate_code -> ``gate_<conduct_gate_code>``, with
  grade_before_gate, the grade and the compliance score.

A month built before its mart had the parts (schema version 4) has them NULL: the page then says
what the row's figures say (``target_plain``, ``promotion_streak_plain``, ``na_unknown``).
"""

from __future__ import annotations

from kaohe.reporting.i18n import num, pct

TARGET_PARTS = ("recovery_target", "base_recovery_rate", "macro_factor", "high_risk_factor",
                "credit_factor", "difficulty_coefficient")


def _times(value) -> str:
    return "–" if value is None else f"×{num(float(value), 2)}"


def target_text(card: dict, t: dict[str, str]) -> str:
    """How the agent's recovery target was made: base × macro × high-risk × credited mix ×
    difficulty (a month built before 6.0.0 has no credit factor: the target and difficulty)."""
    if any(card.get(part) is None for part in TARGET_PARTS):
        return t["target_plain"].format(target=pct(card.get("recovery_target")),
                                        difficulty=_times(card.get("difficulty_coefficient")))
    return t["target_explained"].format(
        target=pct(card["recovery_target"]), base=pct(card["base_recovery_rate"]),
        macro=_times(card["macro_factor"]), high_risk=_times(card["high_risk_factor"]),
        credit=_times(card["credit_factor"]), difficulty=_times(card["difficulty_coefficient"]))


def promotion_text(card: dict, t: dict[str, str]) -> str | None:
    """The agent's progress to the next level; None without a next level."""
    if not card.get("to_level"):
        return None
    if card.get("min_composite") is None:
        return t["promotion_streak_plain"].format(streak=card["streak_months"],
                                                  required=card["required_months"])
    out = [t["promotion_streak"].format(streak=card["streak_months"],
                                        required=card["required_months"],
                                        min=f"{card['min_composite']:g}")]
    if card.get("streak_veto_month"):
        out.append(t["promotion_veto"].format(month=card["streak_veto_month"].strftime("%Y-%m")))
    if card.get("expertise_code"):
        out.append(t[f"promotion_{card['expertise_code']}"].format(n=card["expertise_count"]))
    return t["sep"].join(out)


def veto_text(card: dict, t: dict[str, str]) -> str | None:
    """The violation behind a veto; None when the agent is not vetoed."""
    if not card.get("veto"):
        return None
    return t.get(f"violation_{card.get('veto_code')}", t["violation_other"])


def not_appraised_text(card: dict, t: dict[str, str]) -> str | None:
    """Why the agent is not appraised this month; None when appraised."""
    code = card.get("not_appraised_code")
    if code is None and card.get("not_appraised_reason") is None:
        return None
    return t.get(f"na_{code}", t["na_unknown"])


def mismatch_text(row: dict, t: dict[str, str]) -> str:
    """Why a high-risk case was a mismatch: an L1 agent, else a new hire (with the tenure)."""
    code = row.get("reason_code") or ("l1_agent" if row.get("level") == "L1" else "new_hire")
    return t[f"mismatch_{code}"].format(n=num(row.get("tenure_months")))


def not_appraised_counts(cards: list[dict]) -> list[tuple[str, int]]:
    """(reason in words, agents) of the agents not appraised this month, most frequent first."""
    counts: dict[str, int] = {}
    texts: dict[str, str] = {}
    for c in cards:
        if c.get("not_appraised_text"):
            key = c.get("not_appraised_code") or ""
            counts[key] = counts.get(key, 0) + 1
            texts[key] = c["not_appraised_text"]
    return [(texts[k], n) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def mismatches_by_agent(rows: list[dict]) -> list[dict]:
    """The team's mismatches one row per agent and reason: the agent's name, level, how many
    high-risk cases, and the cases (id and risk score, riskiest first); most cases first."""
    out: dict[tuple, dict] = {}
    for x in rows:
        key = (x["agent_id"], x["reason_text"])
        row = out.setdefault(key, {"agent_id": x["agent_id"], "agent_name": x.get("agent_name"),
                                   "level": x["level"], "reason_text": x["reason_text"],
                                   "cases": []})
        row["cases"].append((x["case_id"], x["risk_score"]))
    for row in out.values():
        row["cases"].sort(key=lambda c: (-(c[1] or 0), c[0]))
    return sorted(out.values(), key=lambda r: (-len(r["cases"]), r["agent_id"]))


def gate_text(card: dict, t: dict[str, str]) -> str | None:
    """Why the conduct gate capped the grade and stopped the month's variable pay; None when
    it did not apply."""
    code = card.get("conduct_gate_code")
    if code is None:
        return None
    score = card.get("compliance_score")
    before, grade = card.get("grade_before_gate") or "–", card.get("grade") or "–"
    # a grade already at or below the cap is not lowered: the gate then only stops the pay
    key = f"gate_{code}" if before != grade else f"gate_{code}_kept"
    return t.get(key, t["gate_other"]).format(
        before=before, grade=grade, score="–" if score is None else num(float(score), 1))
