"""memtriage: triage Windows x64 memory captures from Python.

>>> import memtriage
>>> doc = memtriage.report("fixtures/samples/win10-19041.dmp")
>>> [f["rule"] for f in doc["findings"]][:2]

``report(path, **overrides)`` returns the document ``memtriage report PATH --format json``
writes. ``open(path, **overrides)`` returns a :class:`Session`; each plugin is a method
(``session.pslist()``, ``session.malfind(pid=[4242])``) returning a list of dicts.
``path`` is a local file or an ``s3://bucket/key`` URL (credentials and endpoint from the
standard AWS environment variables). Overrides: dtb, kernel_base, isf, pdb, build, la57,
user_dtb (the CLI's discovery flags). Failures raise :class:`MemtriageError` with the CLI's
one-line message.
"""

from . import _native
import json

from ._native import MemtriageError, OVERRIDES, __version__, plugins, report_json as _report_json

__all__ = [
    "MemtriageError",
    "OVERRIDES",
    "Session",
    "__version__",
    "open",
    "plugins",
    "report",
    "report_json",
]

_PLUGIN_NAMES = frozenset(name for name, _ in plugins())


class Session:
    """One opened capture. Plugin methods return lists of row dicts."""

    def __init__(self, native):
        self._native = native

    @property
    def path(self):
        """The capture's path or URL."""
        return self._native.path

    def run(self, name, pid=None, wow64=False):
        """Run plugin ``name``: dict with title, columns, rows, findings, warnings."""
        return self._native.run(name, pid=pid, wow64=wow64)

    def report(self):
        """The full report (same document as :func:`report`)."""
        return json.loads(self._native.report_json())

    def warnings(self):
        """Warnings collected so far."""
        return self._native.warnings()

    def read_stats(self):
        """Requests and bytes read for an s3:// capture, None for a local file."""
        return self._native.read_stats()

    def __getattr__(self, name):
        if name in _PLUGIN_NAMES:
            def plugin(pid=None, wow64=False):
                return self._native.run(name, pid=pid, wow64=wow64)["rows"]

            plugin.__name__ = name
            plugin.__doc__ = dict(plugins()).get(name)
            return plugin
        raise AttributeError(name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | _PLUGIN_NAMES)

    def __repr__(self):
        return f"<memtriage.Session {self.path}>"


def open(path, **overrides):  # noqa: A001 - mirrors the CLI's vocabulary
    """Open a capture (file path or s3:// URL) for running plugins."""
    return Session(_native.open(str(path), **overrides))


def report_json(path, **overrides):
    """The full report as the exact text ``memtriage report PATH --format json`` writes."""
    return _report_json(str(path), **overrides)


def report(path, **overrides):
    """The full triage report of one capture, as ``report --format json`` writes it."""
    return json.loads(report_json(path, **overrides))
