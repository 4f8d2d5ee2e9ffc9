"""The users' reading pipeline (kairos histogram -> pandas DataFrame), run as published.

Request (argv[1] or stdin):
  {"metric_name": "ip.10.0.0.1.responses", "now": 1400000000,
   "intervals": {"days": {"step": 60, "steps": 2880}, "months": {"step": 1800, "steps": 4032}}}
`intervals` defaults to the published ones; `now` and `tz` as for kairos_write.py. The published
code has no prefix, so the metric name is the only thing keeping tests apart.

Result: the frame, one row per "months" bucket of the last `steps` buckets before `now`:
  {"columns": ["data"], "indexDtype": "datetime64[s]", "index": [1392742800, ...],
   "data": [{"keyType": null, "entries": {}}, ..., {"keyType": "str", "entries": {"3": 2, "2.5": 1}}]}
`index` is the DatetimeIndex as epoch seconds (naive, read as UTC); `data` holds the histogram rows,
whose keys are strings because the published code sets no read_func.
"""
import sys

# Keep the source tree free of __pycache__.
sys.dont_write_bytecode = True

import kairos_interop as ki  # noqa: E402

SEED_INTERVALS = {"days" : {"step" : 60, "steps" : 2880},
                  "months" : {"step" : 1800, "steps" : 4032}}


def read_seed(rclient, intervals, metric_name):
    from kairos import Timeseries
    from pandas import DataFrame, to_datetime

    # Published code, verbatim apart from its typographic quotes.
    ktseries = Timeseries(rclient, type="histogram", intervals=intervals)
    series = ktseries.series(metric_name, "months")
    ts, fields = zip(*series.items())
    df = DataFrame({"data" : fields}, index=to_datetime(ts, unit="s"))
    return df


def main(request):
    ki.set_timezone(request)
    metric_name = ki.require(request, "metric_name", (str,))
    intervals = request.get("intervals") or SEED_INTERVALS
    kairos = ki.import_kairos()
    ki.freeze_clock(kairos, request.get("now"))
    # The published `Redis("localhost", 6379)` returns bytes on Python 3; kairos needs str.
    rclient = ki.connect()
    try:
        df = read_seed(rclient, intervals, metric_name)
    finally:
        rclient.close()
    return {
        "columns": [str(c) for c in df.columns],
        "indexDtype": str(df.index.dtype),
        "index": [int(t.timestamp()) for t in df.index],
        "data": [ki.encode(row) for row in df["data"]],
    }


if __name__ == "__main__":
    ki.run(main)
