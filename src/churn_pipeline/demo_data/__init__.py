"""Seeded demo data of a SaaS business whose churn emerges from warning signs."""

from churn_pipeline.demo_data.config import DemoDataConfig
from churn_pipeline.demo_data.generator import generate_demo_data
from churn_pipeline.demo_data.writer import WrittenTables, write_demo_data

__all__ = ["DemoDataConfig", "WrittenTables", "generate_demo_data", "write_demo_data"]
