"""Command line: generate the demo tables and write one parquet file per table.

The tables are written chunk by chunk (see ``writer``), so a million accounts fit
in a few GB of memory. A run of at most ``--chunk-accounts`` accounts is one
chunk and holds exactly the tables of ``generate_demo_data`` for the same config.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from churn_pipeline.demo_data.config import DemoDataConfig
from churn_pipeline.demo_data.writer import (
    DEFAULT_CHUNK_ACCOUNTS,
    plan_chunks,
    write_demo_data,
)

logger = logging.getLogger(__name__)

_DEFAULTS = DemoDataConfig()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator; return the process exit code.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = DemoDataConfig(
            n_accounts=args.n_accounts,
            start_date=args.start_date,
            end_date=args.end_date,
            seed=args.seed,
            existing_share=args.existing_share,
            churn_scale=args.churn_scale,
            signal_strength=args.signal_strength,
        )
        # Checked up front so a bad size fails before any file is touched.
        plan_chunks(config.n_accounts, args.chunk_accounts)
    except ValueError as exc:
        parser.error(str(exc))
    write_demo_data(config, args.output_dir, chunk_accounts=args.chunk_accounts)
    return 0


def write_tables(tables: Mapping[str, pd.DataFrame], output_dir: Path) -> list[Path]:
    """Write in-memory tables to ``<output_dir>/<name>.parquet``; return the paths.

    For tables from :func:`generate_demo_data`; the command line itself uses the
    chunked :func:`write_demo_data`.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in tables.items():
        path = output_dir / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        logger.info("Wrote %s: %d rows x %d columns", path, *frame.shape)
        paths.append(path)
    return paths


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="churn-demo-data",
        description="Generate seeded SaaS churn demo data as parquet files.",
    )
    add = parser.add_argument
    add("--n-accounts", type=int, default=_DEFAULTS.n_accounts, help="accounts")
    add("--seed", type=int, default=_DEFAULTS.seed, help="random seed")
    add("--start-date", default=_DEFAULTS.start_date, help="first observed day")
    add("--end-date", default=_DEFAULTS.end_date, help="observation end")
    add(
        "--existing-share",
        type=float,
        default=_DEFAULTS.existing_share,
        help="share of accounts already customers at the start date",
    )
    add(
        "--churn-scale",
        type=float,
        default=_DEFAULTS.churn_scale,
        help="multiplier of the voluntary churn hazard",
    )
    add(
        "--signal-strength",
        type=float,
        default=_DEFAULTS.signal_strength,
        help="weight of the warning signs in the churn hazard",
    )
    add(
        "--chunk-accounts",
        type=int,
        default=DEFAULT_CHUNK_ACCOUNTS,
        help="accounts simulated together (bounds memory; like the seed, it "
        "determines the output)",
    )
    add(
        "--output-dir",
        type=Path,
        default=Path("data/01_raw"),
        help="directory for <table>.parquet",
    )
    add("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser
