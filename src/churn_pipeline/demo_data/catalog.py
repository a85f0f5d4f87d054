"""Reference data of the simulated SaaS business: categories, prices and mixes.

Codes used inside the simulation are positions in the label tuples below.
"""

from __future__ import annotations

import numpy as np

PLANS = ("basic", "pro", "enterprise")
PLAN_MIX = np.array([0.55, 0.33, 0.12])
# List price per seat and month.
PLAN_PRICE = np.array([15.0, 39.0, 79.0])
# Bigger customers prefer annual contracts.
ANNUAL_SHARE = np.array([0.15, 0.35, 0.70])
# Seat counts are log-normal around these medians, clipped to the plan's range.
SEAT_MEDIAN = np.array([2.0, 8.0, 40.0])
SEAT_SIGMA = np.array([0.6, 0.6, 0.7])
SEAT_MIN = np.array([1, 2, 10])
SEAT_MAX = np.array([10, 150, 2000])

BILLING_CYCLES = ("monthly", "annual")
ANNUAL_DISCOUNT = 0.15

INDUSTRIES = (
    "software",
    "retail",
    "finance",
    "healthcare",
    "education",
    "manufacturing",
    "media",
    "other",
)
INDUSTRY_MIX = np.array([0.22, 0.12, 0.12, 0.10, 0.10, 0.10, 0.09, 0.15])
# Tech-savvy industries get more value out of the product.
INDUSTRY_HEALTH = np.array([0.15, -0.1, 0.05, 0.0, -0.1, -0.05, 0.0, -0.05])

COUNTRIES = ("US", "GB", "DE", "FR", "NL", "CA", "AU", "IN", "BR", "ES")
COUNTRY_MIX = np.array([0.35, 0.10, 0.09, 0.07, 0.04, 0.07, 0.05, 0.10, 0.08, 0.05])
# Card failures are more common where card payments are less reliable.
COUNTRY_PAY_RISK = np.array([1.0, 0.9, 0.7, 0.9, 0.7, 1.0, 1.0, 2.2, 2.5, 1.2])

CHANNELS = ("organic", "paid_search", "referral", "partner", "outbound")
CHANNEL_MIX = np.array([0.35, 0.25, 0.15, 0.10, 0.15])
# Referred and partner-sourced customers fit the product better than ad clicks.
CHANNEL_HEALTH = np.array([0.1, -0.25, 0.3, 0.15, -0.15])
CHANNEL_PAY_RISK = np.array([1.0, 1.4, 0.8, 0.8, 1.1])
# Partners and sales teams hand out promotional discounts more often.
CHANNEL_PROMO_SHARE = np.array([0.08, 0.12, 0.10, 0.35, 0.25])
PROMO_DISCOUNTS = np.array([0.05, 0.10, 0.20, 0.30])
MAX_DISCOUNT = 0.5

EVENT_TYPES = ("upgrade", "downgrade", "seat_change", "cancellation")
UPGRADE, DOWNGRADE, SEAT_CHANGE, CANCELLATION = range(4)

CHURN_TYPES = ("voluntary", "involuntary")
VOLUNTARY, INVOLUNTARY = range(2)

REASONS = (
    "pricing",
    "missing_features",
    "support",
    "competitor",
    "payment_failure",
    "business_closed",
    "other",
)
PRICING, MISSING_FEATURES, SUPPORT, COMPETITOR, PAYMENT_FAILURE = range(5)
BUSINESS_CLOSED, OTHER = 5, 6

PRIORITIES = ("low", "medium", "high", "urgent")
INVOICE_STATUSES = ("paid", "failed")
