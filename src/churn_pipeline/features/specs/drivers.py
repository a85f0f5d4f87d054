"""Named drivers: the features that carry one signal, explained and acted on as one.

Many features overlap (the same logins over 7, 14, 30 and 90 days, a trend and a
per-seat ratio), so their single SHAP values split and cancel. Each feature names
its driver (:attr:`FeatureSpec.driver`); explanations add a driver's feature
contributions up (Shapley values add), reasons rank drivers, and the playbook picks
the action of the dominant driver's *theme* (the keys of
``scoring.playbook.actions``).
"""

from __future__ import annotations

from dataclasses import dataclass

# What a driver's risk is about. Every theme but ``profile`` has a playbook action;
# ``profile`` (industry, country, ...) is who the customer is, which no action changes.
THEMES = (
    "usage",
    "support",
    "payment",
    "price_value",
    "onboarding",
    "sentiment",
    "profile",
)
PROFILE = "profile"


@dataclass(frozen=True)
class Driver:
    """A named group of features that carries one churn signal.

    Attributes:
        name: Identifier, what ``FeatureSpec.driver`` and the configuration
            (``scoring.context_drivers``) use.
        label: How people read it (charts, docs).
        theme: The kind of risk, one of ``THEMES``: the playbook action it calls
            for.
        primary: The feature that stands for the driver where one value is
            shown (the colour of the SHAP summary plot).
    """

    name: str
    label: str
    theme: str
    primary: str

    def __post_init__(self) -> None:
        if self.theme not in THEMES:
            raise ValueError(
                f"Driver {self.name!r}: theme must be one of {list(THEMES)}, "
                f"got {self.theme!r}"
            )


DRIVERS: tuple[Driver, ...] = (
    Driver("logins", "Logins", "usage", "logins_30d"),
    Driver("activity", "Active days and users", "usage", "active_days_30d"),
    Driver("key_features", "Key-feature use", "usage", "key_feature_uses_30d"),
    # One per key feature (``KEY_FEATURES``): which feature stopped being used.
    Driver("reports", "Reports use", "usage", "uses_reports_30d"),
    Driver("dashboards", "Dashboards use", "usage", "uses_dashboards_30d"),
    Driver("integrations", "Integrations use", "usage", "uses_integrations_30d"),
    Driver("automations", "Automations use", "usage", "uses_automations_30d"),
    Driver("onboarding", "Onboarding", "onboarding", "onboarding_features_30d"),
    Driver("tenure", "Tenure", "onboarding", "tenure_days"),
    Driver("support_tickets", "Support tickets", "support", "tickets_30d"),
    Driver("payments", "Failed payments", "payment", "failed_payments_90d"),
    Driver("nps", "NPS", "sentiment", "last_nps"),
    Driver("plan_and_price", "Plan and price", "price_value", "mrr"),
    Driver("industry", "Industry", PROFILE, "industry"),
    Driver(
        "acquisition_channel", "Acquisition channel", PROFILE, "acquisition_channel"
    ),
    Driver("country", "Country", PROFILE, "country"),
)
DRIVERS_BY_NAME: dict[str, Driver] = {d.name: d for d in DRIVERS}
# Drivers that explain a score but are never a reason: nobody can change them.
# ``scoring.context_drivers`` overrides this; stored policies without it use it.
DEFAULT_CONTEXT_DRIVERS = ("country", "industry", "acquisition_channel")


def column_driver(column: str) -> Driver:
    """The driver of a column outside the registry: itself, theme ``profile``."""
    return Driver(column, column, PROFILE, column)
