"""Captures in object storage: `report s3://…` against a local S3 server equals the
local-file report."""

import json
import re

import pytest

import memtriage
from conftest import BUCKET, REPO, SAMPLE

SAMPLE_URL = f"s3://{BUCKET}/sweep/win10-19041.dmp"
RAW_URL = f"s3://{BUCKET}/sweep/w19041-s3.raw"


def _stats(stderr, url):
    m = re.search(re.escape(url) + r": (\d+) requests, (\d+) bytes read .*?, (\d+) block-cache hits",
                  stderr)
    assert m, stderr
    return tuple(int(x) for x in m.groups())


def test_cli_report_of_an_object_is_the_local_report_byte_for_byte(cli, bucket):
    local = cli("report", SAMPLE, "--format", "json")
    remote = cli("report", SAMPLE_URL, "--format", "json", "-v")
    assert remote.returncode == 0, remote.stderr
    want = local.stdout.replace(f'"path": "{SAMPLE}"'.encode(), f'"path": "{SAMPLE_URL}"'.encode(), 1)
    assert remote.stdout == want
    # A crash dump is read as: HEAD, the first 256 KiB block (magic), then the whole object in
    # one large range (6,221,824 bytes < 16 MiB).
    size = (REPO / SAMPLE).stat().st_size
    assert _stats(remote.stderr.decode(), SAMPLE_URL) == (3, (256 << 10) + size, 0)


def test_a_raw_object_is_read_on_demand_with_range_requests(cli, bucket, raw_capture):
    raw, truth = raw_capture
    local = cli("report", str(raw), "--format", "json")
    remote = cli("report", RAW_URL, "--format", "json", "-v")
    assert remote.returncode == 0, remote.stderr
    want = local.stdout.replace(f'"path": "{raw}"'.encode(), f'"path": "{RAW_URL}"'.encode(), 1)
    assert remote.stdout == want
    doc = json.loads(remote.stdout)
    assert sorted(p["pid"] for p in doc["processes"]) == sorted(p["pid"] for p in truth["processes"])
    requests, read, hits = _stats(remote.stderr.decode(), RAW_URL)
    size = raw.stat().st_size
    # The pool scan (process and driver objects in one pass) streams the 64 MiB image in its
    # 16 MiB chunks (4 requests); the walkers' random reads are 256 KiB blocks, most of them
    # served from the cache.
    assert requests >= 1 + 4 and hits > requests
    assert size <= read <= size + 64 * (1 << 20)


def test_python_report_of_an_object(bucket):
    local = memtriage.report(SAMPLE)
    remote = memtriage.report(SAMPLE_URL)
    assert remote["image"]["path"] == SAMPLE_URL
    remote["image"]["path"] = SAMPLE
    assert remote == local
    s = memtriage.open(RAW_URL)
    assert s.pslist()
    stats = s.read_stats()
    assert stats["requests"] >= 2 and stats["failures"] == 0
    assert memtriage.open(SAMPLE).read_stats() is None


def test_missing_objects_and_bad_urls_are_one_line_errors(cli, bucket):
    url = f"s3://{BUCKET}/sweep/nope.dmp"
    out = cli("report", url)
    assert out.returncode == 2
    line = out.stderr.decode().strip()
    assert line.startswith(f"memtriage: error: {url}: ") and "\n" not in line
    with pytest.raises(memtriage.MemtriageError) as e:
        memtriage.report(url)
    assert str(e.value) == line.removeprefix("memtriage: error: ")
    with pytest.raises(memtriage.MemtriageError, match=r"^s3://evidence: no object key"):
        memtriage.report("s3://evidence")
    broken = f"s3://{BUCKET}/broken/old-x86.dmp"
    with pytest.raises(memtriage.MemtriageError) as e:
        memtriage.report(broken)
    assert str(e.value) == (f"{broken}: unsupported capture: 32-bit Windows crash dump "
                            '("PAGEDUMP"); only 64-bit dumps ("PAGEDU64") are read')


def test_cli_expands_a_prefix(cli, bucket, tmp_path):
    out = cli("report", f"s3://{BUCKET}/sweep/", "--output-dir", str(tmp_path), "-f", "json", "-q")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "w19041-s3.raw.report.json", "win10-19041.dmp.report.json"]
