"""The I/O boundary of `simulate` and `check`: scenario file → validated config → workload to simulate.

Paths inside a scenario file are relative to the file. Prompt files (`system_prompt: {file: ...}`) are
read and tokenized here, and their sha256 is kept so a CI baseline can tell when a prompt changed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from costaudit.api.baseline import workload_digest
from costaudit.api.routers import load_scorer
from costaudit.config.pricing import PriceTable
from costaudit.config.scenario import ScenarioFile, WorkloadSpec
from costaudit.configfile import validate_file
from costaudit.core.analysis import observed_window
from costaudit.core.crossref import scenario_problems
from costaudit.core.freshness import freshness_warnings, request_times
from costaudit.core.labels import LabelScaleError, normalise
from costaudit.core.pricing import ModelResolver, assign
from costaudit.core.prompt_cache import TooManyBlocks
from costaudit.core.router_fit import FittedScorer, ScorerSummary
from costaudit.core.simulate.context import ScenarioProblem
from costaudit.core.simulate.engine import RunScenarios, SimulationResult
from costaudit.core.simulate.engine import simulate as run_scenarios
from costaudit.core.simulate.select import known_fields, unknown_field_message
from costaudit.core.simulate.state import Workload
from costaudit.core.simulate.synthetic import StreamPrompt, generate
from costaudit.core.window import workload_notes
from costaudit.errors import InputError, Location
from costaudit.ingest.reader import ReadOptions, read_logs
from costaudit.ingest.sources import expand_sources
from costaudit.ingest.tokenizer import encoder_for
from costaudit.ingest.workload_io import load_workload

PREFIX_BLOCK_TOKENS = 64


MAX_PROMPT_FILE_BYTES = 8 << 20
"""The largest prompt file a scenario may name (8 MiB, about two million tokens: more than any model's
context window). A larger file, or one that never ends (`/dev/zero`), is refused before it is read."""
SYSTEM_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
"""Never read through a scenario file, whatever --allow-path says: process and kernel state (an
environment with secrets in /proc/self/environ) and devices."""
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class LoadedScenario:
    path: Path
    config: ScenarioFile
    digest: str
    allowed: tuple[Path, ...] = ()
    """Directories (`--allow-path`) besides the scenario file's own that files it names may lie in."""

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def file(self, written: str | Path, where: str) -> Path:
        """A path the scenario file names (relative to the file), checked by `scenario_path_rule`."""
        path = self.base_dir / written
        scenario_path_rule(self, path, written, where)
        return path


def scenario_path_rule(loaded: LoadedScenario, path: Path, written: str | Path, where: str) -> None:
    """Files a scenario names must lie under its directory or an --allow-path directory (after
    following symbolic links), never under /proc, /sys or /dev: a scenario file from a pull request
    must not be able to read `/proc/self/environ` or `~/.ssh` into a report or a baseline's hashes.
    For a glob, the directory before the first wildcard is checked (and, for logs, every file it
    matches)."""
    parts = Path(os.path.normpath(path)).parts
    fixed = next((index for index, part in enumerate(parts) if _GLOB_CHARS & set(part)), len(parts))
    real = Path(os.path.realpath(Path(*parts[:fixed]) if fixed else Path()))
    _real_path_rule(loaded, real, written, where)


def _real_path_rule(loaded: LoadedScenario, real: Path, written: str | Path, where: str) -> None:
    """`scenario_path_rule` for a path whose links are already followed."""
    location = Location(str(loaded.path), field=where)
    if any(real == root or real.is_relative_to(root) for root in SYSTEM_ROOTS):
        raise InputError(location, f"`{written}` is a system path ({real}); name a regular file")
    roots = [Path(os.path.realpath(directory)) for directory in (loaded.base_dir, *loaded.allowed)]
    if not any(real.is_relative_to(root) for root in roots):
        raise InputError(
            location,
            f"`{written}` lies outside the scenario file's directory ({real}); "
            "allow its directory with --allow-path DIR",
        )


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


