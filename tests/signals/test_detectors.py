"""The detectors against independent computations, and their properties."""

from __future__ import annotations

import datetime as dt
import math

from hypothesis import given
from hypothesis import strategies as st

from app.signals import detectors, rules

counts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=60)


def test_ears_c2_by_hand() -> None:
    # Baseline = the 7 days ending 2 days before: [2, 4, 4, 4, 5, 5, 7] (mean 31/7).
    history = [9, 9, 2, 4, 4, 4, 5, 5, 7, 100, 100]
    d = detectors.ears_c2(history, 12)
    mean = 31 / 7
    sd = math.sqrt(sum((x - mean) ** 2 for x in [2, 4, 4, 4, 5, 5, 7]) / 6)
    assert d.baseline["values"] == [2, 4, 4, 4, 5, 5, 7]
    assert math.isclose(d.expected, mean) and math.isclose(d.baseline["sd"], sd)
    assert math.isclose(d.statistic, (12 - mean) / sd)
    assert math.isclose(d.bound, mean + 3 * sd)
    assert d.alarm
    assert math.isclose(d.p_value, 0.5 * math.erfc(d.statistic / math.sqrt(2)))


def test_ears_c2_sigma_floor_and_threshold_boundary() -> None:
    flat = [3] * 9  # sd 0: floored at 1, so the bound is mean + 3
    assert detectors.ears_c2(flat, 6).alarm is False  # z = 3 is not above 3
    assert detectors.ears_c2(flat, 7).alarm is True
    assert detectors.ears_c2([0] * 9, 4).alarm is False  # z = 4 but below the minimum count


def _cusum_by_hand(values: list[int], lambda0: float, h: float) -> tuple[bool, float]:
    lambda1 = 2 * lambda0
    k = (lambda1 - lambda0) / (math.log(lambda1) - math.log(lambda0))
    s, alarm = 0.0, False
    for x in values:
        s = max(0.0, s + x - k)
        alarm = s > h
        if alarm:
            s = 0.0
    return alarm, k


def test_poisson_cusum_against_a_hand_loop() -> None:
    baseline = [2, 3, 1, 2, 2, 4, 2, 3, 2, 1, 2, 3, 2, 2, 3, 1, 2, 2, 3, 2, 2, 1, 3, 2, 2, 2, 3, 2]
    run = [2, 3, 2, 4, 5, 6, 3, 2, 5, 6, 7, 4, 5]
    lambda0 = sum(baseline) / 28
    for observed in (1, 5, 9):
        d = detectors.poisson_cusum([*baseline, *run], observed)
        alarm, k = _cusum_by_hand([*run, observed], lambda0, 4.0)
        assert d.alarm == (alarm and observed >= 5)
        assert math.isclose(d.baseline["k"], k) and math.isclose(d.expected, lambda0)


def test_poisson_cusum_resets_after_an_alarm() -> None:
    quiet = [1] * 28
    # A burst alarms and resets; the quiet day after does not alarm again.
    assert detectors.poisson_cusum([*quiet, *[1] * 12, 9], 9).alarm
    assert not detectors.poisson_cusum([*quiet, *[1] * 11, 9], 1).alarm


def test_binomial_against_the_sum_of_terms() -> None:
    failures, trials, p0 = 7, 20, 0.05
    exact = sum(
        math.comb(trials, i) * p0**i * (1 - p0) ** (trials - i) for i in range(failures, trials + 1)
    )
    d = detectors.binomial_rate(failures, trials, 50, 1000)
    assert d is not None and math.isclose(d.p_value, exact, rel_tol=1e-9)
    assert d.alarm and math.isclose(d.expected, 1.0)


def test_binomial_minimum_count_and_missing_baselines() -> None:
    assert detectors.binomial_rate(4, 4, 1, 1000) is not None
    assert not detectors.binomial_rate(4, 4, 1, 1000).alarm  # type: ignore[union-attr]
    assert detectors.binomial_rate(5, 5, 1, 1000).alarm  # type: ignore[union-attr]
    assert detectors.binomial_rate(3, 0, 1, 10) is None
    assert detectors.binomial_rate(3, 5, 0, 0) is None
    assert detectors.binomial_rate(5, 5, 0, 100) is not None  # a spotless category: rate floored


def test_levels_and_the_anonymous_cap() -> None:
    ruleset = rules.in_force(dt.date(2026, 12, 1))
    assert detectors.level_of(5e-5, anonymous=False, rules=ruleset) == 1
    assert detectors.level_of(1e-4, anonymous=False, rules=ruleset) == 2
    assert detectors.level_of(5e-4, anonymous=False, rules=ruleset) == 2
    assert detectors.level_of(1e-3, anonymous=False, rules=ruleset) == 3
    assert detectors.level_of(1e-9, anonymous=True, rules=ruleset) == 2


@given(counts)
def test_no_alarm_on_an_empty_or_zero_series(history: list[int]) -> None:
    assert not detectors.ears_c2([0] * len(history), 0).alarm
    assert not detectors.poisson_cusum([0] * len(history), 0).alarm
    assert not detectors.ears_c2([], 0).alarm and not detectors.poisson_cusum([], 0).alarm


@given(counts, st.integers(min_value=0, max_value=10_000))
def test_count_detectors_are_total_and_finite(history: list[int], observed: int) -> None:
    for d in (detectors.ears_c2(history, observed), detectors.poisson_cusum(history, observed)):
        assert all(math.isfinite(v) for v in (d.expected, d.bound, d.statistic))
        assert 0.0 <= d.p_value <= 1.0
        if observed < 5:
            assert not d.alarm


@given(
    st.integers(min_value=0, max_value=500),
    st.integers(min_value=0, max_value=500),
    st.integers(min_value=0, max_value=5000),
    st.integers(min_value=0, max_value=5000),
)
def test_binomial_is_total(failures: int, trials: int, base_f: int, base_n: int) -> None:
    d = detectors.binomial_rate(failures, trials, min(base_f, base_n), base_n)
    if d is None:
        assert trials == 0 or base_n == 0 or failures > trials
        return
    assert 0.0 <= d.p_value <= 1.0 and math.isfinite(d.bound)
    if failures < 5:
        assert not d.alarm
