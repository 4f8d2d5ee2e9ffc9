"""Plumbing shared by the kairos interop scripts.

Each script reads one JSON request (argv[1], else stdin) and prints one JSON document on stdout:
``{"result": ...}`` with exit status 0, or ``{"error": {"type", "message", "traceback"}}`` with exit
status 1, so a caller can assert on what kairos itself raises (e.g. ValueError for a count written
with INCRBYFLOAT). The traceback is also written to stderr.

Results keep the Python types visible without leaving JSON:
* a mapping from timestamps (kairos's OrderedDict results) becomes a list of ``[key, row]`` pairs,
  in kairos's order;
* any other dict (histogram rows, transform maps) becomes ``{"keyType": "float"|"int"|"str"|null,
  "entries": {str(key): value}}``, where ``str(3.0) == "3.0"`` so float and int keys stay distinct;
* a set becomes a sorted list; ints and floats are JSON numbers; None is null.
"""
import json
import math
import os
import sys
import time
import traceback
import warnings
from collections import OrderedDict

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
KAIROS_TYPES = ("series", "histogram", "count", "gauge", "set")
READ_FUNCS = {None: None, "float": float, "int": int}


class RequestError(Exception):
    """The JSON request is malformed; raised before kairos is called."""


def read_request():
    """Parse the JSON request from argv[1], else from stdin."""
    raw = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
    try:
        request = json.loads(raw)
    except ValueError as e:
        raise RequestError("request is not JSON: %s" % e)
    if not isinstance(request, dict):
        raise RequestError("request must be a JSON object, got %s" % type(request).__name__)
    return request


def require(request, field, types):
    """Return request[field], checking that it is present and of one of the given types."""
    if field not in request:
        raise RequestError("missing field %r" % field)
    value = request[field]
    if not isinstance(value, types) or isinstance(value, bool) and bool not in types:
        raise RequestError("field %r has type %s" % (field, type(value).__name__))
    return value


def set_timezone(request):
    """Gregorian from_bucket uses time.mktime (local time): pin the zone, UTC unless told otherwise."""
    os.environ["TZ"] = request.get("tz") or "UTC"
    time.tzset()


def import_kairos():
    """Import kairos, failing loudly if its Redis backend does not load.

    kairos only warns when a backend fails to import (and always warns about the Mongo, SQL and
    Cassandra backends, whose drivers are not installed); importing the Redis backend module
    directly turns a broken install into an ImportError.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import kairos
        import kairos.redis_backend  # noqa: F401
    return kairos


class _FrozenClock(object):
    """Stands in for the `time` module inside kairos: time() is fixed, the rest is the real module."""

    def __init__(self, now):
        self._now = now

    def time(self):
        return self._now

    def __getattr__(self, name):
        return getattr(time, name)


def freeze_clock(kairos, now):
    """Make kairos see `now` as the wall clock (TTLs, skipped writes, default timestamps).

    kairos does `import time` and calls `time.time()`, so the module reference in kairos's own
    namespaces is swapped; the process-wide time.time (used by redis-py) is left alone.
    """
    if now is None:
        return
    if isinstance(now, bool) or not isinstance(now, (int, float)):
        raise RequestError("field 'now' must be a number or null")
    clock = _FrozenClock(now)
    kairos.timeseries.time = clock
    kairos.redis_backend.time = clock


def connect():
    """A redis-py client on REDIS_URL; str responses, as kairos on Python 2 returned."""
    import redis

    return redis.Redis.from_url(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL), decode_responses=True)


def create_timeseries(kairos, client, request):
    """Build the kairos Timeseries the request describes (prefix, type, intervals, read_func)."""
    ttype = require(request, "type", (str,))
    if ttype not in KAIROS_TYPES:
        raise RequestError("field 'type' must be one of %s" % ", ".join(KAIROS_TYPES))
    read_func = request.get("read_func")
    if read_func not in READ_FUNCS:
        raise RequestError("field 'read_func' must be 'float', 'int' or null")
    intervals = require(request, "intervals", (dict,))
    options = {"type": ttype, "intervals": intervals, "prefix": request.get("prefix") or ""}
    if READ_FUNCS[read_func] is not None:
        options["read_func"] = READ_FUNCS[read_func]
    return kairos.Timeseries(client, **options)


def _sort_key(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


def _encode_key(key):
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        return encode(key)
    return str(key)


def encode_pairs(mapping):
    """A timestamp-keyed mapping as a list of [key, value] pairs, in its own order."""
    return [[_encode_key(k), encode(v)] for k, v in mapping.items()]


def encode(value):
    """A kairos result as JSON-ready data (see the module docstring)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("%r cannot be written as JSON" % value)
        return value
    if isinstance(value, OrderedDict):
        return encode_pairs(value)
    if isinstance(value, dict):
        key_types = sorted({type(k).__name__ for k in value})
        if len(key_types) > 1:
            raise ValueError("dict with mixed key types %s" % key_types)
        return {
            "keyType": key_types[0] if key_types else None,
            "entries": {str(k): encode(v) for k, v in value.items()},
        }
    if isinstance(value, (set, frozenset)):
        return [encode(v) for v in sorted(value, key=_sort_key)]
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    raise TypeError("no JSON encoding for %s" % type(value).__name__)


def run(main):
    """Run main(request) and print its result, or the error, as the JSON contract says."""
    try:
        result = main(read_request())
        out = {"result": result}
        status = 0
    except Exception as e:
        trace = traceback.format_exc()
        sys.stderr.write(trace)
        out = {"error": {"type": type(e).__name__, "message": str(e), "traceback": trace}}
        status = 1
    sys.stdout.write(json.dumps(out, allow_nan=False))
    sys.stdout.write("\n")
    sys.exit(status)
