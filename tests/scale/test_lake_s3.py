"""The lake's data files on S3 (httpfs), against moto's S3 server: publish, time travel, gc.

The store is test_lake.py's; only LEDGER_LAKE_DATA_PATH and the AWS_* variables differ.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from orchestration.paths import LedgerPaths
from orchestration.publish.lake import LakeStore
from orchestration.publish.lake_catalog import DATA_PATH_ENV, open_lake
from orchestration.publish.store import open_store
from tests.scale.test_lake import ROWS, publish
from tests.test_versions import run_cli, stage

AWS = {"AWS_ACCESS_KEY_ID": "ledger-test", "AWS_SECRET_ACCESS_KEY": "ledger-test-secret"}


@pytest.fixture
def bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """An empty bucket of the test's own on moto's server, the AWS_* variables pointing at it."""
    for name in ("AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**AWS, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3_server}.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.resource("s3", endpoint_url=s3_server)
    return s3.create_bucket(Bucket=request.node.name.lower().replace("_", "-")[:63])


@pytest.fixture
def s3_lake(
    lake: LakeStore, bucket: Any, ledger_home: LedgerPaths, monkeypatch: pytest.MonkeyPatch
) -> LakeStore:
    """The empty lake's catalog, its data files under s3://<bucket>/ledger/."""
    monkeypatch.setenv(DATA_PATH_ENV, f"s3://{bucket.name}/ledger")
    store = open_store(ledger_home)
    assert isinstance(store, LakeStore) and store.settings.on_s3
    return store


def parquet_objects(bucket: Any) -> set[str]:
    return {o.key for o in bucket.objects.filter(Prefix="ledger/") if o.key.endswith(".parquet")}


def test_versions_on_s3_publish_time_travel_and_gc(
    s3_lake: LakeStore, bucket: Any, ledger_home: LedgerPaths
) -> None:
    stage(ledger_home, ROWS, quarantine=200)  # quarantine replaced whole: v1's files to collect
    assert publish(s3_lake, "run-1", {"a": "1"}).status == "published"
    changed = {k: v for k, v in ROWS.items() if k != "s003"} | {"s001": 99.0, "new1": 1.0}
    stage(ledger_home, changed, quarantine=300)
    assert publish(s3_lake, "run-2", {"a": "2"}).status == "published"

    count = "select count(*), sum(gross_cargo_tonnes) from fct_shipments"
    assert s3_lake.query(count, "v1")[1] == [(200, sum(ROWS.values()))]
    assert s3_lake.query(count, "v2")[1] == [(200, sum(changed.values()))]
    assert s3_lake.query("select count(*) from quarantine", 1)[1] == [(200,)]
    before = parquet_objects(bucket)
    assert before, "the marts' Parquet files are objects in the bucket"

    assert s3_lake.gc(keep=1) == [1]
    after = parquet_objects(bucket)
    assert after < before, "the files only v1 read are gone from the bucket"
    con = open_lake(s3_lake.settings)
    listed = {
        r[0].removeprefix(f"s3://{bucket.name}/")
        for table in ("fct_shipments", "quarantine")
        for r in con.execute(
            "select data_file from ducklake_list_files('lake', ?)", [table]
        ).fetchall()
    }
    con.close()
    assert listed <= after, "v2's files stay"
    assert s3_lake.query(count)[1] == [(200, sum(changed.values()))]


def test_an_s3_path_without_aws_access_key_id_fails_in_one_line(
    s3_lake: LakeStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    code, _, err = run_cli(["versions"], capsys)
    assert code != 0
    assert err.strip().splitlines() == [
        f"ledger versions: {DATA_PATH_ENV} is on s3:// but AWS_ACCESS_KEY_ID is not set"
    ]
