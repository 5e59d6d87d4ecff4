"""The I/O boundary of fitted routers: labelled logs → a fitted scorer and its measure; scorer files.

`fit_from_logs` reads logs that carry per-model quality labels (`quality:<model>` fields or `--map
quality:<model>=PATH`), keeps the labelled prompts in memory only, cross-validates and fits
(core/router_fit.py). `scorer_document` is the JSON file `route fit --out` writes; `load_scorer` reads
one back for a scenario, checking every field, and names the file and the field when one is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from pydantic import ValidationError

from costaudit import __version__
from costaudit.config.pricing import PriceTable
from costaudit.config.scorer import SCORER_SCHEMA, ScorerFile
from costaudit.configfile import loads_json, validation_problems
from costaudit.core.complexity import visible_tokens
from costaudit.core.labels import LabelScaleError, normalise
from costaudit.core.pricing import ModelResolver
from costaudit.core.prompt_features import prompt_features
from costaudit.core.router_fit import (
    ALL_FEATURES,
    MIN_PROMPTS_PER_TOKEN,
    MODELS,
    SHRINKAGE,
    FitOutcome,
    FittedScorer,
    LabelChoice,
    Logistic,
    TokenTable,
    fit_router,
)
from costaudit.errors import InputError, Location
from costaudit.fileio import write_file
from costaudit.ingest.reader import ReadOptions, read_logs

DIGITS = 6
"""Decimal places of the numbers in a scorer file (far below what moves a ranking)."""


def choose_labels(
    available: Mapping[str, npt.NDArray[np.float64]], weak: str | None, strong: str | None
) -> tuple[str, str, bool]:
    """The weak and strong label columns: as named, or the only two (the one with the lower mean
    quality is the weak model)."""
    names = sorted(available)
    if weak is not None and strong is not None:
        for option, name in (("--weak", weak), ("--strong", strong)):
            if name not in available:
                listed = ", ".join(names) or "none"
                raise InputError(
                    option, f"no `quality:{name}` labels in the logs (labels found: {listed})"
                )
        if weak == strong:
            raise InputError("--strong", "the strong and the weak labels must differ")
        return weak, strong, False
    if len(names) != 2 or weak is not None or strong is not None:
        listed = ", ".join(names) or "none"
        raise InputError(
            "--weak/--strong",
            f"name the weak and the strong model's labels (labels found: {listed})",
        )
    first, second = names
    means = {name: float(np.nanmean(available[name])) for name in names}
    if means[first] <= means[second]:
        return first, second, True
    return second, first, True


def fit_from_logs(
    specs: Sequence[str],
    options: ReadOptions,
    table: PriceTable,
    *,
    weak: str | None,
    strong: str | None,
    scale: tuple[float, float] | None,
    folds: int,
    seed: int,
) -> FitOutcome:
    """Read labelled logs and fit a scorer on every request with both labels and a prompt."""
    resolver = ModelResolver(table)
    options = replace(options, keep_labelled_prompts=True)
    workload = read_logs(specs, options, resolver.tokenizer_for)
    columns = workload.requests
    weak_name, strong_name, inferred = choose_labels(columns.quality, weak, strong)
    try:
        pair = np.stack(
            [normalise(columns.quality[name], scale) for name in (weak_name, strong_name)], axis=1
        )
    except LabelScaleError as error:
        raise InputError("--label-scale", str(error)) from None
    prompts = workload.labelled_prompts or []
    labelled = ~np.isnan(pair).any(axis=1)
    with_prompt = np.array([prompt is not None for prompt in prompts], dtype=np.bool_)
    rows = np.flatnonzero(labelled & with_prompt)
    kept = [prompt for prompt in (prompts[row] for row in rows.tolist()) if prompt is not None]
    features = [prompt_features(text, turns) for text, turns, _ in kept]
    input_tokens = columns.tokens["input_tokens"][rows]
    tokens = np.fromiter(
        (
            visible_tokens(int(total), share)
            for total, (_, _, share) in zip(input_tokens, kept, strict=True)
        ),
        dtype=np.int64,
        count=len(kept),
    )
    builtin = columns.complexity[rows].astype(np.float64)
    try:
        fit = fit_router(
            features,
            tokens,
            pair[rows],
            None if np.isnan(builtin).any() else builtin,
            folds=folds,
            seed=seed,
        )
    except ValueError as error:
        raise InputError(", ".join(specs), str(error)) from None
    notes = [f"{note} ({count:,})" for note, count in sorted(workload.problems.notes.items())]
    if workload.problems.skipped_total:
        notes.append(f"{workload.problems.skipped_total:,} bad records skipped")
    return FitOutcome(
        fit=fit,
        labels=LabelChoice(weak_name, strong_name, scale, inferred),
        records_read=workload.records_read,
        labelled_without_prompt=int((labelled & ~with_prompt).sum()),
        notes=notes,
    )


def _numbers(values: npt.NDArray[np.float64]) -> list[float]:
    return [round(float(value), DIGITS) for value in values]


def scorer_document(outcome: FitOutcome) -> dict[str, Any]:
    """The scorer file's content (schema `costaudit.scorer/1`, see config/scorer.py)."""
    fit, scorer, comparison = outcome.fit, outcome.fit.scorer, outcome.fit.comparison
    interval = comparison.fitted.apgr_interval
    return {
        "schema": SCORER_SCHEMA,
        "version": __version__,
        "labels": {
            "weak": outcome.labels.weak,
            "strong": outcome.labels.strong,
            "scale": list(outcome.labels.scale or (0.0, 1.0)),
        },
        "fit": {"labelled": fit.labelled, "folds": fit.folds, "seed": fit.seed},
        "out_of_fold": {
            "apgr": round(comparison.fitted.apgr, DIGITS),
            "apgr_interval": [round(value, DIGITS) for value in interval] if interval else None,
            "cpt50": comparison.fitted.cpt50,
            "cpt80": comparison.fitted.cpt80,
        },
        "label_free": {
            "builtin_apgr": round(comparison.builtin.apgr, DIGITS) if comparison.builtin else None,
            "length_apgr": round(comparison.length.apgr, DIGITS),
            "random_apgr": round(comparison.random.apgr, DIGITS),
        },
        "features": list(ALL_FEATURES),
        "mean": _numbers(scorer.mean),
        "scale": _numbers(scorer.scale),
        **{
            name: {
                "intercept": round(scorer.models[name].intercept, DIGITS),
                "weights": _numbers(scorer.models[name].weights),
            }
            for name in MODELS
        },
        "tokens": {
            "hash": "crc32",
            "min_prompts": MIN_PROMPTS_PER_TOKEN,
            "shrinkage": SHRINKAGE,
            "labelled": scorer.tokens.labelled,
            "ids": [int(value) for value in scorer.tokens.hashes],
            "prompts": [int(value) for value in scorer.tokens.prompts],
            **{name: _numbers(scorer.tokens.values[:, index]) for index, name in enumerate(MODELS)},
        },
    }


