"""Figures for MLflow artifacts and reports."""
