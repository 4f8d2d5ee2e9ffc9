"""Insert values with real kairos 0.10.1, at a frozen clock, and report the Redis commands it sent.

Request (argv[1] or stdin):
  {"prefix": "t1", "type": "histogram", "intervals": {"days": {"step": 60, "steps": 2880}},
   "read_func": "float", "now": 1400000000,
   "inserts": [{"name": "ip.10.0.0.1.responses", "value": 3, "timestamp": 1400000000},
               {"name": "ip.10.0.0.1.responses", "value": {"float": 3}, "rolling": -2}]}

* `value` is passed to Timeseries.insert as parsed from JSON; `{"float": 3}` stands for the Python
  float 3.0 (which JSON.stringify cannot write); a list is a batch insert (kairos's _batch_insert).
  Omitting `value` uses kairos's default (1, for count).
* `timestamp` absent, null or 0 means "now", as in kairos; `rolling` is kairos's `intervals=` argument.
* `now` (seconds, may be null for the real clock) is what time.time() returns inside kairos.
* `tz` (default "UTC") is the local time zone for Gregorian intervals.

Result: {"inserts": 2, "pipelines": [{"transaction": false, "commands": [["HINCRBY", "t1:...", "3", "1"], ...]}]}
with one pipeline per kairos pipeline execute, and each argument as redis-py put it on the wire.
"""
import sys

# Keep the source tree free of __pycache__.
sys.dont_write_bytecode = True

import kairos_interop as ki  # noqa: E402


def decode_value(value):
    if isinstance(value, dict):
        if set(value) != {"float"} or isinstance(value["float"], bool) or not isinstance(value["float"], (int, float)):
            raise ki.RequestError("a value object must be {\"float\": <number>}, got %r" % (value,))
        return float(value["float"])
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


def record_pipelines(client, log):
    """Log every pipeline kairos executes, argument by argument as redis-py encodes them."""
    create_pipeline = client.pipeline

    def pipeline(*args, **kwargs):
        pipe = create_pipeline(*args, **kwargs)
        execute = pipe.execute

        def recorded_execute(*a, **k):
            encoder = client.get_encoder()
            log.append({
                "transaction": bool(pipe.transaction),
                "commands": [
                    [encoder.encode(arg).decode("utf-8", "backslashreplace") for arg in command_args]
                    for command_args, _options in pipe.command_stack
                ],
            })
            return execute(*a, **k)

        pipe.execute = recorded_execute
        return pipe

    # An instance attribute: kairos picks its backend from type(client).__module__, which stays 'redis.client'.
    client.pipeline = pipeline


def main(request):
    ki.set_timezone(request)
    inserts = ki.require(request, "inserts", (list,))
    kairos = ki.import_kairos()
    ki.freeze_clock(kairos, request.get("now"))
    client = ki.connect()
    try:
        series = ki.create_timeseries(kairos, client, request)
        pipelines = []
        record_pipelines(client, pipelines)
        for insert in inserts:
            if not isinstance(insert, dict):
                raise ki.RequestError("each insert must be an object, got %r" % (insert,))
            name = ki.require(insert, "name", (str,))
            kwargs = {}
            if insert.get("timestamp") is not None:
                kwargs["timestamp"] = ki.require(insert, "timestamp", (int, float))
            if insert.get("rolling"):
                kwargs["intervals"] = ki.require(insert, "rolling", (int,))
            if "value" in insert:
                series.insert(name, decode_value(insert["value"]), **kwargs)
            else:
                series.insert(name, **kwargs)
        return {"inserts": len(inserts), "pipelines": pipelines}
    finally:
        client.close()


if __name__ == "__main__":
    ki.run(main)
