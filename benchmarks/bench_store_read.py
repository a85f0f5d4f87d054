"""Online feature store reads: Feast's SDK against the service's reader.

Writes a synthetic scored day (``--accounts`` accounts x ``--numeric`` +
``--categorical`` features) with ``write_online`` into a temporary SQLite
store, and into Redis when one answers at ``--redis`` (Feast's connection
string; default ``localhost:6379``). Then, for 1 and 8 account ids per call,
times three ways to read the same stored rows:

- ``feast_sdk``: ``FeatureStore.get_online_features(...).to_dict()``;
- ``online_read``: the provider's ``online_store.online_read`` with entity
  keys built by Feast (no response building);
- ``reader``: ``OnlineFeatureReader.read``, what the service calls.

Each is timed with ``timeit`` (``--number`` calls per run, best of
``--repeats`` runs) after checking that the SDK and the reader return the same
values. Prints a table; ``--json PATH`` also writes the numbers.

Usage::

    python -m benchmarks.bench_store_read
    python -m benchmarks.bench_store_read --redis 127.0.0.1:6380 --json out.json
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
import time
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.results_file import write_json
from churn_pipeline.feature_store import (
    OnlineFeatureReader,
    OnlineStoreSettings,
    StoreUnavailable,
    write_feature_repo,
    write_online,
)
from churn_pipeline.feature_store.repo import repo_config

logger = logging.getLogger("benchmarks.store_read")
BATCHES = (1, 8)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return a process exit code."""
    args = _parser().parse_args(argv)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-store-") as directory:
        for kind in ("sqlite", "redis"):
            settings = OnlineStoreSettings(
                kind=kind,
                repo_path=str(Path(directory) / kind),
                redis_connection_string=args.redis,
                project="bench_store_read",
            )
            if kind == "redis" and not _redis_answers(settings):
                print(f"No Redis answers at {args.redis}: Redis skipped")
                continue
            rows += _bench_kind(settings, args)
    _print_table(rows)
    if args.json:
        write_json(Path(args.json), {"config": vars(args), "results": rows})
    return 0


def _bench_kind(
    settings: OnlineStoreSettings, args: argparse.Namespace
) -> list[dict[str, Any]]:
    from feast import FeatureStore  # noqa: PLC0415 (after the settings checks)
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey  # noqa: PLC0415
    from feast.protos.feast.types.Value_pb2 import Value  # noqa: PLC0415

    frame, numeric, categorical = _frame(args.accounts, args.numeric, args.categorical)
    source = Path(settings.repo_path).parent / f"{settings.kind}.parquet"
    frame.to_parquet(source)
    write_feature_repo(
        settings, numeric=numeric, categorical=categorical, offline_source=source
    )
    started = time.perf_counter()
    write_online(settings, frame, numeric=numeric, categorical=categorical)
    write_seconds = time.perf_counter() - started
    print(f"{settings.kind}: write_online of {frame.shape} took {write_seconds:.2f} s")

    store = FeatureStore(repo_path=settings.repo_path, config=repo_config(settings))
    view = store.get_feature_view(settings.feature_view)
    names = [field.name for field in view.features]
    refs = [f"{view.name}:{name}" for name in names]
    online_store = store._get_provider().online_store
    reader = OnlineFeatureReader(settings)

    def feast_sdk(ids: list[str]) -> Any:
        rows = [{"account_id": account} for account in ids]
        return store.get_online_features(features=refs, entity_rows=rows).to_dict()

    def online_read(ids: list[str]) -> Any:
        keys = [
            EntityKey(join_keys=["account_id"], entity_values=[Value(string_val=a)])
            for a in ids
        ]
        # A fresh list: Feast's Redis store appends to the one it is given.
        return online_store.online_read(store.config, view, keys, list(names))

    results = []
    accounts = frame["account_id"].tolist()
    for size in BATCHES:
        ids = accounts[100 : 100 + size]
        _check_same(feast_sdk(ids), reader.read(ids), names)
        methods = {"feast_sdk": feast_sdk, "online_read": online_read}
        methods["reader"] = reader.read
        for method, call in methods.items():
            seconds = _best(call, ids, args.number, args.repeats)
            results.append(
                {
                    "kind": settings.kind,
                    "method": method,
                    "ids": size,
                    "ms_per_call": seconds * 1e3,
                    "ms_per_account": seconds * 1e3 / size,
                    "write_seconds": write_seconds,
                }
            )
    reader.close()
    return results


def _frame(
    accounts: int, numeric: int, categorical: int
) -> tuple[pd.DataFrame, list[str], list[str]]:
    rng = np.random.default_rng(0)
    numeric_names = [f"num_{i:02d}" for i in range(numeric)]
    categorical_names = [f"cat_{i:02d}" for i in range(categorical)]
    frame = pd.DataFrame(rng.normal(size=(accounts, numeric)), columns=numeric_names)
    frame.iloc[::7, 0] = np.nan
    for name in categorical_names:
        frame[name] = rng.choice(np.array(["a", "b", "c", None]), size=accounts)
    frame.insert(0, "account_id", [f"ACC{i:07d}" for i in range(accounts)])
    frame.insert(1, "as_of_date", pd.Timestamp("2024-03-01"))
    return frame, numeric_names, categorical_names


def _check_same(
    sdk: dict[str, list[Any]], read: dict[str, Any], names: list[str]
) -> None:
    for index, account in enumerate(sdk["account_id"]):
        for name in names:
            expected, got = sdk[name][index], read[account].values[name]
            same = expected == got or (expected is None and got is None)
            if isinstance(expected, float) and math.isnan(expected):
                same = got is None
            if not same:
                raise AssertionError(f"{account} {name}: SDK {expected!r}, {got!r}")


def _best(
    call: Callable[[list[str]], Any], ids: list[str], number: int, repeats: int
) -> float:
    call(ids)
    return min(timeit.repeat(lambda: call(ids), number=number, repeat=repeats)) / number


def _redis_answers(settings: OnlineStoreSettings) -> bool:
    reader = OnlineFeatureReader(settings, timeout=0.5)
    try:
        reader.ping()
    except StoreUnavailable:
        return False
    finally:
        reader.close()
    return True


def _print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'store':<7} {'method':<12} {'ids':>4} {'ms/call':>9} {'ms/account':>11}")
    for row in rows:
        print(
            f"{row['kind']:<7} {row['method']:<12} {row['ids']:>4} "
            f"{row['ms_per_call']:>9.3f} {row['ms_per_account']:>11.3f}"
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--numeric", type=int, default=60)
    parser.add_argument("--categorical", type=int, default=6)
    parser.add_argument("--number", type=int, default=200, help="calls per run")
    parser.add_argument("--repeats", type=int, default=5, help="runs; best counts")
    parser.add_argument("--redis", default="localhost:6379", help="Feast format")
    parser.add_argument("--json", default=None, help="also write results here")
    return parser


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(main())
