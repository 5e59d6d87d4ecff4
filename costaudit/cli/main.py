"""Console-script entry point."""

from __future__ import annotations


def main() -> None:
    from costaudit.cli.app import app

    app()
