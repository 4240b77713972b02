"""The error budget deciding: the policy, the deploy gate, the period's report, downtime drills."""
