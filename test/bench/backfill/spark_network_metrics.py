"""The network-metrics job on PySpark, the baselines of the backfill benchmark (test/bench/backfill.ts).

Two ways, over the same NDJSON or Parquet files Sluice reads:

  rdd  the way the original pipeline shared its Python code with Spark: a Python function per
       record emitting ((kind, family, interval, key, sub), value) pairs, folded by reduceByKey
       (counts and histograms add, set members collapse, gauges keep the greatest (event time,
       value), as kairos and Sluice do). NDJSON records come from sc.textFile and json.loads;
       Parquet rows from spark.read.parquet with the job's columns, as dicts, the event time
       already in epoch microseconds.
  df   the DataFrame API: spark.read.json or spark.read.parquet with an explicit schema of the
       job's fields, the emits as column expressions, groupBy/agg.

Both end with the same summary Sluice's Redis contents are reduced to (see series-summary.ts): per
"family:interval", the number of keys, of entries (hash fields, set members, 1 for counts and
gauges) and the total (counts summed, histogram counts summed, set sizes; 1 per gauge), and for
gauges how many keys hold each value. Prints one JSON line:
  {"mode", "sessionSeconds", "jobSeconds", "jobCpuSeconds", "records", "summary"}
sessionSeconds is the JVM and SparkSession start; jobSeconds is everything after it, and
jobCpuSeconds the CPU the driver, the JVM and its Python workers used in that time.

Usage: python spark_network_metrics.py --mode rdd|df [--format ndjson|parquet] --input 'file:///…/*.ndjson' --shift SECONDS
"""

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone

# Bucket widths of the job's intervals (jobs/network-metrics: days = 60 s, months = 1800 s), in µs.
INTERVALS = (("days", 60_000_000), ("months", 1_800_000_000))
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_MICRO = timedelta(microseconds=1)


def to_micros(ts):
    """Epoch microseconds of an ISO-8601 `ts` ("2018-03-24T17:15:20.865716Z"), exactly; ints are micros already."""
    if isinstance(ts, int):
        return ts
    return (datetime.fromisoformat(ts) - EPOCH) // ONE_MICRO


