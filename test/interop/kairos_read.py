"""Read a series with real kairos 0.10.1, at a frozen clock, and print the result as JSON.

Request (argv[1] or stdin):
  {"prefix": "t1", "type": "histogram", "intervals": {"days": {"step": 60, "steps": 2880}},
   "read_func": "float", "name": "ip.10.0.0.1.responses", "interval": "days",
   "op": "get", "kwargs": {"timestamp": 1400000000}, "now": 1400000000}

* `op`: "get" and "series" (kwargs passed through: timestamp, start, end, steps, condense, collapse,
  transform), "iterate" (get over every bucket that properties() finds), or "properties"
  (`interval` unused). `name` may be a list: kairos then joins the series.
* `read_func`: "float", "int" or null (values stay strings). `now` and `tz` as for kairos_write.py.

Result, encoded as kairos_interop.py describes:
  get       -> [[1399999980, {"keyType": "float", "entries": {"3.0": 2, "2.5": 1}}]]
  series    -> [[i_ts, row], ...]; with a resolution and no condense, row is [[r_ts, row], ...]
  iterate   -> [[ts, row], ...]
  properties-> {"days": {"first": 1399999980, "last": 1399999980}}
"""
import sys

# Keep the source tree free of __pycache__.
sys.dont_write_bytecode = True

import kairos_interop as ki  # noqa: E402

OPS = ("get", "series", "iterate", "properties")


def main(request):
    ki.set_timezone(request)
    op = ki.require(request, "op", (str,))
    if op not in OPS:
        raise ki.RequestError("field 'op' must be one of %s" % ", ".join(OPS))
    name = ki.require(request, "name", (str, list))
    kwargs = request.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise ki.RequestError("field 'kwargs' must be an object")
    kairos = ki.import_kairos()
    ki.freeze_clock(kairos, request.get("now"))
    client = ki.connect()
    try:
        series = ki.create_timeseries(kairos, client, request)
        if op == "properties":
            return series.properties(name)
        interval = ki.require(request, "interval", (str,))
        if op == "get":
            return ki.encode_pairs(series.get(name, interval, **kwargs))
        if op == "series":
            return ki.encode_pairs(series.series(name, interval, **kwargs))
        return [[ki.encode(ts), ki.encode(row)] for ts, row in series.iterate(name, interval, **kwargs)]
    finally:
        client.close()


if __name__ == "__main__":
    ki.run(main)
