#!/usr/bin/env python3
"""Checks the DOM that headless Chromium built from memtriage's HTML report.

Compares the page against the JSON report of the same capture (every pid in the process tree,
every finding rule, one SVG memory map per process holding one region rectangle per region),
checks that nothing is loaded from elsewhere (no src, no <link>, no url() in styles, no request
other than the page itself in Chromium's network log), and that the fleet index links every
page with its finding counts.
"""

import argparse
import json
import struct
import sys
from collections import Counter
from html.parser import HTMLParser


class Dom(HTMLParser):
    """Collects the elements of interest with their attributes and their nesting."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []  # (tag, attrs dict, enclosing memmap svg pid or None)
        self.svg_pid = None
        self.styles = []
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and "memmap" in a.get("class", "").split():
            self.svg_pid = a.get("data-pid")
        self.elements.append((tag, a, self.svg_pid))
        if tag == "style":
            self.in_style = True

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "svg":
            self.svg_pid = None

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg_pid = None
        if tag == "style":
            self.in_style = False

    def handle_data(self, data):
        if self.in_style:
            self.styles.append(data)


def parse(path):
    dom = Dom()
    with open(path, encoding="utf-8") as f:
        dom.feed(f.read())
    return dom


def fail(msg):
    print(f"html check: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def classes(attrs):
    return attrs.get("class", "").split()


def check_page(dom, report):
    tree_pids = Counter(a.get("data-pid") for t, a, _ in dom.elements if t == "tr" and "data-pid" in a)
    for p in report["processes"]:
        if tree_pids[str(p["pid"])] < 1:
            fail(f"pid {p['pid']} is not in the process tree")
    if sum(tree_pids.values()) != len(report["processes"]):
        fail(f"process tree has {sum(tree_pids.values())} rows, report {len(report['processes'])}")

    rules = Counter(a.get("data-rule") for t, a, _ in dom.elements if t == "article" and "data-rule" in a)
    if rules != Counter(f["rule"] for f in report["findings"]):
        fail(f"finding cards {dict(rules)} differ from the report's findings")

    svgs = [a for t, a, _ in dom.elements if t == "svg" and "memmap" in classes(a)]
    if len(svgs) != len(report["processes"]):
        fail(f"{len(svgs)} memory maps for {len(report['processes'])} processes")
    rects = Counter(pid for t, a, pid in dom.elements if t == "rect" and "region" in classes(a))
    starts = {(pid, a.get("data-start")) for t, a, pid in dom.elements if t == "rect" and "region" in classes(a)}
    with_regions = 0
    for p in report["processes"]:
        pid = str(p["pid"])
        if rects[pid] != len(p["regions"]):
            fail(f"pid {pid}: {rects[pid]} region rectangles, {len(p['regions'])} regions")
        for r in p["regions"]:
            if (pid, r["start"]) not in starts:
                fail(f"pid {pid}: region {r['start']} not drawn")
        with_regions += bool(p["regions"])
    if with_regions == 0:
        fail("no process has regions: the sample should have some")

    for t, a, _ in dom.elements:
        if "src" in a or "srcset" in a:
            fail(f"<{t}> loads {a.get('src') or a.get('srcset')}")
        if t in ("link", "script", "iframe", "object", "embed", "img"):
            fail(f"<{t}> element in the page")
        href = a.get("href")
        if href is not None and not (
            href.startswith("#") or href.startswith("https://attack.mitre.org/techniques/T")
        ):
            fail(f"<{t}> links to {href}")
    css = "".join(dom.styles)
    if "url(" in css or "@import" in css:
        fail("the style sheet loads a resource")
    return len(svgs), sum(rects.values())


def page_requests(log):
    """URLs of the requests a page started (Chromium's own background requests, such as its
    update and time checks, have the initiator "not an origin" and are left out)."""
    types = {v: k for k, v in log.get("constants", {}).get("logEventTypes", {}).items()}
    for e in log.get("events", []):
        if types.get(e.get("type")) != "URL_REQUEST_START_JOB":
            continue
        p = e.get("params", {})
        if p.get("initiator", "not an origin") != "not an origin":
            yield p.get("url", "")


def check_netlog(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # Chromium may leave the closing brackets out when it is killed; the events stay readable.
    try:
        log = json.loads(text)
    except json.JSONDecodeError:
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    external = sorted({u for u in page_requests(log) if not u.startswith(("file:", "data:"))})
    if external:
        fail(f"the page made network requests: {external[:5]}")
    return len(log.get("events", []))


def check_index(dom, pages, report):
    links = [a.get("href") for t, a, _ in dom.elements if t == "a"]
    for page in pages:
        if f"./{page}" not in links:
            fail(f"index.html does not link {page} (links: {links})")
    counts = Counter(f["severity"] for f in report["findings"])
    spans = [a for t, a, _ in dom.elements if t == "span" and "sev-high" in classes(a)]
    if counts["high"] and len(spans) != len(pages):
        fail("index.html does not show the high finding count of every page")


def check_png(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    if (width, height) != (1400, 2200):
        fail(f"screenshot is {width}x{height}, expected 1400x2200")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--expect-request", help="only check that the network log shows a request of the page to this URL (negative control)")
    ap.add_argument("--dom")
    ap.add_argument("--report")
    ap.add_argument("--netlog")
    ap.add_argument("--index")
    ap.add_argument("--index-pages")
    ap.add_argument("--screenshot")
    args = ap.parse_args()
    if args.expect_request:
        with open(args.netlog, encoding="utf-8") as f:
            text = f.read()
        try:
            log = json.loads(text)
        except json.JSONDecodeError:
            log = json.loads(text.rstrip().rstrip(",") + "]}")
        if args.expect_request not in set(page_requests(log)):
            fail(f"negative control: the network log misses the request to {args.expect_request}")
        print("html check: negative control seen in the network log")
        return
    with open(args.report, encoding="utf-8") as f:
        report = json.load(f)
    maps, regions = check_page(parse(args.dom), report)
    events = check_netlog(args.netlog)
    check_index(parse(args.index), args.index_pages.split(","), report)
    check_png(args.screenshot)
    print(
        f"html check: {len(report['processes'])} processes, {len(report['findings'])} findings, "
        f"{maps} memory maps with {regions} regions, {events} network-log events, no external request"
    )


if __name__ == "__main__":
    main()
