"""Fleet triage on Dask: one memtriage report per capture, findings and processes in Parquet.

    memtriage-fleet --scheduler tcp://scheduler:8786 --out s3://triage/run1/ s3://evidence/sweep/
    memtriage-fleet --local-workers 4 --out ./run1 captures/*.dmp

Inputs are capture files, directories (every file in them), ``s3://bucket/key`` objects and
``s3://bucket/prefix/`` prefixes (every object under them). Each capture is one Dask task that
runs :func:`memtriage.report_json` on a worker and writes ``<name>.report.json`` to the output
prefix (a local directory or ``s3://bucket/prefix/``). The client then writes three Parquet
tables next to the reports:

- ``captures.parquet``: one row per capture: capture, status (``ok`` / ``error``), error,
  report, build, processes, findings, seconds;
- ``processes.parquet``: one row per process of every report (capture first, then the
  report's process fields; regions and modules as counts);
- ``findings.parquet``: one row per finding (capture, rule, severity, pid, process, address,
  end, description, mitre, evidence as a JSON string).

A capture that cannot be read is a ``status = "error"`` row with memtriage's one-line message;
the others complete. The exit code is 0 when every capture succeeded, 2 otherwise.
"""

import argparse
import io
import json
import os
import sys
import time

import memtriage
from memtriage import _native

S3 = "s3://"

CAPTURE_FIELDS = [
    ("capture", "string"),
    ("status", "string"),
    ("error", "string"),
    ("report", "string"),
    ("build", "int64"),
    ("processes", "int64"),
    ("findings", "int64"),
    ("seconds", "float64"),
]
PROCESS_FIELDS = [
    ("capture", "string"),
    ("pid", "uint64"),
    ("ppid", "uint64"),
    ("name", "string"),
    ("image_path", "string"),
    ("command_line", "string"),
    ("create_time", "string"),
    ("exit_time", "string"),
    ("offset", "string"),
    ("wow64", "bool"),
    ("hidden", "bool"),
    ("threads", "uint64"),
    ("regions", "int64"),
    ("modules", "int64"),
]
FINDING_FIELDS = [
    ("capture", "string"),
    ("rule", "string"),
    ("severity", "string"),
    ("pid", "uint64"),
    ("process", "string"),
    ("address", "string"),
    ("end", "string"),
    ("description", "string"),
    ("mitre", "list<string>"),
    ("evidence", "string"),
]


def _is_s3(s):
    return s[:5].lower() == S3


def expand(inputs):
    """Capture locations from files, directories, s3:// objects and s3://…/ prefixes."""
    out = []
    for item in inputs:
        item = str(item)
        if _is_s3(item):
            out.extend(_native.list_s3(item) if item.endswith("/") else [item])
        elif os.path.isdir(item):
            out.extend(
                os.path.join(item, n)
                for n in sorted(os.listdir(item))
                if os.path.isfile(os.path.join(item, n))
            )
        else:
            out.append(item)
    return out


def _join(prefix, name):
    return prefix.rstrip("/") + "/" + name if _is_s3(prefix) else os.path.join(prefix, name)


def _put(location, data):
    if _is_s3(location):
        _native.put_s3(location, data)
    else:
        with open(location, "wb") as f:
            f.write(data)


def report_name(capture, index):
    """``<index>-<file name>.report.json``: unique even when two captures share a name."""
    base = capture.rstrip("/").rsplit("/", 1)[-1] or "capture"
    return f"{index:04d}-{base}.report.json"


