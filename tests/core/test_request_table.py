"""The request table as numpy columns and as a DataFrame say the same thing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from costaudit.core.analysis import hourly_requests, token_source_shares
from costaudit.core.prompt_features import TokenSets, dense_matrix, prompt_features
from costaudit.core.request_table import NAT, RequestColumns, as_columns
from costaudit.core.router_fit import fit_scorer
from costaudit.ingest.problems import Problems
from costaudit.ingest.table import Draft, TableBuilder
from support import labelled_prompts


def _columns() -> RequestColumns:
    builder = TableBuilder(Problems(strict=True), lambda _model: "cl100k_base")
    rows = [
        Draft(model="gpt-4o", timestamp=1_790_812_800, input_tokens=100, output_tokens=5),
        Draft(
            model="gpt-4o-mini",
            timestamp=1_790_812_800 + 2 * 3600 + 59,
            input_tokens=300,
            cached_input_tokens=256,
            output_tokens=7,
            groups={"feature": "search"},
            quality={"gpt-4o": 1.0},
        ),
        Draft(model=None, input_tokens=50, output_tokens=0, groups={"feature": "chat"}),
    ]
    for line, draft in enumerate(rows, 1):
        builder.add(draft, "log.jsonl", line)
    return builder.finish()


def test_a_dataframe_round_trip_keeps_every_column() -> None:
    columns = _columns()

    back = as_columns(columns.to_frame(), ["feature"])

    np.testing.assert_array_equal(back.timestamp_ns, columns.timestamp_ns)
    assert back.timestamp_ns[2] == NAT
    assert [back.model.names[code] if code >= 0 else None for code in back.model.codes] == [
        "gpt-4o",
        "gpt-4o-mini",
        None,
    ]
    for name, values in columns.tokens.items():
        np.testing.assert_array_equal(back.tokens[name], values)
    feature = back.group("feature")
    assert [feature.names[code] if code >= 0 else None for code in feature.codes] == [
        None,
        "search",
        "chat",
    ]
    np.testing.assert_array_equal(back.quality["gpt-4o"], [np.nan, 1.0, np.nan])
    assert back.group("user").codes.tolist() == [-1, -1, -1]


def test_hand_built_frames_of_any_time_resolution_read_as_nanoseconds() -> None:
    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(pd.Series(["2026-09-01 10:30", None])).dt.as_unit("s"),
            "model": ["a", "b"],
            "input_tokens": [3, 4],
            "output_tokens": [1, 2],
        }
    )

    columns = as_columns(frame)

    assert columns.timestamp_ns.tolist() == [1_788_258_600 * 10**9, NAT]
    assert columns.tokens["cached_input_tokens"].tolist() == [0, 0]
    assert token_source_shares(frame) == {"usage": 10, "tokenized": 0, "estimated": 0}


def test_hourly_counts_fill_the_hours_without_requests() -> None:
    hours = hourly_requests(_columns())

    assert [(stamp.isoformat(), count) for stamp, count in hours] == [
        ("2026-10-01T00:00:00+00:00", 1),
        ("2026-10-01T01:00:00+00:00", 0),
        ("2026-10-01T02:00:00+00:00", 1),
    ]


def test_the_builder_applies_fitted_scorers_and_keeps_only_labelled_prompts() -> None:
    prompts, weak, strong = labelled_prompts(200)
    features = [prompt_features(text) for text in prompts]
    tokens = np.full(len(prompts), 30, dtype=np.int64)
    scorer = fit_scorer(
        dense_matrix(features, tokens), TokenSets.of(features), np.stack([weak, strong], 1), 7
    )
    builder = TableBuilder(
        Problems(strict=True),
        lambda _model: "cl100k_base",
        scorers={"router.json": scorer},
        keep_labelled_prompts=True,
    )
    system = ("system", "You are helpful. " * 50, None)
    rows = [
        Draft(model="m", messages=[system, ("user", prompts[1], None)], output_tokens=1),
        Draft(model="m", messages=[("user", prompts[1], None)], output_tokens=1, quality={"a": 1}),
        Draft(model="m", input_tokens=50, output_tokens=0),
    ]
    for line, draft in enumerate(rows, 1):
        builder.add(draft, "log.jsonl", line)
    columns = builder.finish()
    scores = columns.scores["router.json"]
    assert not np.isnan(scores[:2]).any() and np.isnan(scores[2])
    assert builder.labelled_prompts == [None, (prompts[1], 1, 1.0), None]
    back = as_columns(columns.to_frame())
    np.testing.assert_array_equal(back.scores["router.json"], scores)
    # the shared system prompt does not make the first question look long
    assert columns.complexity[0] == pytest.approx(columns.complexity[1], abs=0.05)
