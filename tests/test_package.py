"""Importing the package prepares the process for model fits on a shared machine."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SHOW = "import os, churn_pipeline; print(os.environ['GOMP_SPINCOUNT'])"


@pytest.mark.parametrize(("given", "expected"), [(None, "10000"), ("300000", "300000")])
def test_the_openmp_spin_count_is_shortened_unless_the_user_set_one(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    if given is not None:
        env["GOMP_SPINCOUNT"] = given
    # A fresh interpreter: this one imported the package long ago.
    shown = subprocess.run(
        [sys.executable, "-c", SHOW],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == expected
