"""The detectors: small pure functions of a series (no I/O, no clock).

`history` is the daily series before the day judged, oldest first, one value
per day (a day without records is 0); `observed` is the day's value. Each
answers a `Detection` (alarm or not, with what it compared) or None when there
is nothing to test (no trials, no baseline).

- EARS C2 (CDC Early Aberration Reporting System; Hutwagner et al. 2003): the
  mean and standard deviation of a 7-day baseline that ends 2 days before the
  day; alarm when (x − mean) / max(sd, 1) > 3.
- Poisson CUSUM (Lucas 1985): in-control mean λ0 from a 28-day baseline before
  the run, out-of-control λ1 = 2λ0, reference k = (λ1 − λ0) / ln(λ1/λ0),
  S_t = max(0, S_{t−1} + x_t − k), alarm when S_t > h = 4, and S restarts at 0
  after an alarm. λ0 is floored (0.5) so that a quiet series has a defined k.
- Exact binomial test (scipy.stats.binomtest, one-sided): failures among a
  region's inspections against the category's failure rate elsewhere in time;
  alarm when p < α = 0.001.
- No detector alarms below the minimum count (5), so an empty or near-empty
  series never alarms; every divisor is floored or checked, never zero.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scipy import stats


@dataclass(frozen=True)
class Detection:
    method: str
    alarm: bool
    observed: float
    expected: float
    bound: float
    statistic: float
    p_value: float
    baseline: dict[str, Any] = field(default_factory=dict)


def _window(history: Sequence[int], size: int, lag: int) -> list[int]:
    """The `size` values ending `lag` days before the day judged (zeros before the start)."""
    padded = [0] * max(0, size + lag - len(history)) + list(history)
    end = len(padded) - lag
    return padded[end - size : end]


def ears_c2(
    history: Sequence[int],
    observed: int,
    *,
    baseline_days: int = 7,
    lag_days: int = 2,
    threshold: float = 3.0,
    sigma_floor: float = 1.0,
    min_count: int = 5,
) -> Detection:
    baseline = _window(history, baseline_days, lag_days)
    mean = statistics.fmean(baseline)
    sd = statistics.stdev(baseline) if len(baseline) > 1 else 0.0
    sigma = max(sd, sigma_floor, 1e-9)
    z = (observed - mean) / sigma
    return Detection(
        method="ears_c2",
        alarm=observed >= min_count and z > threshold,
        observed=observed,
        expected=mean,
        bound=mean + threshold * sigma,
        statistic=z,
        p_value=float(stats.norm.sf(z)),
        baseline={"values": baseline, "mean": mean, "sd": sd, "sigma": sigma},
    )


def poisson_cusum(
    history: Sequence[int],
    observed: int,
    *,
    baseline_days: int = 28,
    run_days: int = 14,
    shift: float = 2.0,
    h: float = 4.0,
    lambda_floor: float = 0.5,
    min_count: int = 5,
) -> Detection:
    run = [*_window(history, run_days - 1, 0), observed]
    baseline = _window(history, baseline_days, run_days - 1)
    lambda0 = max(statistics.fmean(baseline), lambda_floor, 1e-9)
    lambda1 = shift * lambda0
    k = (lambda1 - lambda0) / math.log(lambda1 / lambda0)
    s, previous, alarmed, s_at_alarm = 0.0, 0.0, False, 0.0
    for x in run:
        previous = s
        s = max(0.0, s + x - k)
        alarmed = s > h
        if alarmed:
            s_at_alarm, s = s, 0.0  # restart after an alarm
    statistic = s_at_alarm if alarmed else s
    return Detection(
        method="poisson_cusum",
        alarm=alarmed and observed >= min_count,
        observed=observed,
        expected=lambda0,
        bound=k + h - previous,
        statistic=statistic,
        p_value=float(stats.poisson.sf(observed - 1, lambda0)),
        baseline={"values": baseline, "lambda0": lambda0, "lambda1": lambda1, "k": k, "run": run},
    )


def binomial_rate(
    failures: int,
    trials: int,
    base_failures: int,
    base_trials: int,
    *,
    alpha: float = 0.001,
    min_count: int = 5,
) -> Detection | None:
    if trials <= 0 or base_trials <= 0 or not 0 <= failures <= trials:
        return None
    # A category with no failure on record still gets a defined, small rate.
    p0 = min(max(base_failures / base_trials, 0.5 / base_trials), 1.0)
    p_value = float(stats.binomtest(failures, trials, p0, alternative="greater").pvalue)
    bound = float(stats.binom.isf(alpha, trials, p0)) + 1
    return Detection(
        method="binomial",
        alarm=failures >= min_count and p_value < alpha,
        observed=failures,
        expected=trials * p0,
        bound=bound,
        statistic=failures / trials,
        p_value=p_value,
        baseline={
            "failures": base_failures,
            "trials": base_trials,
            "rate": p0,
            "window_failures": failures,
            "window_trials": trials,
        },
    )


def level_of(p_value: float, *, anonymous: bool, rules: dict[str, Any]) -> int:
    """1 一级 (p < 1e-4), 2 二级 (p < 1e-3), else 3 三级; anonymous sources at most 二级."""
    limits = rules["levels"]
    level = 1 if p_value < limits["1"] else 2 if p_value < limits["2"] else 3
    return max(level, rules["anonymous_max_level"]) if anonymous else level
