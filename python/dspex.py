"""dspex: metrics from Python code running in a dspex worker (standard library only).

    import dspex
    dspex.counter('tokens_total').inc(n, model='gpt')
    dspex.gauge('cache_entries').set(len(cache))
    dspex.histogram('retrieval_seconds').observe(elapsed)

Recording never blocks on Node and never does I/O: it updates a dict under a lock. The worker
sends what changed since its previous frame with each reply (and, during a call that runs longer
than DSPEX_METRICS_INTERVAL_MS, default 1000 ms, in a periodic frame of its own), as deltas for
counters and histograms and as the latest value for gauges. Node adds the deltas up, so a worker
that crashes loses at most what it had not sent yet: nothing is ever counted twice.

Bounds (also enforced again by Node, which trusts no worker): at most MAX_METRICS names per
process (further names record into one `overflow_<kind>` metric without labels), at most
MAX_SERIES label sets per metric (further ones record into the series whose every label value is
"(other)"), at most MAX_LABELS label names, label values cut to MAX_LABEL_VALUE characters. A bad
name, label name or value raises MetricError (a ValueError) naming what is wrong.

Outside a dspex worker the module works the same, and nothing is ever sent.
"""

import math
import re
import threading

__all__ = ["MetricError", "counter", "gauge", "histogram", "DEFAULT_BUCKETS"]

MAX_METRICS = 64
MAX_SERIES = 32
MAX_LABELS = 4
MAX_NAME_LENGTH = 100
MAX_LABEL_VALUE = 64
MAX_BUCKETS = 32
OVERFLOW = "(other)"
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_RESERVED_LABELS = frozenset(("pool", "worker_id", "le", "quantile"))
_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


class MetricError(ValueError):
    """A metric name, label or value dspex cannot record."""


_lock = threading.Lock()
_metrics = {}
# (metric, series key) -> pending change: [delta] (counter), [value] (gauge),
# [count, sum, per-bucket counts...] (histogram)
_pending = {}


def _check_name(name, what):
    if not isinstance(name, str):
        raise MetricError("%s must be a string, got %s" % (what, type(name).__name__))
    if len(name) > MAX_NAME_LENGTH:
        raise MetricError("%s %r is longer than %d characters" % (what, name[:40] + "...", MAX_NAME_LENGTH))
    if not _NAME.match(name) or name.startswith("__"):
        raise MetricError("%s %r must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __" % (what, name))


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MetricError("%s must be a number, got %s" % (what, type(value).__name__))
    if not math.isfinite(value):
        raise MetricError("%s must be finite, got %r" % (what, value))
    return value


class _Metric(object):
    __slots__ = ("name", "kind", "help", "labelnames", "overflow", "_series")

    def __init__(self, name, kind, help_text, overflow=False):
        self.name = name
        self.kind = kind
        self.help = help_text
        self.labelnames = None  # fixed by the first record (sorted tuple)
        self.overflow = overflow  # the catch-all of names beyond MAX_METRICS: labels dropped
        self._series = set()

    def _key(self, labels):
        """The series key of `labels` (call with _lock held)."""
        if self.overflow:
            self.labelnames = ()
            return ()
        names = tuple(sorted(labels)) if labels else ()
        if self.labelnames is None:
            if len(names) > MAX_LABELS:
                raise MetricError("metric %r: at most %d labels, got %d" % (self.name, MAX_LABELS, len(names)))
            for n in names:
                _check_name(n, "label name")
                if n in _RESERVED_LABELS:
                    raise MetricError("metric %r: label name %r is reserved by dspex" % (self.name, n))
            self.labelnames = names
        elif names != self.labelnames:
            raise MetricError("metric %r has labels (%s), got (%s)" % (self.name, ", ".join(self.labelnames), ", ".join(names)))
        if not names:
            return ()
        values = []
        for n in names:
            v = labels[n]
            if isinstance(v, str):
                pass
            elif isinstance(v, (int, float, bool)):
                v = str(v)
            else:
                raise MetricError("metric %r: label %r must be a string or a number, got %s" % (self.name, n, type(v).__name__))
            values.append(v[:MAX_LABEL_VALUE])
        key = tuple(values)
        if key not in self._series:
            if len(self._series) >= MAX_SERIES:
                key = (OVERFLOW,) * len(names)
            self._series.add(key)
        return key


class Counter(_Metric):
    """A count that only goes up: `inc(amount=1, **labels)`."""

    __slots__ = ()

    def inc(self, amount=1, **labels):
        amount = _number(amount, "counter increment")
        if amount < 0:
            raise MetricError("metric %r: a counter cannot go down (inc(%r))" % (self.name, amount))
        with _lock:
            k = (self, self._key(labels))
            p = _pending.get(k)
            if p is None:
                _pending[k] = [amount]
            else:
                p[0] += amount


