"""The error budget policy: what the budget left decides. One source for the gate, the report,
the README's policy table and the alerts (a template test reads every copy).

Budget remaining is a fraction of the period's budget: 1 untouched, 0 spent, below 0 overspent.
"""

from __future__ import annotations

from dataclasses import dataclass

# Burn rates the page (fast-burn) alert fires above, over 1 h and over 6 h (Google SRE
# Workbook, multiwindow multi-burn-rate): the whole budget gone in 2 and in 5 days of a 30-day period.
PAGE_BURN_RATE_1H = 14.4
PAGE_BURN_RATE_6H = 6.0
# Budget remaining under which feature releases go one at a time, each watched.
CAREFUL_BELOW = 0.25
# Budget remaining above which, late in the period, the budget counts as unspent (a drill is due).
# No code here reads it: the ErrorBudgetUnderspent alert (chart values: prometheusRule.underspentAbove)
# does, and this is the policy's one written copy, which the template's tests hold the chart to.
UNDERSPENT_ABOVE = 0.9
# Feature releases freeze once the budget left is at or below this share: all of it spent.
FROZEN_AT_OR_BELOW = 0.0

FEATURES = "features may ship"
CAREFUL = "features may ship one release at a time, each watched through its first hour"
FIXES_ONLY = "fixes only: feature releases are frozen until the budget recovers"
INCIDENT = "no releases but the fix: an incident is burning the budget now"


@dataclass(frozen=True)
class Decision:
    text: str
    frozen: bool  # feature releases frozen: the gate exits 1


def decide(remaining: float, burn_rate_1h: float, burn_rate_6h: float) -> Decision:
    """The policy's decision for one SLO."""
    if burn_rate_1h >= PAGE_BURN_RATE_1H or burn_rate_6h >= PAGE_BURN_RATE_6H:
        return Decision(INCIDENT, frozen=True)
    if remaining <= FROZEN_AT_OR_BELOW:
        return Decision(FIXES_ONLY, frozen=True)
    if remaining < CAREFUL_BELOW:
        return Decision(CAREFUL, frozen=False)
    return Decision(FEATURES, frozen=False)