def process_tree_cpu_seconds(root_pid):
    """User + system CPU of a process and every live descendant, with the children each has reaped."""
    parents, times = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, ... utime (14), stime, cutime, cstime (17) counting from 1.
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = sum(int(v) for v in fields[11:15])
    tree, grew = {root_pid}, True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(times.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(spark):
    """CPU of this driver and of the JVM with its Python workers so far."""
    own = os.times()
    return own.user + own.system + process_tree_cpu_seconds(spark.sparkContext._gateway.proc.pid)


def make_process(shift_micros):
    """The job's processor as a Python function: one record in, its (key, value) pairs out."""

    def process(r):
        ts = to_micros(r["ts"]) + shift_micros
        out = []

        def emit(kind, family, name, sub, value):
            for interval, step in INTERVALS:
                out.append(((kind, family, interval, f"{family}.{name}:{interval}:{ts // step}", sub), value))

        path = r.get("_path")
        if path == "ssl":
            resp = r["id.resp_h"]
            if r.get("established") is True:
                emit("c", "tls.responses", resp, "", 1)
            version = r.get("version")
            if isinstance(version, str) and version != "":
                emit("h", "tls.versions", resp, version, 1)
            emit("s", "tls.clients", resp, r["id.orig_h"], 0)
        elif path == "dns":
            orig = r["id.orig_h"]
            emit("c", "dns.queries", orig, "", 1)
            rcode = r.get("rcode_name")
            emit("h", "dns.rcodes", orig, rcode if isinstance(rcode, str) and rcode != "" else "NONE", 1)
            rtt = r.get("rtt")
            if rtt is not None:
                # Whole microseconds first, then whole milliseconds: Math.floor(Math.round(rtt * 1e6) / 1000).
                emit("h", "dns.rtt_ms", r["id.resp_h"], str(int(rtt * 1e6 + 0.5) // 1000), 1)
            qtype = r.get("qtype_name")
            if isinstance(qtype, str) and qtype != "":
                emit("g", "dns.last_qtype", orig, "", (ts, qtype))
        return out

    return process


def combine(a, b):
    """Gauges keep the greatest (ts, value); counts and histograms add; set members (0) stay 0."""
    return max(a, b) if type(a) is tuple else a + b


def per_key(kv):
    (kind, family, interval, key, _sub), value = kv
    if kind == "g":
        return (family, interval, key), (1, 1, value[1])
    if kind == "s":
        return (family, interval, key), (1, 1, None)
    return (family, interval, key), (1, value, None)


def add_key_stats(a, b):
    return a[0] + b[0], a[1] + b[1], a[2] if a[2] is not None else b[2]


def job_schema(ts_type):
    """The job's fields as a Spark schema; `ts` is a string in NDJSON and a timestamp in Parquet."""
    from pyspark.sql.types import BooleanType, DoubleType, StringType, StructField, StructType

    return StructType(
        [
            StructField("_path", StringType()),
            StructField("ts", ts_type),
            StructField("id.orig_h", StringType()),
            StructField("id.resp_h", StringType()),
            StructField("established", BooleanType()),
            StructField("version", StringType()),
            StructField("rcode_name", StringType()),
            StructField("rtt", DoubleType()),
            StructField("qtype_name", StringType()),
        ]
    )


def read_frame(spark, fmt, input_glob):
    """The input as a DataFrame of the job's fields (absent columns read as null)."""
    from pyspark.sql.types import StringType, TimestampType

    if fmt == "parquet":
        return spark.read.schema(job_schema(TimestampType())).parquet(input_glob)
    return spark.read.schema(job_schema(StringType())).json(input_glob)


def run_rdd(spark, fmt, input_glob, shift_micros):
    from pyspark.sql import functions as F

    sc = spark.sparkContext
    records = sc.accumulator(0)
    process = make_process(shift_micros)

    def count_and_process(r):
        records.add(1)
        return process(r)

    if fmt == "parquet":
        # Python would get a naive local datetime for a timestamp column: hand it epoch micros.
        frame = read_frame(spark, fmt, input_glob)
        columns = [F.unix_micros("ts").alias("ts") if c == "ts" else F.col(f"`{c}`") for c in frame.columns]
        source = frame.select(*columns).rdd.map(lambda row: row.asDict())
    else:
        source = sc.textFile(input_glob).map(json.loads)
    rows = (
        source
        .flatMap(count_and_process)
        .reduceByKey(combine)
        .map(per_key)
        .reduceByKey(add_key_stats)
        .map(lambda kv: ((kv[0][0], kv[0][1], kv[1][2]), (1, kv[1][0], kv[1][1])))
        .reduceByKey(lambda a, b: (a[0] + b[0], a[1] + b[1], a[2] + b[2]))
        .collect()
    )
    return [(family, interval, gauge, keys, entries, total) for (family, interval, gauge), (keys, entries, total) in rows], records.value


def run_df(spark, fmt, input_glob, shift_micros):
    from pyspark.sql import functions as F

    df = read_frame(spark, fmt, input_glob)
    path, orig, resp = F.col("_path"), F.col("`id.orig_h`"), F.col("`id.resp_h`")
    version, rcode, rtt, qtype = F.col("version"), F.col("rcode_name"), F.col("rtt"), F.col("qtype_name")
    ssl, dns = path == "ssl", path == "dns"

    def nonempty(c):
        return c.isNotNull() & (c != "")

    def emission(cond, kind, family, name, sub):
        return F.when(
            cond,
            F.struct(F.lit(kind).alias("kind"), F.lit(family).alias("family"), F.concat(F.lit(family + "."), name).alias("name"), sub.alias("sub")),
        )

    # A gauge's value goes in `sub`, like a histogram field: the first aggregation keeps the newest
    # time of each (key, value) with a hash aggregate, and only those few rows per key are then
    # compared as (time, value) structs, which Spark cannot hash-aggregate.
    emits = F.array(
        emission(ssl & (F.col("established") == F.lit(True)), "c", "tls.responses", resp, F.lit("")),
        emission(ssl & nonempty(version), "h", "tls.versions", resp, version),
        emission(ssl, "s", "tls.clients", resp, orig),
        emission(dns, "c", "dns.queries", orig, F.lit("")),
        emission(dns, "h", "dns.rcodes", orig, F.when(nonempty(rcode), rcode).otherwise(F.lit("NONE"))),
        emission(dns & rtt.isNotNull(), "h", "dns.rtt_ms", resp, F.expr("cast(floor(rtt * 1000000 + 0.5) div 1000 as string)")),
        emission(dns & nonempty(qtype), "g", "dns.last_qtype", orig, qtype),
    )
    intervals = F.array(*[F.struct(F.lit(name).alias("interval"), F.lit(step).cast("long").alias("step")) for name, step in INTERVALS])
    event_time = F.col("ts") if fmt == "parquet" else F.to_timestamp(F.col("ts"))
    ts = (F.unix_micros(event_time) + F.lit(shift_micros)).alias("ts")
    kind = F.col("kind")
    entries = (
        df.select(ts, F.explode(emits).alias("e"))
        .where(F.col("e").isNotNull())
        .select("ts", "e.*")
        .select("ts", "kind", "family", "name", "sub", F.explode(intervals).alias("i"))
        .select("kind", "family", F.col("i.interval").alias("interval"), "name", F.expr("ts div i.step").alias("bucket"), "sub", "ts")
        .groupBy("kind", "family", "interval", "name", "bucket", "sub")
        .agg(F.count(F.lit(1)).alias("n"), F.max(F.when(kind == "g", F.col("ts"))).alias("newest"))
    )
    keys = (
        entries.groupBy("kind", "family", "interval", "name", "bucket")
        .agg(F.count(F.lit(1)).alias("subs"), F.sum("n").alias("emits"), F.max(F.when(kind == "g", F.struct("newest", "sub"))).alias("last"))
        .select(
            "family",
            "interval",
            F.when(kind == "g", F.lit(1)).otherwise(F.col("subs")).alias("entries"),
            F.when(kind.isin("c", "h"), F.col("emits")).when(kind == "s", F.col("subs")).otherwise(F.lit(1)).alias("total"),
            F.col("last.sub").alias("gauge"),
        )
    )
    rows = keys.groupBy("family", "interval", "gauge").agg(F.count(F.lit(1)).alias("keys"), F.sum("entries").alias("entries"), F.sum("total").alias("total")).collect()
    return [(r["family"], r["interval"], r["gauge"], r["keys"], r["entries"], r["total"]) for r in rows], None


def summarize(rows):
    """Rows (family, interval, gauge value or None, keys, entries, total) to the summary dict."""
    summary = {}
    for family, interval, gauge, keys, entries, total in rows:
        stat = summary.setdefault(f"{family}:{interval}", {"keys": 0, "entries": 0, "total": 0})
        stat["keys"] += int(keys)
        stat["entries"] += int(entries)
        stat["total"] += int(total)
        if gauge is not None:
            values = stat.setdefault("values", {})
            values[gauge] = values.get(gauge, 0) + int(keys)
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("rdd", "df"), required=True)
    parser.add_argument("--format", choices=("ndjson", "parquet"), default="ndjson")
    parser.add_argument("--input", required=True, help="file:///…/*.ndjson or *.parquet (or webhdfs://…)")
    parser.add_argument("--shift", type=int, required=True, help="seconds added to event times (Sluice's timeShift)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args()
    # Python workers must run the interpreter of this venv.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    started = time.perf_counter()
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(args.master)
        .appName(f"network-metrics-{args.mode}-{args.format}")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    session_seconds = time.perf_counter() - started
    job_started = time.perf_counter()
    cpu_started = cpu_seconds(spark)
    run = run_rdd if args.mode == "rdd" else run_df
    rows, records = run(spark, args.format, args.input, args.shift * 1_000_000)
    job_seconds = time.perf_counter() - job_started
    job_cpu_seconds = cpu_seconds(spark) - cpu_started
    spark.stop()
    result = {"mode": args.mode, "format": args.format, "sessionSeconds": session_seconds, "jobSeconds": job_seconds, "jobCpuSeconds": job_cpu_seconds, "records": records}
    print(json.dumps({**result, "summary": summarize(rows)}))


if __name__ == "__main__":
    main()
