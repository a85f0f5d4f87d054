"""Requests by account id: stored features, the caller's overrides, or both.

An application knows an account id. Per account a request carries the id
alone (every feature from the online store), the id with some feature fields
(they override the stored values: a billing service that just saw a failed
payment sends ``failed_payments_30d``), or a complete feature vector (no
lookup). Whatever the mix, the merged vector is validated by the same
``AccountFeatures`` model as a full vector, so a stored value can never slip
past the rules a caller's value must pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic.fields import FieldInfo

from churn_pipeline.models.design import design_of
from churn_pipeline.models.preprocessing import normalise_category
from churn_pipeline.serving.schema import MAX_ACCOUNT_ID_LENGTH, consistency_check


class UnknownAccountsError(LookupError):
    """Accounts sent by id alone that the online store does not hold."""

    def __init__(self, account_ids: Sequence[str]) -> None:
        self.account_ids = list(account_ids)
        shown = ", ".join(self.account_ids[:20])
        more = len(self.account_ids) - 20
        super().__init__(
            f"{len(self.account_ids)} account id(s) not in the online feature store "
            f"and sent without a complete feature vector: {shown}"
            + (f" (and {more} more)" if more > 0 else "")
            + ". Send every feature field for a new account, or wait for the next "
            "daily scoring run."
        )


class InvalidAccountError(ValueError):
    """A merged feature vector breaks the request schema's rules."""

    def __init__(self, account_id: str, error: ValidationError) -> None:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:20]
        )
        super().__init__(f"Account {account_id}: {problems}")


class _RequestBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(
        ...,
        min_length=1,
        max_length=MAX_ACCOUNT_ID_LENGTH,
        description="Your identifier of the account. Alone, the features come "
        "from the online store.",
        examples=["A000123"],
    )


def account_request_model(features_model: type[BaseModel]) -> type[BaseModel]:
    """The per-account request: an id plus any subset of the feature fields.

    Args:
        features_model: The complete ``AccountFeatures`` model of the served
            model (:func:`churn_pipeline.serving.schema.account_features_model`).

    Returns:
        ``AccountRequest``: the same fields, types and bounds, every feature
        optional; which ones a caller sent is ``model_fields_set``. The values
        sent must keep the consistency rules among themselves
        (:func:`churn_pipeline.serving.schema.consistency_check`).
    """
    fields: dict[str, Any] = {}
    for name, info in features_model.model_fields.items():
        if name == "account_id":
            continue
        annotation = info.annotation
        if None not in getattr(annotation, "__args__", ()):
            annotation = annotation | None
        # The same constraints, description and examples; absent means "stored".
        fields[name] = (annotation, FieldInfo.merge_field_infos(info, default=None))
    check = consistency_check(fields)
    return create_model(
        "AccountRequest",
        __base__=_RequestBase,
        __doc__="One account: its id, and any feature values that override the "
        "stored ones (all of them for an account the store does not hold).",
        __validators__={"_consistent": model_validator(mode="after")(check)},
        **fields,
    )


@dataclass(frozen=True)
class ResolvedAccount:
    """One account's complete features and where they came from.

    Attributes:
        features: The validated complete ``AccountFeatures``.
        features_as_of: As-of date of the stored features (``None``: the
            request carried the whole vector).
        overridden: Feature fields the request sent over stored values.
        stale: Whether the stored features are older than the allowed age.
    """

    features: BaseModel
    features_as_of: date | None
    overridden: tuple[str, ...]
    stale: bool


def needs_lookup(request: BaseModel, feature_names: Iterable[str]) -> bool:
    """Whether ``request`` lacks some feature field (so the store must fill it)."""
    sent = request.model_fields_set
    return any(name not in sent for name in feature_names)


def resolve_accounts(
    requests: Sequence[BaseModel],
    features_model: type[BaseModel],
    stored: Mapping[str, Any],
    *,
    max_age_days: float,
    today: date,
) -> list[ResolvedAccount]:
    """Complete each request from the stored features and validate it.

    Args:
        requests: Validated ``AccountRequest`` objects, in request order.
        features_model: The complete ``AccountFeatures`` model.
        stored: Account id -> stored features (``as_of`` and ``values``) for the
            ids that needed a lookup and were found.
        max_age_days: Stored features older than this are ``stale``.
        today: The date ages are measured against.

    Returns:
        One resolved account per request, in order.

    Raises:
        UnknownAccountsError: Naming every id that needed a lookup and has no
            stored features.
        InvalidAccountError: If a merged vector breaks a rule (e.g. a null
            override of a feature that may not be null), naming the account
            and the fields, never the values.
    """
    names = [n for n in features_model.model_fields if n != "account_id"]
    missing = [
        r.account_id  # type: ignore[attr-defined]
        for r in requests
        if needs_lookup(r, names) and r.account_id not in stored  # type: ignore[attr-defined]
    ]
    if missing:
        raise UnknownAccountsError(list(dict.fromkeys(missing)))
    resolved = []
    for request in requests:
        sent = request.model_fields_set - {"account_id"}
        if not needs_lookup(request, names):
            values = {name: getattr(request, name) for name in names}
            resolved.append(
                ResolvedAccount(
                    _complete(features_model, request.account_id, values),  # type: ignore[attr-defined]
                    None,
                    (),
                    False,
                )
            )
            continue
        record = stored[request.account_id]  # type: ignore[attr-defined]
        values = {name: record.values.get(name) for name in names}
        values |= {name: getattr(request, name) for name in sent}
        as_of = pd.Timestamp(record.as_of).date()
        resolved.append(
            ResolvedAccount(
                _complete(features_model, request.account_id, values),  # type: ignore[attr-defined]
                as_of,
                tuple(sorted(sent)),
                (today - as_of).days > max_age_days,
            )
        )
    return resolved


def _complete(
    features_model: type[BaseModel], account_id: str, values: dict[str, Any]
) -> BaseModel:
    try:
        return features_model.model_validate({"account_id": account_id, **values})
    except ValidationError as error:
        raise InvalidAccountError(account_id, error) from None


def known_categories(model: Any) -> dict[str, frozenset[str | None]]:
    """The categories each categorical feature had in training, normalised.

    Args:
        model: A fitted ``ChurnEnsemble``.

    Returns:
        Feature -> the categories its one-hot columns cover (every member is
        fitted on the same rows, so the first member's design tells).
    """
    member = next(iter(model.members_.values()))
    design = design_of(member)
    return {
        name: frozenset(lookup)
        for name, lookup in zip(design.categorical, design.categories, strict=True)
    }


def unknown_categories(
    features: BaseModel, known: Mapping[str, frozenset[str | None]]
) -> list[str]:
    """Categorical fields whose value the model never saw in training."""
    unknown = []
    for name, categories in known.items():
        value = getattr(features, name, None)
        if value is None:
            continue
        if normalise_category(value) not in categories and value not in categories:
            unknown.append(name)
    return unknown


def today_utc() -> date:
    """Today's date in UTC, what stored features' ages are measured against."""
    return datetime.now(UTC).date()
