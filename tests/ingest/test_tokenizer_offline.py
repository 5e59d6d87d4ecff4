"""Exact token counts offline: o200k_base and cl100k_base from sha256-checked shipped rank files."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costaudit.cli.app import app
from costaudit.ingest import tokenizer
from costaudit.ingest.tokenizer import (
    SHIPPED_ENCODINGS,
    EncodingFileError,
    encoder_for,
    shipped_encoding,
    tiktoken_encoding,
    verified_ranks,
)
from support import data_file


@pytest.fixture(autouse=True)
def _empty_tiktoken_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may come from tiktoken's download cache: only what the packages ship."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-tiktoken-cache"))
    encoder_for.cache_clear()
    shipped_encoding.cache_clear()


@pytest.mark.parametrize("name", sorted(SHIPPED_ENCODINGS))
def test_shipped_encodings_are_exact_offline(name: str) -> None:
    encoder = encoder_for(name)
    assert (encoder.name, encoder.estimated) == (name, False)
    assert encoder.count(["hello world"]).tolist() == [2]


def test_other_encodings_fall_back_and_are_marked_estimated() -> None:
    encoder = encoder_for("p50k_base")
    assert (encoder.name, encoder.estimated) == ("cl100k_base", True)


@pytest.mark.parametrize("name", sorted(SHIPPED_ENCODINGS))
def test_the_rank_file_has_the_hash_tiktoken_expects(name: str) -> None:
    import hashlib

    from tiktoken_ext import openai_public

    source = Path(openai_public.__file__).read_text(encoding="utf-8")
    assert f'expected_hash="{SHIPPED_ENCODINGS[name]}"' in source
    assert hashlib.sha256(verified_ranks(name)).hexdigest() == SHIPPED_ENCODINGS[name]


def test_a_tampered_rank_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "bpe_openai"
    shutil.copytree(tokenizer._bpe_package_dir(), package)
    rank_file = package / "data" / "o200k_base.tiktoken.gz"
    lines = gzip.decompress(rank_file.read_bytes()).splitlines()
    lines[1000] = lines[1001]
    rank_file.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    monkeypatch.setattr(tokenizer, "_bpe_package_dir", lambda: package)
    with pytest.raises(EncodingFileError, match="is not the o200k_base hash tiktoken expects"):
        encoder_for("o200k_base")


def test_lone_surrogates_count_as_tiktoken_counts_them() -> None:
    text = "a\ud800b \udfff tail"
    for name in SHIPPED_ENCODINGS:
        expected = len(tiktoken_encoding(name).encode_ordinary(text))
        assert encoder_for(name).count([text]).tolist() == [expected]


def shared_texts(shared: Path) -> list[str]:
    texts: list[str] = []
    with (shared / "mt-bench" / "question.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            texts += json.loads(line)["turns"]
    with (shared / "routellm-gsm8k" / "gsm8k_responses.csv").open(
        encoding="utf-8", newline=""
    ) as handle:
        rows = csv.reader(handle)
        header = next(rows)
        columns = [
            header.index(name) for name in header if name == "prompt" or name.endswith("_response")
        ]
        for row in rows:
            texts += [row[column] for column in columns]
    return texts


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(SHIPPED_ENCODINGS))
def test_counts_equal_tiktoken_on_the_public_prompts(shared_data: Path, name: str) -> None:
    """Every MT-Bench turn and every GSM8K prompt and answer: token ids and counts identical."""
    texts = shared_texts(shared_data)
    assert len(texts) == 4117
    reference = tiktoken_encoding(name)
    shipped = encoder_for(name)
    expected = [reference.encode_ordinary(text) for text in texts]
    assert [shipped.token_ids(text).tolist() for text in texts] == expected
    assert shipped.count(texts).tolist() == [len(ids) for ids in expected]
    assert (
        sum(len(ids) for ids in expected) == {"cl100k_base": 384_638, "o200k_base": 382_064}[name]
    )


def test_usage_less_gpt_4o_logs_are_tokenized_not_estimated(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    rows = [
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello world"}]},
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello world"}]},
    ]
    log.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["analyze", str(log), "--pricing", str(data_file("cli/prices.yaml")), "-o", "json"]
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    # 3 reply-priming + 3 framing + "user" (1) + "hello world" (2) = 9 tokens per request
    assert document["tokens"]["input"] == 18
    assert document["token_sources"] == {"usage": 0, "tokenized": 18, "estimated": 0}
