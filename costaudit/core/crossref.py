"""Checks that need both a scenario file and the price table: does every name refer to something real?"""

from __future__ import annotations

from collections.abc import Iterator

from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import FineTune, Hosting, ScenarioFile
from costaudit.core.pricing import ModelResolver

Problem = tuple[str, str]
"""(dotted field, message)."""


def _hosting_problems(hosting: Hosting, table: PriceTable, where: str) -> Iterator[Problem]:
    if hosting.model not in table.self_hosted:
        known = ", ".join(sorted(table.self_hosted)) or "none"
        yield (
            f"{where}.model",
            f"`{hosting.model}` is not a self_hosted model of the price table (known: {known})",
        )
    if hosting.gpu not in table.hardware:
        known = ", ".join(sorted(table.hardware)) or "none"
        yield (
            f"{where}.gpu",
            f"`{hosting.gpu}` is not a hardware entry of the price table (known: {known})",
        )
    elif hosting.pricing == "spot" and table.hardware[hosting.gpu].spot_hourly is None:
        yield f"{where}.pricing", f"`{hosting.gpu}` has no spot price in the price table"


def _fine_tune_problems(
    fine_tune: FineTune, table: PriceTable, resolver: ModelResolver, where: str
) -> Iterator[Problem]:
    if fine_tune.base is not None:
        model_id = resolver.resolve(fine_tune.base)
        if model_id is None:
            yield f"{where}.base", f"unknown model `{fine_tune.base}`"
        elif table.models[model_id].fine_tuning is None and fine_tune.hosting is None:
            yield (
                f"{where}.base",
                f"`{fine_tune.base}` has no fine_tuning prices in the price table",
            )
    if fine_tune.hosting is not None:
        yield from _hosting_problems(fine_tune.hosting, table, f"{where}.hosting")


def scenario_problems(scenarios: ScenarioFile, table: PriceTable) -> list[Problem]:
    """Every model, hardware and cache rule the scenario names must exist in the price table."""
    resolver = ModelResolver(table)
    problems: list[Problem] = []
    synthetic = scenarios.workload.synthetic
    if synthetic is not None:
        for index, stream in enumerate(synthetic.all_streams()):
            if resolver.resolve(stream.model) is None:
                where = (
                    f"workload.synthetic.streams[{index}].model"
                    if synthetic.streams
                    else "workload.synthetic.model"
                )
                problems.append((where, f"unknown model `{stream.model}`"))
    for index, scenario in enumerate(scenarios.scenarios):
        where = f"scenarios[{index}]"
        if scenario.routing is not None:
            for tier_index, tier in enumerate(scenario.routing.tiers):
                if resolver.resolve(tier.model) is None:
                    problems.append(
                        (
                            f"{where}.routing.tiers[{tier_index}].model",
                            f"unknown model `{tier.model}`",
                        )
                    )
        preset = scenario.prompt_cache.preset if scenario.prompt_cache is not None else None
        if preset is not None and preset not in table.cache_rules:
            known = ", ".join(sorted(table.cache_rules)) or "none"
            problems.append(
                (f"{where}.prompt_cache.preset", f"unknown cache rule `{preset}` (known: {known})")
            )

        if scenario.hosting is not None:
            problems += _hosting_problems(scenario.hosting, table, f"{where}.hosting")
        if scenario.fine_tune is not None:
            problems += _fine_tune_problems(
                scenario.fine_tune, table, resolver, f"{where}.fine_tune"
            )
    return problems