def triage_one(capture, index, out_prefix, overrides=None):
    """Run on a worker: report one capture, store it, return its summary and rows."""
    started = time.monotonic()
    summary = {"capture": capture, "status": "ok", "error": None, "report": None,
               "build": None, "processes": None, "findings": None}
    processes, findings = [], []
    try:
        text = memtriage.report_json(capture, **(overrides or {}))
        doc = json.loads(text)
        location = _join(out_prefix, report_name(capture, index))
        _put(location, text.encode())
        summary.update(report=location, build=doc["system"].get("build"),
                       processes=len(doc["processes"]), findings=len(doc["findings"]))
        for p in doc["processes"]:
            row = {k: p.get(k) for k, _ in PROCESS_FIELDS if k != "capture"}
            row["regions"] = len(p.get("regions") or [])
            row["modules"] = len(p.get("modules") or [])
            processes.append({"capture": capture, **row})
        for f in doc["findings"]:
            row = {k: f.get(k) for k, _ in FINDING_FIELDS if k != "capture"}
            row["evidence"] = json.dumps(f.get("evidence") or {}, sort_keys=True)
            findings.append({"capture": capture, **row})
    except Exception as e:  # one capture's failure must not stop the fleet
        summary.update(status="error", error=str(e) or type(e).__name__)
        processes, findings = [], []
    summary["seconds"] = round(time.monotonic() - started, 3)
    return summary, processes, findings


def _table(rows, fields):
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "uint64": pa.uint64(),
             "float64": pa.float64(), "bool": pa.bool_(), "list<string>": pa.list_(pa.string())}
    schema = pa.schema([(name, types[t]) for name, t in fields])
    return pa.Table.from_pylist(rows, schema=schema)


def _write_parquet(table, location):
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    _put(location, buf.getvalue())


def run(client, inputs, out_prefix, overrides=None):
    """Triage every capture of ``inputs`` on a Dask ``client``; write the reports and the
    Parquet tables under ``out_prefix``; return the capture summaries in input order."""
    captures = expand(inputs)
    if not _is_s3(out_prefix):
        os.makedirs(out_prefix, exist_ok=True)
    futures = [
        client.submit(triage_one, c, i, out_prefix, overrides, key=f"memtriage-{i:04d}", pure=False)
        for i, c in enumerate(captures)
    ]
    from dask.distributed import wait

    wait(futures)
    summaries, processes, findings = [], [], []
    for c, fut in zip(captures, futures):
        if fut.status == "finished":
            s, p, f = fut.result()
        else:  # the task itself died (worker lost, killed): record it like a bad capture
            s = {"capture": c, "status": "error", "error": f"task {fut.status}: {fut.exception()}",
                 "report": None, "build": None, "processes": None, "findings": None,
                 "seconds": None}
            p, f = [], []
        summaries.append(s)
        processes.extend(p)
        findings.extend(f)
    _write_parquet(_table(summaries, CAPTURE_FIELDS), _join(out_prefix, "captures.parquet"))
    _write_parquet(_table(processes, PROCESS_FIELDS), _join(out_prefix, "processes.parquet"))
    _write_parquet(_table(findings, FINDING_FIELDS), _join(out_prefix, "findings.parquet"))
    return summaries


def main(argv=None):
    ap = argparse.ArgumentParser(prog="memtriage-fleet", description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="+", help="capture files, directories, s3:// objects or prefixes")
    ap.add_argument("--out", required=True, help="output prefix: a directory or s3://bucket/prefix/")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786)")
    where.add_argument("--local-workers", type=int, default=2,
                       help="start a LocalCluster of N single-threaded workers (default 2)")
    ap.add_argument("--build", type=int, help="assume this Windows build (override)")
    args = ap.parse_args(argv)
    from dask.distributed import Client, LocalCluster

    overrides = {"build": args.build} if args.build else None
    if args.scheduler:
        client, cluster = Client(args.scheduler), None
    else:
        cluster = LocalCluster(n_workers=args.local_workers, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        summaries = run(client, args.inputs, args.out, overrides)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    failed = [s for s in summaries if s["status"] != "ok"]
    for s in summaries:
        state = "ok" if s["status"] == "ok" else f"error: {s['error']}"
        print(f"memtriage-fleet: {s['capture']}: {state}", file=sys.stderr)
    print(f"memtriage-fleet: {len(summaries) - len(failed)} of {len(summaries)} captures "
          f"triaged; tables in {args.out}", file=sys.stderr)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
