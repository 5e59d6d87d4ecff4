"""Array helpers agree with the numpy functions they stand in for."""

from __future__ import annotations

import numpy as np
import pytest

from costaudit.core.arrays import distinct


@pytest.mark.parametrize("size", [0, 1, 2, 17, 1_000])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32, np.uint64])
def test_distinct_equals_numpy_unique(size: int, dtype: type[np.integer]) -> None:
    generator = np.random.default_rng(size)
    info = np.iinfo(dtype)
    for span in (3, int(info.max) // 2):
        low = max(int(info.min), -span)
        values = generator.integers(low, span, size=size, dtype=dtype)

        found = distinct(values)

        expected = np.unique(values)
        assert found.dtype == expected.dtype
        assert found.tolist() == expected.tolist()


def test_distinct_leaves_its_input_alone() -> None:
    values = np.array([5, 1, 5, 3, 1], dtype=np.int64)
    assert distinct(values).tolist() == [1, 3, 5]
    assert values.tolist() == [5, 1, 5, 3, 1]


def test_a_constant_column_reads_as_every_row_and_stays_one_value() -> None:
    from costaudit.core.arrays import compact, constant, is_zero, joined, taken

    zeros = compact(np.zeros(5, dtype=np.int64))
    assert zeros.tolist() == [0] * 5 and zeros.strides == (0,) and is_zero(zeros)
    assert not zeros.flags.writeable
    kept = compact(np.array([0, 2, 0], dtype=np.int64))
    assert kept.strides != (0,) and not is_zero(kept)
    picked = taken(zeros, np.array([4, 0, 0], dtype=np.int64))
    assert picked.tolist() == [0, 0, 0] and picked.strides == (0,)
    assert joined([zeros, constant(np.int64(0), 2)]).strides == (0,)
    mixed = joined([zeros, constant(np.int64(7), 2), kept])
    assert mixed.tolist() == [0] * 5 + [7, 7, 0, 2, 0]
