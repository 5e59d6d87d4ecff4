"""The I/O boundary of `simulate` and `check`: scenario file → validated config → workload to simulate.

Paths inside a scenario file are relative to the file. Prompt files (`system_prompt: {file: ...}`) are
read and tokenized here, and their sha256 is kept so a CI baseline can tell when a prompt changed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from costaudit.api.baseline import workload_digest
from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import ScenarioFile, WorkloadSpec
from costaudit.configfile import validate_file
from costaudit.core.analysis import observed_window
from costaudit.core.crossref import scenario_problems
from costaudit.core.freshness import freshness_warnings, request_times
from costaudit.core.pricing import ModelResolver, assign
from costaudit.core.simulate.context import ScenarioProblem
from costaudit.core.simulate.engine import SimulationResult
from costaudit.core.simulate.engine import simulate as run_scenarios
from costaudit.core.simulate.select import known_fields, unknown_field_message
from costaudit.core.simulate.state import Workload
from costaudit.core.simulate.synthetic import StreamPrompt, generate
from costaudit.core.window import workload_notes
from costaudit.errors import InputError, Location
from costaudit.ingest.reader import ReadOptions, read_logs
from costaudit.ingest.tokenizer import encoder_for
from costaudit.ingest.workload_io import load_workload

PREFIX_BLOCK_TOKENS = 64


@dataclass(frozen=True)
class LoadedScenario:
    path: Path
    config: ScenarioFile
    digest: str

    @property
    def base_dir(self) -> Path:
        return self.path.parent


@dataclass
class LoadedWorkload:
    """The workload to simulate, with what a CI baseline records about where it came from."""

    workload: Workload
    prompt_files: dict[str, str] = field(default_factory=dict)
    """Prompt file path (as written in the scenario) → sha256 of its content."""
    digest: str = ""
    """Hash of the traffic: the request table for logs, the description for a synthetic workload (so
    a prompt change is not mistaken for a traffic change)."""

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = workload_digest(self.workload.requests)


def load_scenario(path: Path, table: PriceTable) -> LoadedScenario:
    """Validate a scenario file, then check every name it uses against the price table."""
    config = validate_file(path, ScenarioFile)
    problems = [
        InputError(Location(str(path), field=where), message)
        for where, message in scenario_problems(config, table)
    ]
    if problems:
        first = problems[0]
        first.also = tuple(problems[1:])
        raise first
    return LoadedScenario(
        path=path, config=config, digest=hashlib.sha256(path.read_bytes()).hexdigest()
    )


def _resolve(base: Path, item: str) -> str:
    """A path relative to the scenario file, written without `..` so reports name files plainly."""
    return item if item == "-" or Path(item).is_absolute() else os.path.normpath(base / item)


def _needs_prefix_hashes(config: ScenarioFile) -> bool:
    return any(scenario.prompt_cache is not None for scenario in config.scenarios)


def _routing_encodings(config: ScenarioFile, resolver: ModelResolver) -> tuple[str, ...]:
    """Every tokenizer of the price table when a scenario routes (so ratios can be measured per request)."""
    if not any(scenario.routing is not None for scenario in config.scenarios):
        return ()
    return tuple(sorted({model.tokenizer for model in resolver.table.models.values()}))


def _from_logs(
    spec: WorkloadSpec,
    specs: Sequence[str],
    config: ScenarioFile,
    resolver: ModelResolver,
    progress: Callable[[int], None] | None,
    group_by: Sequence[str],
) -> LoadedWorkload:
    options = ReadOptions(
        format=spec.format,
        mapping=spec.map,
        default_model=spec.model,
        group_fields=tuple(group_by),
        prefix_block_tokens=PREFIX_BLOCK_TOKENS if _needs_prefix_hashes(config) else None,
        measure_encodings=_routing_encodings(config, resolver),
    )

    read = read_logs(specs, options, resolver.tokenizer_for, progress=progress)
    window = observed_window(read.requests, spec.days)
    notes = tuple(f"{note} ({count:,})" for note, count in sorted(read.problems.notes.items()))
    notes += tuple(workload_notes(window))
    assignment = assign(read.requests, resolver.table, resolver)
    notes += tuple(
        warning.message
        for warning in freshness_warnings(resolver.table, request_times(read.requests, assignment))
    )

    problems = read.problems
    set_aside = sum(problems.skipped[reason] for reason in problems.set_aside_reasons)
    if problems.skipped_total - set_aside:
        notes += (
            f"{problems.skipped_total - set_aside:,} bad records skipped while reading the logs "
            "(see `analyze`)",
        )
    if set_aside:
        notes += (
            f"{set_aside:,} aggregate trace span{'' if set_aside == 1 else 's'} not billed (usage "
            "that repeats their model calls'; see `analyze`)",
        )
    names = ", ".join(report.name for report in read.files[:3]) + (
        " …" if len(read.files) > 3 else ""
    )
    workload = Workload(read.requests, window.days, f"logs: {names}", notes)
    return LoadedWorkload(workload)


def _from_saved(path: Path, days: Decimal | None) -> LoadedWorkload:
    requests = load_workload(path)
    window = observed_window(requests, days)
    return LoadedWorkload(Workload(requests, window.days, f"workload: {path}"))


def _prompt_tokens(
    path: Path, model: str, resolver: ModelResolver, where: str
) -> tuple[StreamPrompt, str]:
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise InputError(Location(str(path), field=where), "prompt file not found") from None
    except UnicodeDecodeError:
        raise InputError(
            Location(str(path), field=where), "prompt file is not UTF-8 text"
        ) from None
    except OSError as exc:
        raise InputError(
            Location(str(path), field=where), f"cannot read prompt file: {exc.strerror}"
        ) from None
    tokens = int(encoder_for(resolver.tokenizer_for(model)).count([text])[0])
    return StreamPrompt(tokens=tokens), hashlib.sha256(data).hexdigest()


def _synthetic(loaded: LoadedScenario, resolver: ModelResolver) -> LoadedWorkload:
    synthetic = loaded.config.workload.synthetic
    assert synthetic is not None
    prompts: list[StreamPrompt | None] = []
    digests: dict[str, str] = {}
    for index, stream in enumerate(synthetic.all_streams()):
        if stream.system_prompt is None:
            prompts.append(None)
            continue
        where = (
            f"workload.synthetic.streams[{index}].system_prompt"
            if synthetic.streams
            else "workload.synthetic.system_prompt"
        )
        prompt, digest = _prompt_tokens(
            loaded.base_dir / stream.system_prompt.file, stream.model, resolver, where
        )
        prompts.append(prompt)
        digests[str(stream.system_prompt.file)] = digest
    workload = generate(synthetic, prompts)
    digest = hashlib.sha256(synthetic.model_dump_json().encode()).hexdigest()

    if loaded.config.workload.days is not None:
        workload = replace(workload, days=loaded.config.workload.days)
    return LoadedWorkload(workload, prompt_files=digests, digest=digest)


def build_workload(
    loaded: LoadedScenario,
    table: PriceTable,
    *,
    logs: Sequence[str] | None = None,
    saved: Path | None = None,
    progress: Callable[[int], None] | None = None,
    group_by: Sequence[str] = (),
) -> LoadedWorkload:
    """The workload to simulate: LOGS or `--workload` from the command line win over the file's source.

    `group_by` names grouping fields to keep from the logs (beyond those every reader keeps)."""
    resolver = ModelResolver(table)
    spec = loaded.config.workload
    if saved is not None:
        return _from_saved(saved, spec.days)
    if logs:
        return _from_logs(spec, list(logs), loaded.config, resolver, progress, group_by)
    if spec.workload is not None:
        return _from_saved(loaded.base_dir / spec.workload, spec.days)
    if spec.logs:
        return _from_logs(
            spec,
            [_resolve(loaded.base_dir, item) for item in spec.logs],
            loaded.config,
            resolver,
            progress,
            group_by,
        )
    return _synthetic(loaded, resolver)


def check_group_by(built: LoadedWorkload, group_by: Sequence[str], where: str | Location) -> None:
    """Every grouping field asked for exists in the workload (else bad input naming `where`)."""
    for key in group_by:
        if key == "model":
            raise InputError(where, "`model` is always broken down; name a grouping field")
        requests = built.workload.requests
        if key not in known_fields(requests):
            raise InputError(where, unknown_field_message(key, requests))


def simulate_loaded(
    loaded: LoadedScenario,
    built: LoadedWorkload,
    table: PriceTable,
    group_by: Sequence[str],
    months: int | None,
) -> SimulationResult:
    """Run the scenarios; an error found while running one names the scenario file and field."""
    try:
        return run_scenarios(
            built.workload,
            loaded.config,
            table,
            group_by=tuple(group_by),
            months=months,
        )
    except ScenarioProblem as problem:
        raise InputError(Location(str(loaded.path), field=problem.field), problem.message) from None
