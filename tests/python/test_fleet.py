"""The Dask fleet: 4 captures (2 local, 2 in the local S3 server, one of them broken) on a
LocalCluster of 2 workers; the Parquet tables hold exactly what the reports say."""

import json
from collections import Counter

import pyarrow.parquet as pq
import pytest

import memtriage
from conftest import BUCKET, REPO, SAMPLE
from memtriage import fleet

GOLDEN = json.loads((REPO / "fixtures/samples/win10-19041.report.json").read_text())


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    c = Client(cluster)
    assert len(c.scheduler_info()["workers"]) == 2
    yield c
    c.close()
    cluster.close()


def test_fleet_on_a_local_cluster(client, bucket, raw_capture, tmp_path):
    raw, truth = raw_capture
    sample = str(REPO / SAMPLE)
    captures = [sample, str(raw), f"s3://{BUCKET}/sweep/win10-19041.dmp",
                f"s3://{BUCKET}/broken/old-x86.dmp"]
    out = tmp_path / "run"
    summaries = fleet.run(client, captures, str(out))
    assert [s["capture"] for s in summaries] == captures
    assert [s["status"] for s in summaries] == ["ok", "ok", "ok", "error"]

    caps = pq.read_table(out / "captures.parquet").to_pylist()
    assert [c["capture"] for c in caps] == captures
    assert [c["status"] for c in caps] == ["ok", "ok", "ok", "error"]
    assert caps[3]["error"] == (f"{captures[3]}: unsupported capture: 32-bit Windows crash dump "
                                '("PAGEDUMP"); only 64-bit dumps ("PAGEDU64") are read')
    assert caps[3]["report"] is None and caps[3]["processes"] is None
    n_raw = len(truth["processes"])
    raw_report = json.loads((out / "0001-w19041-s3.raw.report.json").read_text())
    n_sample = len(GOLDEN["processes"])
    assert [c["processes"] for c in caps] == [n_sample, n_raw, n_sample, None]
    n_golden = len(GOLDEN["findings"])
    assert [c["findings"] for c in caps] == [n_golden, len(raw_report["findings"]), n_golden, None]
    assert [c["build"] for c in caps] == [19041, 19041, 19041, None]

    # One report per good capture, each the CLI's document.
    assert sorted(p.name for p in out.glob("*.report.json")) == [
        "0000-win10-19041.dmp.report.json", "0001-w19041-s3.raw.report.json",
        "0002-win10-19041.dmp.report.json"]
    local = json.loads((out / "0000-win10-19041.dmp.report.json").read_text())
    assert local == memtriage.report(sample)
    remote = json.loads((out / "0002-win10-19041.dmp.report.json").read_text())
    assert remote["image"]["path"] == captures[2]
    assert remote["processes"] == GOLDEN["processes"] and remote["findings"] == GOLDEN["findings"]

    procs = pq.read_table(out / "processes.parquet")
    assert procs.num_rows == n_sample + n_raw + n_sample
    by_capture = Counter(procs.column("capture").to_pylist())
    assert by_capture == {captures[0]: n_sample, captures[1]: n_raw, captures[2]: n_sample}
    rows = procs.to_pylist()
    for cap, want in [(captures[0], GOLDEN), (captures[2], GOLDEN), (captures[1], raw_report)]:
        got = sorted((r["pid"], r["name"], r["hidden"], r["regions"], r["modules"])
                     for r in rows if r["capture"] == cap)
        assert got == sorted((p["pid"], p["name"], p["hidden"], len(p["regions"]),
                              len(p["modules"])) for p in want["processes"])
    assert sorted(r["pid"] for r in rows if r["capture"] == captures[1]) == sorted(
        p["pid"] for p in truth["processes"])

    finds = pq.read_table(out / "findings.parquet").to_pylist()
    assert len(finds) == n_golden + len(raw_report["findings"]) + n_golden
    golden_rules = Counter(f["rule"] for f in GOLDEN["findings"])
    for cap in (captures[0], captures[2]):
        assert Counter(f["rule"] for f in finds if f["capture"] == cap) == golden_rules
    hollow = [f for f in finds if f["capture"] == captures[0] and f["rule"] == "process_hollowing"]
    want = [f for f in GOLDEN["findings"] if f["rule"] == "process_hollowing"]
    assert [(f["pid"], f["process"], f["severity"], f["address"], f["mitre"]) for f in hollow] == [
        (f["pid"], f["process"], f["severity"], f["address"], f["mitre"]) for f in want]
    assert [json.loads(f["evidence"]) for f in hollow] == [f["evidence"] for f in want]


def test_fleet_writes_to_an_s3_prefix(client, bucket):
    summaries = fleet.run(client, [f"s3://{BUCKET}/sweep/"], f"s3://{BUCKET}/out/run2/")
    assert [s["status"] for s in summaries] == ["ok", "ok"]
    keys = sorted(o["Key"] for o in bucket.list_objects_v2(Bucket=BUCKET, Prefix="out/run2/")["Contents"])
    assert keys == ["out/run2/0000-w19041-s3.raw.report.json",
                    "out/run2/0001-win10-19041.dmp.report.json", "out/run2/captures.parquet",
                    "out/run2/findings.parquet", "out/run2/processes.parquet"]
