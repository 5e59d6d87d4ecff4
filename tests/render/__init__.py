"""Tests of the reports people read: HTML pages and charts (a package so its conftest has its own
module name for mypy)."""
