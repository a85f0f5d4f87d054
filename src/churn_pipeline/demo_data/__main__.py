"""Allow ``python -m churn_pipeline.demo_data``."""

from churn_pipeline.demo_data.cli import main

raise SystemExit(main())
