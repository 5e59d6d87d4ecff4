"""The request table: its DataFrame edges say the same thing, and rows can be taken and joined."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costaudit.core.analysis import PERCENTILES, hourly_requests, percentiles, token_source_shares
from costaudit.core.prompt_features import TokenSets, dense_matrix, prompt_features
from costaudit.core.request_table import NAT, RequestTable
from costaudit.core.router_fit import fit_scorer
from costaudit.core.sums import exact_sum
from costaudit.ingest.problems import Problems
from costaudit.ingest.table import Draft, TableBuilder
from support import labelled_prompts


def _columns() -> RequestTable:
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

    back = RequestTable.from_frame(columns.to_frame(), ["feature"])

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

    columns = RequestTable.from_frame(frame)

    assert columns.timestamp_ns.tolist() == [1_788_258_600 * 10**9, NAT]
    assert columns.tokens["cached_input_tokens"].tolist() == [0, 0]
    assert token_source_shares(columns) == {"usage": 10, "tokenized": 0, "estimated": 0}


def test_text_columns_of_a_frame_become_grouping_keys() -> None:
    frame = pd.DataFrame({"model": ["a", "b"], "input_tokens": [1, 2], "team": ["x", None]})

    table = RequestTable.from_frame(frame)

    assert list(table.groups) == ["team"]
    assert table.group("team").values() == ["x", None]


def test_taking_rows_keeps_every_column_aligned() -> None:
    table = _columns()

    picked = table.take(np.array([2, 0]))

    assert picked.model.values() == [None, "gpt-4o"]
    assert picked.tokens["input_tokens"].tolist() == [50, 100]
    assert picked.group("feature").values() == ["chat", None]
    np.testing.assert_array_equal(picked.quality["gpt-4o"], [np.nan, np.nan])


def test_joined_tables_merge_their_categories_and_fill_missing_columns() -> None:
    table = _columns()
    other = RequestTable.from_frame(
        pd.DataFrame({"model": ["gpt-4o-mini", "new"], "input_tokens": [7, 8], "team": ["a", "b"]})
    )

    joined = RequestTable.concat([table, other])

    assert len(joined) == 5
    assert joined.model.values() == ["gpt-4o", "gpt-4o-mini", None, "gpt-4o-mini", "new"]
    assert joined.group("feature").values() == [None, "search", "chat", None, None]
    assert joined.group("team").values() == [None, None, None, "a", "b"]
    assert np.isnan(joined.quality["gpt-4o"][3:]).all()


def test_token_sums_never_wrap() -> None:
    big = np.array([2**62, 2**62, 2**62], dtype=np.int64)

    assert exact_sum(big) == 3 * 2**62
    assert exact_sum(np.array([1, 2, 3], dtype=np.int64)) == 6


def test_hourly_counts_fill_the_hours_without_requests() -> None:
    hours = hourly_requests(_columns())

    assert [(stamp.isoformat(), count) for stamp, count in hours] == [
        ("2026-10-01T00:00:00+00:00", 1),
        ("2026-10-01T01:00:00+00:00", 0),
        ("2026-10-01T02:00:00+00:00", 1),
    ]


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.integers(0, 2**40), min_size=1, max_size=300)
    | st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=300)
)
def test_percentiles_are_numpys_to_the_last_bit(values: list[float]) -> None:
    array = np.asarray(values)
    expected = np.percentile(array, PERCENTILES).tolist()
    assert list(percentiles(array.copy()).values()) == expected


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
    back = RequestTable.from_frame(columns.to_frame())
    np.testing.assert_array_equal(back.scores["router.json"], scores)
    # the shared system prompt does not make the first question look long
    assert columns.complexity[0] == pytest.approx(columns.complexity[1], abs=0.05)
