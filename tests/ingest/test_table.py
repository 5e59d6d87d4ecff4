"""The table builder: prompt keys, and chunks counted in the background without losing order."""

from __future__ import annotations

import numpy as np
import pytest

from costaudit.core.complexity import complexity_score
from costaudit.ingest.problems import Problems
from costaudit.ingest.table import TOKENIZED, Draft, TableBuilder, prompt_hash
from costaudit.ingest.tokenizer import encoder_for
from costaudit.ingest.workers import Workers


def test_prompt_hash_keys_the_exact_prompt_and_model() -> None:
    messages = [("system", "Be brief.", None), ("user", "What is 2 + 2?", None)]
    same = prompt_hash("gpt-4o", [("system", "Be brief.", None), ("user", "What is 2 + 2?", None)])

    assert prompt_hash("gpt-4o", messages) == same
    assert prompt_hash("gpt-4o-mini", messages) != same
    assert prompt_hash("gpt-4o", [messages[0], ("user", "What is 2 +  2?", None)]) != same
    assert prompt_hash("gpt-4o", [("user", "Be brief.", None), messages[1]]) != same
    assert prompt_hash("gpt-4o", [("system", "Be brief.What is 2 + 2?", None)]) != same


def _draft(index: int) -> Draft:
    question = f"Question {index}: " + "why does the cache miss " * (index % 7 + 1)
    return Draft(
        model="gpt-4o",
        timestamp=1_700_000_000 + index,
        messages=[("user", question, None)],
        completion="Because " * (index % 5 + 1),
    )


@pytest.mark.parametrize("in_workers", [False, True], ids=["here", "worker processes"])
def test_chunks_counted_in_the_background_keep_every_row_in_order(in_workers: bool) -> None:
    encoder = encoder_for("cl100k_base")
    workers = Workers(min_items=8) if in_workers else Workers(min_items=10**9)
    builder = TableBuilder(
        Problems(strict=True), lambda _model: "cl100k_base", chunk_rows=16, workers=workers
    )
    drafts = [_draft(index) for index in range(40)]
    for line, draft in enumerate(drafts, 1):
        builder.add(draft, "log.jsonl", line)
        assert builder.rows == line

    table = builder.finish().to_frame()

    assert len(table) == 40
    seconds = table["timestamp"].astype("int64").to_numpy() // 1_000_000_000
    assert seconds.tolist() == [1_700_000_000 + index for index in range(40)]
    outputs = [int(encoder.count([d.completion or ""])[0]) for d in drafts]
    assert len(set(outputs)) == 5
    assert table["output_tokens"].tolist() == outputs
    assert (table["token_source"].cat.codes == TOKENIZED).all()
    inputs = table["input_tokens"].to_numpy()
    expected = [
        complexity_score(d.messages[0][1] if d.messages else "", prompt_tokens=int(count))
        for d, count in zip(drafts, inputs, strict=True)
    ]
    np.testing.assert_allclose(table["complexity"].to_numpy(), expected, rtol=1e-6)
    assert table["prompt_hash"].nunique() == 40
