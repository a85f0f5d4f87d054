"""Kedro datasets of this project (referenced by type in the catalog)."""

from churn_pipeline.datasets.absent_table import AbsentTableDataset
from churn_pipeline.datasets.atomic import (
    AtomicCSVDataset,
    AtomicJSONDataset,
    AtomicMatplotlibDataset,
    AtomicParquetDataset,
    AtomicPickleDataset,
    AtomicTextDataset,
)
from churn_pipeline.datasets.champion_model import ChampionModelDataset
from churn_pipeline.datasets.online_store import OnlineFeatureStoreDataset
from churn_pipeline.datasets.parquet_table import ParquetTable, ParquetTableDataset

__all__ = [
    "AbsentTableDataset",
    "AtomicCSVDataset",
    "AtomicJSONDataset",
    "AtomicMatplotlibDataset",
    "AtomicParquetDataset",
    "AtomicPickleDataset",
    "AtomicTextDataset",
    "ChampionModelDataset",
    "OnlineFeatureStoreDataset",
    "ParquetTable",
    "ParquetTableDataset",
]
