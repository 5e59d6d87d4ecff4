"""Keeping the price table right: validation rules, diffs, the JSON Schema, imports, freshness.

Everything here is pure logic over `costaudit.config.pricing` models (plus YAML text in and out);
the `costaudit pricing` commands in `costaudit/cli/pricing.py` only wire it to files and the terminal.
"""
