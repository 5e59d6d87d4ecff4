"""costaudit from Python: the same audit, what-ifs and CI gate as the command line, as typed results.

Run from the repository root: `python examples/python_api.py`.
"""

import costaudit

prices = costaudit.load_prices()  # the packaged table: dated, sourced prices per 1M tokens

# Read once, then analyze: every dollar is integer tokens × a Decimal price.
logs = costaudit.read_logs("examples/logs/", prices=prices)
analysis = costaudit.analyze(logs, prices=prices, group_by=["feature"])
print(f"{analysis.records_read:,} records read, {analysis.records_skipped} skipped")
print(f"total ${analysis.total_cost:.2f}, monthly ${analysis.monthly_cost:.2f}")
for row in analysis.groups:
    print(f"  feature {row.key[0] or '(none)'}: {row.requests:,} requests, ${row.cost:.2f}")

# The request table itself: numpy columns, or a pandas DataFrame when you want one.
requests = logs.requests
print(f"{len(requests):,} requests, {requests.token_sum('input_tokens'):,} input tokens")
frame = requests.to_frame()
print(f"DataFrame columns: {', '.join(frame.columns[:6])}, …")

# What-ifs from a scenario file.
# Files a scenario names must lie under its directory unless allowed (`--allow-path` on the CLI).
app_logs = costaudit.load_scenario(
    "examples/scenarios/app-logs.yaml", prices=prices, allow_paths=["examples/logs"]
)
result = costaudit.simulate(app_logs, prices=prices)
print(f"baseline {result.baseline.name}: ${result.baseline.monthly_usd:.2f}/month")
for scenario in result.scenarios:
    print(f"  {scenario.name}: ${scenario.monthly_usd:.2f}/month")

# The CI gate: compare with the committed baseline.
verdict = costaudit.check(
    "examples/ci/costaudit.yaml", "examples/ci/costaudit-baseline.json", max_increase_pct=5
)
print("check passed" if verdict.passed else f"check failed: {'; '.join(verdict.reasons)}")
