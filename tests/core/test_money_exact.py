"""Money cannot wrap or round early: exact integer sums beyond int64, group keys that never collide,
and Decimal arithmetic at 60 digits."""

from __future__ import annotations

import decimal
import threading
from dataclasses import replace
from decimal import Decimal

import numpy as np

from costaudit.core.pricing import assign, cost_lines, total_cost
from costaudit.core.request_table import Category
from costaudit.core.sums import exact_sum
from costaudit.decimals import MONEY_PRECISION
from support import MakeRequests, MakeTable


def test_exact_sum_goes_past_int64() -> None:
    values = np.array([2**62, 2**62, 2**62, -5], dtype=np.int64)
    assert exact_sum(values) == 3 * 2**62 - 5
    assert int(values.sum()) != 3 * 2**62 - 5  # what int64 accumulation gives


def test_line_sums_past_int64_are_exact_and_costs_keep_every_digit(
    make_requests: MakeRequests, make_table: MakeTable
) -> None:
    """Two requests of 2^62 input tokens: 2^63 tokens in one line, which int64 cannot hold, priced
    at a rate with 18 decimals (37 significant digits in the product, beyond the default 28)."""
    table = make_table(m={"input": "0.123456789012345678", "output": "1"})
    requests = make_requests(
        {"model": "m", "input_tokens": 1, "output_tokens": 0},
        {"model": "m", "input_tokens": 1, "output_tokens": 0},
    )
    huge = {name: column.copy() for name, column in requests.tokens.items()}
    huge["input_tokens"][:] = 2**62
    requests = replace(requests, tokens=huge)
    [line] = cost_lines(requests, table, assign(requests, table))
    assert line.tokens.input == 2**63
    assert line.cost == Decimal("1138687895536.349061811773706887757824")


def test_many_group_keys_never_bill_one_model_as_another(
    make_requests: MakeRequests, make_table: MakeTable
) -> None:
    """Eight grouping keys of 600 values each: their combined key space (601^8 ≈ 1.7×10^22) is far
    beyond int64, and every gpt-4o-mini request must still be priced as gpt-4o-mini."""
    table = make_table(
        **{
            "gpt-4o": {"input": "2.5", "output": "10"},
            "gpt-4o-mini": {"input": "0.15", "output": "0.6"},
        }
    )
    rows = 600
    requests = make_requests(
        *(
            {
                "model": "gpt-4o" if row % 2 else "gpt-4o-mini",
                "input_tokens": 100,
                "output_tokens": 10,
            }
            for row in range(rows)
        )
    )
    keys = [f"k{index}" for index in range(8)]
    for index, key in enumerate(keys):
        order = np.roll(np.arange(rows, dtype=np.int32), index * 37)
        requests = requests.with_group(key, Category([f"v{i}" for i in range(rows)], order))
    lines = cost_lines(requests, table, assign(requests, table), by=keys)
    assert len(lines) == rows
    for line in lines:
        assert line.tokens.requests == 1
        assert line.price_id == line.model
    assert sorted(line.model for line in lines).count("gpt-4o-mini") == rows // 2
    gpt_4o = Decimal(100) * Decimal("2.5") + Decimal(10) * Decimal(10)
    mini = Decimal(100) * Decimal("0.15") + Decimal(10) * Decimal("0.6")
    assert total_cost(lines) == (gpt_4o + mini) * (rows // 2) / Decimal(1_000_000)


def test_decimal_precision_is_set_for_this_thread_and_new_ones() -> None:
    assert decimal.getcontext().prec >= MONEY_PRECISION
    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.append(decimal.getcontext().prec))
    worker.start()
    worker.join()
    assert seen == [max(MONEY_PRECISION, decimal.DefaultContext.prec)]
    assert seen[0] >= MONEY_PRECISION
