"""Scale tests run against real servers the tests start themselves (`make test-scale`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.local_postgres import LocalPostgres, local_postgres
from orchestration.paths import LedgerPaths
from orchestration.publish.lake import LakeStore
from orchestration.publish.lake_catalog import CATALOG_ENV, DATA_PATH_ENV
from orchestration.publish.store import open_store


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.scale)


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """One PostgreSQL server for the session; each test makes its own database on it."""
    with local_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free loopback port, for the session: its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()  # returns once the socket listens
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def lake(
    postgres: LocalPostgres,
    ledger_home: LedgerPaths,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> LakeStore:
    """An empty lake in its own database, selected by the settings as a user would."""
    monkeypatch.setenv(CATALOG_ENV, postgres.create_database(request.node.name.lower()[:60]))
    monkeypatch.setenv(DATA_PATH_ENV, str(ledger_home.home / "lake"))
    store = open_store(ledger_home)
    assert isinstance(store, LakeStore)
    return store