def load_scenario(path: Path, table: PriceTable, allowed: Sequence[Path] = ()) -> LoadedScenario:
    """Validate a scenario file, then check every name it uses against the price table; files it
    names may lie under its directory or one of the `allowed` directories."""
    config = validate_file(path, ScenarioFile)
    problems = [
        InputError(Location(str(path), field=where), message)
        for where, message in scenario_problems(config, table)
    ]
    if problems:
        first = problems[0]
        first.also = tuple(problems[1:])
        raise first
    loaded = LoadedScenario(path=path, config=config, digest="", allowed=tuple(allowed))
    for index, scenario in enumerate(config.scenarios):
        if scenario.routing and scenario.routing.scorer:
            loaded.file(scenario.routing.scorer, f"scenarios[{index}].routing.scorer")
    return replace(loaded, digest=_scenario_digest(path, config))


def _scenario_digest(path: Path, config: ScenarioFile) -> str:
    """sha256 of the scenario file, and of the scorer files it routes by (a refitted router changes
    the scenario's costs, and `check` should say the scenario changed, not the traffic)."""
    digest = hashlib.sha256(path.read_bytes())
    scorers = sorted(
        {str(s.routing.scorer) for s in config.scenarios if s.routing and s.routing.scorer}
    )
    for name in scorers:
        scorer = path.parent / name
        if scorer.is_file():
            digest.update(b"\0" + name.encode() + b"\0" + scorer.read_bytes())
    return digest.hexdigest()


def _scenario_log(loaded: LoadedScenario, item: str, index: int) -> str:
    """A log path, directory or glob the scenario file names, checked and resolved.

    Every file it expands to is checked too: a symbolic link inside an allowed directory must not
    lead the reader to `/proc` or outside the allowed directories."""
    if item == "-":
        return item
    where = f"workload.logs[{index}]"
    scenario_path_rule(loaded, loaded.base_dir / item, item, where)
    resolved = _resolve(loaded.base_dir, item)
    for source in expand_sources([resolved]):
        if source.path is not None:
            _real_path_rule(loaded, Path(os.path.realpath(source.path)), source.name, where)
    return resolved


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


@dataclass(frozen=True)
class Scorers:
    """The fitted scorers a scenario file routes by, keyed by the path as the file writes it."""

    fitted: dict[str, FittedScorer] = field(default_factory=dict)
    summaries: dict[str, ScorerSummary] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    """Where each is named: the scenario field, for errors."""


def _scorers(loaded: LoadedScenario) -> Scorers:
    scorers = Scorers()
    for index, scenario in enumerate(loaded.config.scenarios):
        routing = scenario.routing
        if routing is None or routing.scorer is None or str(routing.scorer) in scorers.fitted:
            continue
        name, where = str(routing.scorer), f"scenarios[{index}].routing.scorer"
        fitted, parsed = load_scorer(loaded.file(routing.scorer, where), where)
        interval = parsed.out_of_fold.apgr_interval
        scorers.fitted[name] = fitted
        scorers.fields[name] = where
        scorers.summaries[name] = ScorerSummary(
            labelled=parsed.fit.labelled,
            apgr=parsed.out_of_fold.apgr,
            apgr_interval=(interval[0], interval[1]) if interval else None,
            weak=parsed.labels.weak,
            strong=parsed.labels.strong,
        )
    return scorers


def _no_text_for(scorers: Scorers, loaded: LoadedScenario, kind: str) -> None:
    """A fitted scorer reads prompt text, which saved and synthetic workloads do not have."""
    if scorers.fitted:
        name = next(iter(scorers.fitted))
        raise InputError(
            Location(str(loaded.path), field=scorers.fields[name]),
            f"{name} scores prompt text while logs are read, and a {kind} workload has no prompts: "
            "simulate the logs themselves",
        )


def _check_label_scales(loaded: LoadedScenario, workload: Workload) -> None:
    """Quality labels outside a routing's `label_scale` (or [0, 1]) are an error naming the field."""
    labels = workload.requests.quality
    for index, scenario in enumerate(loaded.config.scenarios):
        routing = scenario.routing
        if routing is None or not labels:
            continue
        scale = (
            (float(routing.label_scale[0]), float(routing.label_scale[1]))
            if routing.label_scale is not None
            else None
        )
        for name, values in labels.items():
            try:
                normalise(values.astype(float), scale)
            except LabelScaleError as error:
                raise InputError(
                    Location(str(loaded.path), field=f"scenarios[{index}].routing.label_scale"),
                    f"`quality:{name}`: {error}",
                ) from None


