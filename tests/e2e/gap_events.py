"""A small seeded event-level business whose churn is a gap between periods.

Monthly subscription periods without ids, no accounts table, and one row per
product event (account, timestamp, event type). Churners' usage fades over the
60 days before their last period ends; a quarter of them come back after more
than the gap. Also the gap definition computed the plain way, to check the
pipeline's labels against.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2023-01-01")
END = pd.Timestamp("2024-06-30")
GAP_DAYS = 30
EVENT_TYPES = ("login", "report", "dashboard", "integration", "webhook")
_TYPE_SHARES = (0.5, 0.2, 0.15, 0.1, 0.05)
_PERIOD = pd.Timedelta(days=30)


def _spells(rng: np.random.Generator, signup: pd.Timestamp) -> list[tuple]:
    """An account's active spells (start, end or None while still active)."""
    churns = rng.random() < 0.55
    if not churns:
        return [(signup, None)]
    months = int(rng.integers(2, 14))
    end = signup + months * _PERIOD - pd.Timedelta(days=1)
    if end >= END:
        return [(signup, None)]
    spells = [(signup, end)]
    back = end + pd.Timedelta(days=int(rng.integers(GAP_DAYS + 15, 120)))
    if rng.random() < 0.25 and back < END:
        spells.append((back, None))
    return spells


def _periods(account: str, spells: list[tuple]) -> list[dict]:
    """Consecutive monthly periods per spell; an active spell's last is open."""
    rows = []
    for first, last in spells:
        start = first
        while start <= (last if last is not None else END):
            end = start + _PERIOD - pd.Timedelta(days=1)
            if last is None and end >= END:
                end = None
            elif last is not None:
                end = min(end, last)
            rows.append(
                {
                    "customer": account,
                    "begins": start.date().isoformat(),
                    "ends": None if end is None else end.date().isoformat(),
                    "plan": "basic",
                    "seats": 5,
                    "mrr": 50.0,
                    "billing_cycle": "monthly",
                }
            )
            start = start + _PERIOD
    return rows


def _events(
    rng: np.random.Generator, account: str, spells: list[tuple], rate: float
) -> pd.DataFrame:
    """Poisson events per active day; fading towards the end of a churned spell."""
    frames = []
    for first, last in spells:
        days = pd.date_range(first, last if last is not None else END, freq="D")
        factor = np.ones(len(days))
        if last is not None:
            to_end = (last - days).days.to_numpy()
            factor = np.clip(to_end / 60.0, 0.05, 1.0)
        counts = rng.poisson(rate * factor)
        stamps = np.repeat(days.to_numpy(), counts)
        seconds = rng.integers(0, 86_400, size=len(stamps))
        frames.append(
            pd.DataFrame(
                {
                    "customer": account,
                    "ts": stamps + pd.to_timedelta(seconds, unit="s").to_numpy(),
                    "action": rng.choice(EVENT_TYPES, size=len(stamps), p=_TYPE_SHARES),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def generate(n_accounts: int = 240, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The periods and the events of ``n_accounts`` accounts (fixed seed)."""
    rng = np.random.default_rng(seed)
    periods, events = [], []
    for number in range(n_accounts):
        account = f"acct{number:04d}"
        signup = START + pd.Timedelta(days=int(rng.integers(0, 270)))
        spells = _spells(rng, signup)
        periods.extend(_periods(account, spells))
        events.append(_events(rng, account, spells, rate=0.6 + 1.6 * rng.random()))
    frame = pd.concat(events, ignore_index=True).sort_values(["ts", "customer"])
    return pd.DataFrame(periods), frame.reset_index(drop=True)


def write(folder: Path, n_accounts: int = 240, seed: int = 7) -> None:
    """Write ``periods.csv`` and ``events.csv`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    periods, events = generate(n_accounts, seed)
    periods.to_csv(folder / "periods.csv", index=False)
    events.to_csv(folder / "events.csv", index=False)


def gold_churns(
    periods: pd.DataFrame, gap_days: int, data_end: pd.Timestamp
) -> list[tuple[str, pd.Timestamp]]:
    """(account, churn day) by the gap definition, account by account.

    ``periods`` has ``account_id``, ``start_date`` and ``end_date`` (NaT: open).
    """
    gap = pd.Timedelta(days=gap_days)
    churns = []
    for account, rows in periods.sort_values("start_date").groupby("account_id"):
        covered: pd.Timestamp | None = None
        is_open = False
        for row in rows.itertuples():
            if covered is not None and not is_open and row.start_date > covered + gap:
                churns.append((account, covered))
            if pd.isna(row.end_date):
                is_open = True
            elif covered is None or row.end_date > covered:
                covered = row.end_date
        if not is_open and covered + gap <= data_end:
            churns.append((account, covered))
    return sorted(churns)
