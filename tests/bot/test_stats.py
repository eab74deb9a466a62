"""The one percentile every report uses."""

from __future__ import annotations

import pytest

from bot.stats import percentile


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile([], 0.5)) == (
        50.0,
        95.0,
        0.0,
    )
    assert percentile([3.0], 0.95) == 3.0


@pytest.mark.parametrize(
    ("values", "median", "p95"),
    [
        ([4.0, 1.0, 3.0, 2.0], 2.0, 4.0),
        ([5.0, 1.0, 4.0, 2.0, 3.0], 3.0, 5.0),
        ([7.0, 7.0], 7.0, 7.0),
    ],
)
def test_percentile_whatever_the_order_and_count(
    values: list[float], median: float, p95: float
) -> None:
    assert (percentile(values, 0.5), percentile(values, 0.95)) == (median, p95)
