"""Turning churn probabilities into actions.

``policy`` (risk bands and the contact decision), ``accounts`` (score accounts, the
code path shared by batch scoring and the service), ``reasons``, ``playbook`` and
``value`` (per-account CLV).
"""
