"""One row per customer: preparing the table, its folds and its cross-validation.

The ``customer_table`` pipeline's nodes are thin wrappers around these modules.
(No imports here: the parameter models import :mod:`.folds` for its constants.)
"""
