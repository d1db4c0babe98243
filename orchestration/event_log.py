"""Dagster's SQLite event log, keeping its database connections open between events.

Dagster's ``SqliteEventLogStorage`` builds an SQLAlchemy engine, connects, and disposes of both
for every event it stores. A sample ``ledger run`` stores ~400 events (each monthly dbt model
materializes once per month), so that setup was ~2 s of the run: 23.1-27.0 s against
20.2-21.5 s with this class, in three alternating pairs of fresh sample runs. This subclass
keeps the engines of the last few databases it used (the cross-run index and the runs in
flight) with SQLAlchemy's default connection pool. Schema, files, locking between processes
(a connection holds no lock between transactions) and how the UI watches the files all stay
Dagster's. The instance config (instance.py) names this class for the SQLite instance.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

OPEN_ENGINES = 4  # the index and up to three run databases; the UI reads many runs in turn


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` whose engines outlive one event."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()  # super() may connect already
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engines.pop(shard, None)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
            self._engines[shard] = engine  # now the most recently used
            while len(self._engines) > OPEN_ENGINES:
                self._engines.popitem(last=False)[1].dispose()
            with engine.connect() as conn, conn.begin():
                yield conn

    def _close_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        """Dagster deletes the run databases here: no connection may outlive its file."""
        self._close_engines()
        super().wipe()

    def upgrade(self) -> None:
        self._close_engines()
        super().upgrade()

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()
