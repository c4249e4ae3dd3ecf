"""The size of the simulated collection centre (``kaohe generate --scale``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """Size of the simulated collection centre.

    ``calls_per_agent_day`` is per agent and calendar day (weekends are lighter, so a working day
    carries more). ``new_cases_per_month`` is the share of the initial case book that enters on
    the 1st of every later month.
    """

    name: str
    agents: int
    teams: int
    cases: int
    calls_per_agent_day: int
    sites: int
    aggressive_agents: int
    major_violations: int
    new_cases_per_month: float = 0.15


SCALES: dict[str, Scale] = {
    "small": Scale("small", agents=60, teams=6, cases=6_000, calls_per_agent_day=80, sites=2,
                   aggressive_agents=2, major_violations=2),
    "medium": Scale("medium", agents=300, teams=30, cases=100_000, calls_per_agent_day=330,
                    sites=4, aggressive_agents=3, major_violations=2),
    "large": Scale("large", agents=2_000, teams=200, cases=1_000_000, calls_per_agent_day=500,
                   sites=6, aggressive_agents=10, major_violations=3),
}
