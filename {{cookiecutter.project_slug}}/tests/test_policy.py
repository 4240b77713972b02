"""The error budget policy's decisions, and the deploy gate's exit codes for them."""

import pytest

from service_runtime.error_budget.policy import CAREFUL, FEATURES, FIXES_ONLY, INCIDENT, decide

CASES = {
    "80-percent-left": (0.8, 0.2, 0.2, FEATURES, False),
    "10-percent-left": (0.1, 0.9, 0.9, CAREFUL, False),
    "overspent": (-0.2, 1.2, 1.2, FIXES_ONLY, True),
    "exactly-spent": (0.0, 1.0, 1.0, FIXES_ONLY, True),
    "a-sliver-left": (0.001, 0.99, 0.99, CAREFUL, False),
    "burning-fast-with-budget-left": (0.9, 15.0, 2.0, INCIDENT, True),
    "burning-over-six-hours": (0.9, 3.0, 6.0, INCIDENT, True),
}


@pytest.mark.parametrize(("remaining", "burn_1h", "burn_6h", "text", "frozen"), CASES.values(), ids=CASES.keys())
def test_the_policy_decides(remaining, burn_1h, burn_6h, text, frozen):
    decision = decide(remaining, burn_1h, burn_6h)
    assert (decision.text, decision.frozen) == (text, frozen)
