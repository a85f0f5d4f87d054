"""Quarterly relationship NPS surveys with partial response."""

from __future__ import annotations

import numpy as np

from churn_pipeline.demo_data.state import NPS_SURVEY_EVERY_DAYS

# The first survey waits until the customer has used the product a while.
FIRST_SURVEY_TENURE = 30
RESPONSE_RATE = 0.35
SCORE_BASE = 7.6
SCORE_HEALTH_SLOPE = 1.5
SCORE_NOISE_SD = 1.4


def surveyed_today(
    idx: np.ndarray, tenure: np.ndarray, phase: np.ndarray
) -> np.ndarray:
    """Return the subset of ``idx`` due for a survey (arrays aligned to ``idx``)."""
    due = (tenure >= FIRST_SURVEY_TENURE) & (
        (tenure - phase) % NPS_SURVEY_EVERY_DAYS == 0
    )
    return idx[due]


def draw_responses(
    rng: np.random.Generator, surveyed: np.ndarray, health: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the responding accounts and their 0-10 scores.

    Args:
        rng: Random generator.
        surveyed: Accounts surveyed today.
        health: Health of those accounts.
    """
    answered = rng.random(surveyed.size) < RESPONSE_RATE
    raw = (
        SCORE_BASE
        + SCORE_HEALTH_SLOPE * health
        + rng.normal(0.0, SCORE_NOISE_SD, surveyed.size)
    )
    score = np.clip(np.round(raw), 0, 10).astype(np.int8)
    return surveyed[answered], score[answered]
