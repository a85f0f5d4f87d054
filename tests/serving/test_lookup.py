"""Requests by account id: which accounts need the store, merging, validation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError
from tests.models import synthetic

from churn_pipeline.serving.lookup import (
    InvalidAccountError,
    UnknownAccountsError,
    account_request_model,
    known_categories,
    needs_lookup,
    resolve_accounts,
    unknown_categories,
)
from churn_pipeline.serving.metadata import example_request
from churn_pipeline.serving.schema import MAX_ACCOUNT_ID_LENGTH, AccountFeatures

AccountRequest = account_request_model(AccountFeatures)
NAMES = [n for n in AccountFeatures.model_fields if n != "account_id"]
TODAY = date(2025, 7, 2)


@dataclass(frozen=True)
class Stored:
    as_of: Any
    values: dict[str, Any]


@pytest.fixture
def full() -> dict[str, Any]:
    return dict(example_request()["accounts"][0])


@pytest.fixture
def stored(full: dict[str, Any]) -> dict[str, Stored]:
    values = {n: full[n] for n in NAMES}
    return {"A1": Stored(pd.Timestamp("2025-06-30"), values)}


def _resolve(payloads: list[dict[str, Any]], stored: dict[str, Stored], **kw: Any):
    requests = [AccountRequest.model_validate(p) for p in payloads]
    return resolve_accounts(
        requests,
        AccountFeatures,
        stored,
        max_age_days=kw.get("max_age_days", 2),
        today=kw.get("today", TODAY),
    )


def test_id_alone_takes_every_stored_value(stored: dict[str, Stored]) -> None:
    (account,) = _resolve([{"account_id": "A1"}], stored)
    assert account.features_as_of == date(2025, 6, 30)
    assert account.overridden == ()
    assert not account.stale
    for name in NAMES:
        assert getattr(account.features, name) == stored["A1"].values[name]


def test_sent_fields_override_stored_values(stored: dict[str, Stored]) -> None:
    (account,) = _resolve(
        [{"account_id": "A1", "failed_payments_30d": 3.0, "last_nps": None}], stored
    )
    assert account.overridden == ("failed_payments_30d", "last_nps")
    assert account.features.failed_payments_30d == 3.0
    assert account.features.last_nps is None
    assert account.features.logins_30d == stored["A1"].values["logins_30d"]


def test_a_complete_vector_needs_no_store(full: dict[str, Any]) -> None:
    full["account_id"] = "NEW"
    request = AccountRequest.model_validate(full)
    assert not needs_lookup(request, NAMES)
    (account,) = _resolve([full], {})
    assert account.features_as_of is None
    assert account.overridden == ()
    assert (
        account.features.model_dump()
        == AccountFeatures.model_validate(full).model_dump()
    )


def test_unknown_ids_are_named_and_nothing_is_scored(
    stored: dict[str, Stored], full: dict[str, Any]
) -> None:
    full["account_id"] = "NEW"
    with pytest.raises(UnknownAccountsError) as error:
        _resolve(
            [{"account_id": "A1"}, {"account_id": "X9"}, full, {"account_id": "X8"}],
            stored,
        )
    assert error.value.account_ids == ["X9", "X8"]
    assert "X9, X8" in str(error.value)


@pytest.mark.parametrize(
    ("today", "stale"),
    [(date(2025, 7, 2), False), (date(2025, 7, 3), True), (date(2025, 6, 30), False)],
)
def test_stale_after_the_allowed_age(
    stored: dict[str, Stored], today: date, stale: bool
) -> None:
    (account,) = _resolve([{"account_id": "A1"}], stored, today=today)
    assert account.stale is stale


def test_a_null_override_of_a_required_feature_is_refused(
    stored: dict[str, Stored],
) -> None:
    with pytest.raises(InvalidAccountError, match=r"Account A1: logins_30d"):
        _resolve([{"account_id": "A1", "logins_30d": None}], stored)


@pytest.mark.parametrize(
    "payload",
    [
        {"account_id": "x" * (MAX_ACCOUNT_ID_LENGTH + 1)},
        {"account_id": ""},
        {"account_id": "A1", "logins_30d": -1.0},
        {"account_id": "A1", "logins_30d": "12"},
        {"account_id": "A1", "plan": "p" * 101},
        {"account_id": "A1", "not_a_feature": 1.0},
    ],
)
def test_request_fields_keep_their_rules(payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AccountRequest.model_validate(payload)


def test_unknown_categories_are_named() -> None:
    model = synthetic.fitted_model()
    known = known_categories(model)
    assert set(known) == set(model.categorical_features)
    row = synthetic.holdout_table().iloc[0]
    values = {n: row[n] for n in AccountFeatures.model_fields if n in row.index}
    features = AccountFeatures.model_construct(**values)
    assert unknown_categories(features, known) == []
    name = model.categorical_features[0]
    changed = AccountFeatures.model_construct(**{**values, name: "never-seen-plan"})
    assert unknown_categories(changed, known) == [name]
