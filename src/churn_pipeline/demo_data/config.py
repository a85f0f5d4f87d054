"""Configuration of the demo-data simulation."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

MAX_ACCOUNTS = 1_000_000
# Ten years keeps day indices small and run times bounded.
MAX_SPAN_DAYS = 3660
MAX_SEED = 2**63 - 1


@dataclass(frozen=True, kw_only=True)
class DemoDataConfig:
    """Settings of :func:`churn_pipeline.demo_data.generate_demo_data`.

    Attributes:
        n_accounts: Accounts in the output, i.e. customers at ``start_date`` plus
            sign-ups until ``end_date``; 1 to 1,000,000.
        start_date: First day of recorded activity, ISO ``YYYY-MM-DD``.
        end_date: Observation end (inclusive); nothing is dated after it.
        seed: Seed of ``numpy.random.default_rng``; 0 to 2**63 - 1.
        existing_share: Share of accounts that are already customers at
            ``start_date`` (signed up in the three years before it); 0 to 0.95.
        churn_scale: Multiplier of the voluntary cancellation hazard; 0 to 5.
            The default 1 gives roughly 2.5 % monthly churn (voluntary and
            involuntary); 2 gives about 4 %.
        signal_strength: Weight of the warning signs (health, usage decline,
            inactivity, old tickets, NPS, price vs value) in the voluntary
            hazard; 0 to 3. 0 leaves only tenure, plan, renewal timing, payment
            failures and noise; 1 is the calibrated default. Stronger signals
            also raise the churn rate.
    """

    n_accounts: int = 3000
    start_date: str = "2024-01-01"
    end_date: str = "2025-12-31"
    seed: int = 42
    existing_share: float = 0.35
    churn_scale: float = 1.0
    signal_strength: float = 1.0

    def __post_init__(self) -> None:
        _check_int("n_accounts", self.n_accounts, 1, MAX_ACCOUNTS)
        _check_int("seed", self.seed, 0, MAX_SEED)
        _check_float("existing_share", self.existing_share, 0.0, 0.95)
        _check_float("churn_scale", self.churn_scale, 0.0, 5.0)
        _check_float("signal_strength", self.signal_strength, 0.0, 3.0)
        span = (self.end - self.start).days
        if not 0 <= span <= MAX_SPAN_DAYS:
            raise ValueError(
                f"end_date must be on or after start_date and at most "
                f"{MAX_SPAN_DAYS} days after it, got start_date={self.start_date!r}, "
                f"end_date={self.end_date!r}"
            )

    @property
    def start(self) -> dt.date:
        """First day of recorded activity."""
        return _parse_date("start_date", self.start_date)

    @property
    def end(self) -> dt.date:
        """Last day of the observation window."""
        return _parse_date("end_date", self.end_date)


def _check_int(name: str, value: object, low: int, high: int) -> None:
    # bool is an int subclass, but True accounts are surely a caller mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")


def _check_float(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")


def _parse_date(name: str, value: object) -> dt.date:
    if not isinstance(value, str):
        raise ValueError(
            f"{name} must be an ISO date string 'YYYY-MM-DD', got {value!r}"
        )
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{name} must be an ISO date string 'YYYY-MM-DD', got {value!r}"
        ) from None
