"""Tests of log ingestion (a package so its conftest has its own module name for mypy)."""