def _from_logs(
    spec: WorkloadSpec,
    specs: Sequence[str],
    config: ScenarioFile,
    resolver: ModelResolver,
    progress: Callable[[int], None] | None,
    group_by: Sequence[str],
    scorers: Scorers | None = None,
) -> LoadedWorkload:
    scorers = scorers or Scorers()
    options = ReadOptions(
        format=spec.format,
        mapping=spec.map,
        default_model=spec.model,
        group_fields=tuple(group_by),
        prefix_block_tokens=PREFIX_BLOCK_TOKENS if _needs_prefix_hashes(config) else None,
        measure_encodings=_routing_encodings(config, resolver),
        scorers=scorers.fitted,
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
    workload = Workload(
        read.requests, window.days, f"logs: {names}", notes, scorers=scorers.summaries
    )
    return LoadedWorkload(workload)


def _from_saved(path: Path, days: Decimal | None) -> LoadedWorkload:
    """A saved workload, its prefix hashes left in a temporary file (the replays read them in
    passes; they are most of a large workload's size)."""
    requests = load_workload(path, hashes_in_memory=False)
    window = observed_window(requests, days)
    return LoadedWorkload(Workload(requests, window.days, f"workload: {path}"))


def _prompt_bytes(path: Path, where: str) -> bytes:
    """A prompt file's content: a regular file of at most MAX_PROMPT_FILE_BYTES."""
    location = Location(str(path), field=where)
    if not stat.S_ISREG(
        path.stat().st_mode
    ):  # before opening: opening a pipe would wait for a writer
        raise InputError(location, "prompt file is not a regular file")
    with path.open("rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise InputError(location, "prompt file is not a regular file")
        data = handle.read(MAX_PROMPT_FILE_BYTES + 1)
    if len(data) > MAX_PROMPT_FILE_BYTES:
        raise InputError(location, f"prompt file is larger than {MAX_PROMPT_FILE_BYTES:,} bytes")
    return data


def _prompt_tokens(
    path: Path, model: str, resolver: ModelResolver, where: str
) -> tuple[StreamPrompt, str]:
    try:
        data = _prompt_bytes(path, where)
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
            loaded.file(stream.system_prompt.file, f"{where}.file"), stream.model, resolver, where
        )
        prompts.append(prompt)
        digests[str(stream.system_prompt.file)] = digest
    try:
        workload = generate(synthetic, prompts)
    except TooManyBlocks as exc:
        raise InputError(
            Location(str(loaded.path), field="workload.synthetic"), f"{exc}; lower the token counts"
        ) from None
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
    built = _build(loaded, table, logs=logs, saved=saved, progress=progress, group_by=group_by)
    _check_label_scales(loaded, built.workload)
    return built


def _build(
    loaded: LoadedScenario,
    table: PriceTable,
    *,
    logs: Sequence[str] | None,
    saved: Path | None,
    progress: Callable[[int], None] | None,
    group_by: Sequence[str],
) -> LoadedWorkload:
    resolver = ModelResolver(table)
    spec = loaded.config.workload
    scorers = _scorers(loaded)
    if saved is not None or (not logs and spec.workload is not None):
        _no_text_for(scorers, loaded, "saved")
        return _from_saved(
            saved or loaded.file(spec.workload or Path(), "workload.workload"), spec.days
        )
    if logs:
        return _from_logs(spec, list(logs), loaded.config, resolver, progress, group_by, scorers)
    if spec.logs:
        return _from_logs(
            spec,
            [_scenario_log(loaded, item, index) for index, item in enumerate(spec.logs)],
            loaded.config,
            resolver,
            progress,
            group_by,
            scorers,
        )
    _no_text_for(scorers, loaded, "synthetic")
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
    report: Callable[[str], None] | None = None,
    run_all: RunScenarios | None = None,
) -> SimulationResult:
    """Run the scenarios (with `run_all`, elsewhere); an error found while running one names the
    scenario file and field."""
    try:
        return run_scenarios(
            built.workload,
            loaded.config,
            table,
            group_by=tuple(group_by),
            months=months,
            report=report,
            run_all=run_all,
        )
    except ScenarioProblem as problem:
        raise InputError(Location(str(loaded.path), field=problem.field), problem.message) from None
