"""memtriage.report and memtriage.open on local captures, against the CLI and ground truth."""

import json
import threading
import time

import pytest

import memtriage
from conftest import REPO, SAMPLE

GOLDEN = REPO / "fixtures/samples/win10-19041.report.json"
TRUTH = json.loads((REPO / "fixtures/samples/win10-19041.truth.json").read_text())


def test_report_is_the_cli_json(cli):
    out = cli("report", SAMPLE, "--format", "json")
    assert out.returncode == 0, out.stderr
    assert memtriage.report_json(SAMPLE) == out.stdout.decode()
    assert memtriage.report(SAMPLE) == json.loads(out.stdout)
    # …and the committed golden report, so both cannot drift together.
    assert memtriage.report(SAMPLE) == json.loads(GOLDEN.read_text())


def test_report_finds_the_planted_processes_and_anomalies():
    doc = memtriage.report(SAMPLE)
    assert sorted(p["pid"] for p in doc["processes"]) == sorted(p["pid"] for p in TRUTH["processes"])
    hidden = {p["pid"] for p in doc["processes"] if p["hidden"]}
    assert hidden == {p["pid"] for p in TRUTH["processes"] if p["hidden"]}
    assert {(f["rule"], f["pid"]) for f in doc["findings"]} >= {
        (a["kind"], a["pid"]) for a in TRUTH["anomalies"] if a["kind"] == "injected_pe"
    }


def test_session_plugins_return_the_cli_rows(cli):
    s = memtriage.open(SAMPLE)
    for plugin in ["pslist", "psscan", "modules", "dlllist", "malfind"]:
        out = cli(plugin, SAMPLE, "--format", "json")
        assert out.returncode == 0, out.stderr
        want = json.loads(out.stdout)
        got = s.run(plugin)
        assert got["title"] == want["title"]
        assert got["columns"] == [c["name"] for c in want["columns"]]
        assert got["rows"] == want["rows"], plugin
        assert getattr(s, plugin)() == want["rows"]
    pids = sorted(r["pid"] for r in s.pslist())
    assert pids == sorted(p["pid"] for p in TRUTH["processes"] if p["in_active_list"])


def test_pid_filter_and_findings(cli):
    s = memtriage.open(SAMPLE)
    target = next(a["pid"] for a in TRUTH["anomalies"] if a["kind"] == "injected_pe")
    rows = s.dlllist(pid=[target])
    assert rows and {r["pid"] for r in rows} == {target}
    out = s.run("malfind")
    assert {(f["rule"], f["pid"]) for f in out["findings"]} >= {("injected_pe", target)}


def test_plugin_list_is_the_registry(cli):
    names = [n for n, _ in memtriage.plugins()]
    assert "pslist" in names and "malfind" in names
    s = memtriage.open(SAMPLE)
    with pytest.raises(AttributeError):
        s.no_such_plugin
    with pytest.raises(ValueError, match="no plugin named 'nope'"):
        s.run("nope")


@pytest.mark.parametrize("name,content", [
    ("missing.dmp", None),
    ("empty.raw", b""),
    ("x86.dmp", b"PAGEDUMP" + b"\0" * 4088),
])
def test_errors_carry_the_cli_message(cli, tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    out = cli("report", str(path))
    assert out.returncode == 2
    line = out.stderr.decode().strip()
    assert line.startswith("memtriage: error: ") and "\n" not in line
    with pytest.raises(memtriage.MemtriageError) as e:
        memtriage.report(path)
    assert str(e.value) == line.removeprefix("memtriage: error: ")
    with pytest.raises(memtriage.MemtriageError):
        memtriage.open(path)


def test_overrides_are_the_cli_flags(cli):
    out = cli("report", SAMPLE, "--format", "json", "--build", "19041", "--dtb", "0x1ec000")
    assert memtriage.report(SAMPLE, build=19041, dtb=0x1EC000) == json.loads(out.stdout)
    other = cli("report", SAMPLE, "--format", "json", "--kernel-base", "0xfffff80000000000")
    if other.returncode == 0:
        assert memtriage.report(SAMPLE, kernel_base=0xFFFFF80000000000) == json.loads(other.stdout)
    else:
        with pytest.raises(memtriage.MemtriageError) as e:
            memtriage.report(SAMPLE, kernel_base=0xFFFFF80000000000)
        assert str(e.value) == other.stderr.decode().strip().removeprefix("memtriage: error: ")
    with pytest.raises(TypeError, match="unexpected keyword argument 'dbt'"):
        memtriage.report(SAMPLE, dbt=1)


def test_the_gil_is_released_during_analysis():
    ticks = 0
    stop = False

    def tick():
        nonlocal ticks
        while not stop:
            ticks += 1
            time.sleep(0.001)

    from memtriage import _native

    _native.report_json(SAMPLE)  # warm the page cache
    t = threading.Thread(target=tick)
    t.start()
    started = time.monotonic()
    for _ in range(5):
        _native.report_json(SAMPLE)
    elapsed = time.monotonic() - started
    stop = True
    t.join()
    # With the GIL held, the ticker could only run between the five calls.
    assert ticks >= 20, (ticks, elapsed)