def save_scorer(document: dict[str, Any], path: Path) -> None:
    write_file(path, orjson.dumps(document) + b"\n")


def read_scorer_file(path: Path, where: str = "") -> ScorerFile:
    """A scorer file, validated; errors name the file and the field (or the scenario field `where`
    that names a missing file)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            Location(str(path), field=where or None), "scorer file not found"
        ) from None
    except OSError as exc:
        raise InputError(
            Location(str(path), field=where or None), f"cannot read: {exc.strerror or exc}"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None
    data = loads_json(text, str(path), exact=False)
    if not isinstance(data, dict):
        raise InputError(str(path), "expected a JSON object at the top level")
    if data.get("schema") != SCORER_SCHEMA:
        raise InputError(
            Location(str(path), field="schema"),
            f"not a costaudit scorer (expected schema {SCORER_SCHEMA}; `costaudit route fit --out` writes one)",
        )
    try:
        parsed = ScorerFile.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(path, exc)
        problems[0].also = tuple(problems[1:])
        raise problems[0] from None
    if tuple(parsed.features) != ALL_FEATURES:
        raise InputError(
            Location(str(path), field="features"),
            "made with other features than this version of costaudit uses: fit it again with "
            "`costaudit route fit`",
        )
    return parsed


def scorer_from_file(parsed: ScorerFile) -> FittedScorer:
    tokens = parsed.tokens
    return FittedScorer(
        mean=np.array(parsed.mean),
        scale=np.array(parsed.scale),
        models={
            "weak": Logistic(parsed.weak.intercept, np.array(parsed.weak.weights)),
            "strong": Logistic(parsed.strong.intercept, np.array(parsed.strong.weights)),
        },
        tokens=TokenTable(
            hashes=np.array(tokens.ids, dtype=np.uint32),
            prompts=np.array(tokens.prompts, dtype=np.int64),
            values=np.stack([np.array(tokens.weak), np.array(tokens.strong)], axis=1).reshape(
                -1, 2
            ),
            labelled=tokens.labelled,
        ),
    )


def load_scorer(path: Path, where: str = "") -> tuple[FittedScorer, ScorerFile]:
    parsed = read_scorer_file(path, where)
    return scorer_from_file(parsed), parsed
