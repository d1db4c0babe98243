"""Scale tests run against real servers the tests start themselves (`make test-scale`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.local_postgres import LocalPostgres, local_postgres


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