class Gauge(_Metric):
    """A value that goes up and down: `set(value, **labels)`, `inc`, `dec`."""

    __slots__ = ("_values",)

    def __init__(self, name, kind, help_text, overflow=False):
        _Metric.__init__(self, name, kind, help_text, overflow)
        self._values = {}

    def set(self, value, **labels):
        value = _number(value, "gauge value")
        with _lock:
            key = self._key(labels)
            self._values[key] = value
            _pending[(self, key)] = [value]

    def inc(self, amount=1, **labels):
        amount = _number(amount, "gauge increment")
        with _lock:
            key = self._key(labels)
            value = self._values.get(key, 0) + amount
            self._values[key] = value
            _pending[(self, key)] = [value]

    def dec(self, amount=1, **labels):
        self.inc(-_number(amount, "gauge decrement"), **labels)


class Histogram(_Metric):
    """A distribution over fixed bucket bounds: `observe(value, **labels)`."""

    __slots__ = ("buckets",)

    def __init__(self, name, kind, help_text, overflow=False, buckets=DEFAULT_BUCKETS):
        _Metric.__init__(self, name, kind, help_text, overflow)
        self.buckets = buckets

    def observe(self, value, **labels):
        value = _number(value, "observed value")
        b = self.buckets
        i = 0
        n = len(b)
        while i < n and value > b[i]:
            i += 1
        with _lock:
            k = (self, self._key(labels))
            p = _pending.get(k)
            if p is None:
                p = _pending[k] = [0, 0.0] + [0] * (n + 1)
            p[0] += 1
            p[1] += value
            p[2 + i] += 1


def _buckets(buckets):
    if buckets is None:
        return DEFAULT_BUCKETS
    try:
        out = tuple(float(_number(b, "bucket bound")) for b in buckets)
    except TypeError:
        raise MetricError("buckets must be a sequence of numbers") from None
    if not out or len(out) > MAX_BUCKETS:
        raise MetricError("buckets: 1..%d bounds, got %d" % (MAX_BUCKETS, len(out)))
    if any(out[i] >= out[i + 1] for i in range(len(out) - 1)):
        raise MetricError("buckets must be strictly increasing")
    return out


def _get(name, cls, kind, help_text, **extra):
    m = _metrics.get(name)
    if m is not None:
        if m.kind != kind:
            raise MetricError("metric %r is a %s, not a %s" % (name, m.kind, kind))
        return m
    _check_name(name, "metric name")
    if name.startswith("overflow_"):
        raise MetricError("metric name %r: the prefix overflow_ is reserved by dspex" % (name,))
    with _lock:
        m = _metrics.get(name)
        if m is None:
            if len(_metrics) >= MAX_METRICS:
                over = "overflow_" + kind
                m = _metrics.get(over)
                if m is None:
                    m = _metrics[over] = cls(over, kind, "metrics beyond the per-process name cap", True, **extra)
                return m
            m = _metrics[name] = cls(name, kind, str(help_text or ""), False, **extra)
    return m


def counter(name, help=""):  # noqa: A002 - the Prometheus word
    """The counter named `name` (created on first use)."""
    return _get(name, Counter, "counter", help)


def gauge(name, help=""):  # noqa: A002
    """The gauge named `name` (created on first use)."""
    return _get(name, Gauge, "gauge", help)


def histogram(name, help="", buckets=None):  # noqa: A002
    """The histogram named `name` (created on first use; `buckets` are upper bounds, default DEFAULT_BUCKETS)."""
    m = _metrics.get(name)
    if m is not None and m.kind == "histogram":
        return m
    return _get(name, Histogram, "histogram", help, buckets=_buckets(buckets))


# --------------------------------------------------------------------------- used by the worker

def _has_pending():
    return bool(_pending)


def _drain_json(dumps):
    """What changed since the last call, as JSON text (a list), or None; the pending set is emptied."""
    global _pending
    if not _pending:
        return None
    with _lock:
        taken = _pending
        _pending = {}
    out = []
    for (m, key), p in taken.items():
        labels = dict(zip(m.labelnames or (), key))
        if m.kind == "counter":
            out.append({"n": m.name, "t": "c", "l": labels, "v": p[0]})
        elif m.kind == "gauge":
            out.append({"n": m.name, "t": "g", "l": labels, "v": p[0]})
        else:
            out.append({"n": m.name, "t": "h", "l": labels, "b": list(m.buckets), "c": p[2:], "s": p[1], "k": p[0]})
    return dumps(out)
