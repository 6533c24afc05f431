#!/usr/bin/env python3
"""DuckDB beside sna: the same SQL jobs over the same Parquet extract, and their tables compared.

    duckdb_jobs.py params  --sna SNA --config CFG --data EXTRACT --out DIR
    duckdb_jobs.py run     --data EXTRACT --params DIR --bundle BUNDLE --out DIR
    duckdb_jobs.py compare BUNDLE/tables DIR
    duckdb_jobs.py floor   --data EXTRACT --bundle BUNDLE

`params` asks sna for the run's small configuration tables (params, period_months, sv_groups,
the reference lookups, ...: what the catalog registers beside the extract) as Parquet, so that
both engines read the same definitions; it is not timed. `run` is DuckDB alone: it reads the
extract's Parquet files, creates every view of queries/views/ (those whose metadata says
`cache = true` as tables, as sna caches them) and runs every job sna wrote into BUNDLE except
the Gi* hot spots, from the same .sql files, each into DIR/<job>.csv. `compare` checks each of
DIR's tables against sna's CSV: same columns, rows and values, numbers equal within a relative
1e-6 (floating rounding: summation order, DuckDB's decimal literals, scipy against statrs). It
exits 1 on any difference. `floor` is one DuckDB scan of every extract column the views read.

The .sql files run unchanged but for these differences between DuckDB and DataFusion:
- integer / integer is integer division in DataFusion: `SET integer_division = true` (without
  it four tables differ); NULLs sort first in a descending order, as DataFusion's;
- DataFusion's `generate_series(a, b)` and `range(a, b)` are tables with a column `value`
  (`adapt` names it); `to_char(t, format)` is a macro over DuckDB's `strftime`;
- the statistics functions of src/engine/udf.rs are written again in Python (scipy for the
  chi-square quantiles of exact Poisson limits and the normal tail); DuckDB's Python API has
  no aggregate functions, so `dsr`, `seasonal_dispersion`, `sii` and `rii` are macros that
  collect their rows' terms with list() for a Python function; the simulated limits of the SII
  and RII (sna's seeded ChaCha8 draws) are not reproduced (NULL, left out of the comparison).
"""

import argparse
import csv
import json
import math
import pathlib
import re
import subprocess
import sys
import time
import tomllib

import duckdb

QUERIES = pathlib.Path(__file__).resolve().parent.parent / "queries"
Z95 = 1.959963984540054
# Jobs DuckDB cannot compute: Getis-Ord Gi* and its permutation p-values are window functions
# of sna's own (src/stats/spatial.rs). Jobs reading their table read sna's.
NOT_PLAIN_SQL = {"lsoa_hotspots"}
# Columns whose values come from sna's seeded ChaCha8 draws (100,000 simulations of
# PHE's phe_sii limits): not reproducible outside sna, left out of the comparison.
RANDOM_COLUMNS = {
    "deprivation": {"sii_lower_95", "sii_upper_95", "rii_lower_95", "rii_upper_95"},
}
REL_TOL = 1e-6
SQL_WORDS = {"WHERE", "JOIN", "CROSS", "LEFT", "INNER", "ON", "GROUP", "ORDER", "UNION", "LIMIT"}


def finite(v):
    return v if v is not None and math.isfinite(v) else None


def valid_nonneg(x):
    return math.isfinite(x) and x >= 0


# The scalar functions of src/stats (intervals.rs, dispersion.rs, spatial.rs).
def byar_lower(x):
    if not valid_nonneg(x):
        return math.nan
    if x == 0:
        return 0.0
    return max(x * (1 - 1 / (9 * x) - Z95 / (3 * math.sqrt(x))) ** 3, 0.0)


def byar_upper(x):
    if not valid_nonneg(x):
        return math.nan
    x1 = x + 1
    return x1 * (1 - 1 / (9 * x1) + Z95 / (3 * math.sqrt(x1))) ** 3


def rate_limit(x, n, per, upper):
    from scipy.stats import chi2  # imported when used: it takes seconds, and the floor needs none

    if not (valid_nonneg(x) and valid_nonneg(per) and math.isfinite(n) and n > 0):
        return math.nan
    if x < 10:
        lim = chi2.ppf(0.975, 2 * x + 2) / 2 if upper else (0.0 if x == 0 else chi2.ppf(0.025, 2 * x) / 2)
    else:
        lim = byar_upper(x) if upper else byar_lower(x)
    return lim / n * per


def wilson(x, n, sign):
    if not valid_nonneg(x) or not math.isfinite(n) or n <= 0 or x > n:
        return math.nan
    z2 = Z95 * Z95
    v = (2 * x + z2 + sign * Z95 * math.sqrt(z2 + 4 * x * (1 - x / n))) / (2 * (n + z2))
    return min(max(v, 0.0), 1.0)


def ratio_limits(a, b, ratio, phi=1.0):
    ok = all(map(math.isfinite, (a, b, ratio, phi))) and a > 0 and b > 0 and ratio > 0 and phi >= 1
    if not ok:
        return math.nan, math.nan
    half = Z95 * math.sqrt(phi * (1 / a + 1 / b))
    return math.exp(math.log(ratio) - half), math.exp(math.log(ratio) + half)


def normal_p(z):
    from scipy.stats import norm

    return math.nan if math.isnan(z) else min(2 * norm.sf(abs(z)), 1.0)


def quasi_ratio_p(a, b, phi):
    if not (all(map(math.isfinite, (a, b, phi))) and a > 0 and b > 0 and phi >= 1):
        return math.nan
    return normal_p(math.log(a / b) / math.sqrt(phi * (1 / a + 1 / b)))


# The aggregates keep their rows' terms and evaluate them sorted, as udf.rs's `terms`.
def dispersion(terms):
    previous = [t[1] for t in terms]
    current = [t[2] for t in terms]
    if not all(valid_nonneg(v) for v in previous + current):
        return math.nan
    tp, tc = sum(previous), sum(current)
    if tp <= 0 or tc <= 0:
        return math.nan
    grand, x2, months = tp + tc, 0.0, 0
    for p, c in zip(previous, current):
        month = p + c
        if month <= 0:
            continue
        months += 1
        for observed, total in ((p, tp), (c, tc)):
            expected = total * month / grand
            x2 += (observed - expected) ** 2 / expected
    return math.nan if months < 2 else max(x2 / (months - 1), 1.0)


def dsr(terms, which):
    sw = swx = sw2x = sx = 0.0
    for x, n, w in terms:
        if not (valid_nonneg(x) and valid_nonneg(n) and valid_nonneg(w)):
            return math.nan
        if n == 0:
            continue
        sw, swx, sw2x, sx = sw + w, swx + w * x / n, sw2x + w * w * x / (n * n), sx + x
    if sx < 10:
        return None
    value = swx / sw * 1e5
    if which == "value":
        return value
    var = sw2x / (sw * sw) * 1e10
    lim = byar_lower(sx) if which == "lower" else byar_upper(sx)
    return value + math.sqrt(var / sx) * (lim - sx)


def inequality(terms, which):
    """SII or RII (multiplier -1) as src/stats/inequality.rs; the limits are not reproduced."""
    if len(terms) < 5 or any(not (n > 0 and v > 0 and lo > 0 and up >= lo) for _, n, v, lo, up in terms):
        return None
    total = sum(t[1] for t in terms)
    a = [t[1] / total for t in terms]
    b, cumulative = [], 0.0
    for share in a:
        b.append(cumulative + share / 2)
        cumulative += share
    y = [t[2] for t in terms]
    saa, sab = sum(a), sum(ai * bi for ai, bi in zip(a, b))
    sbb = sum(ai * bi * bi for ai, bi in zip(a, b))
    sy = sum(ai * yi for ai, yi in zip(a, y))
    sby = sum(ai * bi * yi for ai, bi, yi in zip(a, b, y))
    det = saa * sbb - sab * sab
    beta0 = (sbb * sy - sab * sby) / det
    beta1 = (saa * sby - sab * sy) / det
    if which == "sii":
        return -beta1
    if not (beta0 > 0 and beta0 + beta1 > 0):
        return None
    return beta0 / (beta0 + beta1)


def with_arity(f, arity):
    """`f` with `arity` named parameters (DuckDB counts them): NULL for a NULL argument or a
    result that is not finite."""

    def g(*args):
        return None if None in args else finite(f(*args))

    return [lambda x: g(x), lambda x, y: g(x, y), lambda x, y, z: g(x, y, z)][arity - 1]


def sorted_terms(f):
    return lambda terms: finite(f(sorted(terms)))


def register_functions(con):
    dbl = duckdb.sqltypes.DOUBLE
    scalars = {
        "byar_lower": (byar_lower, 1),
        "byar_upper": (byar_upper, 1),
        "rate_lower": (lambda x, n, per: rate_limit(x, n, per, False), 3),
        "rate_upper": (lambda x, n, per: rate_limit(x, n, per, True), 3),
        "wilson_lower": (lambda x, n: wilson(x, n, -1), 2),
        "wilson_upper": (lambda x, n: wilson(x, n, 1), 2),
        "ratio_lower": (lambda a, b, r: ratio_limits(a, b, r)[0], 3),
        "ratio_upper": (lambda a, b, r: ratio_limits(a, b, r)[1], 3),
        "normal_p": (normal_p, 1),
        "quasi_ratio_lower": (lambda a, b, phi: ratio_limits(a, b, a / b if b else math.nan, phi)[0], 3),
        "quasi_ratio_upper": (lambda a, b, phi: ratio_limits(a, b, a / b if b else math.nan, phi)[1], 3),
        "quasi_ratio_p": (quasi_ratio_p, 3),
    }
    for name, (f, arity) in scalars.items():
        con.create_function(name, with_arity(f, arity), [dbl] * arity, dbl, null_handling="special", side_effects=False)
    # Aggregates: a macro collects the rows' terms with list() and a Python function evaluates
    # them (DuckDB's Python API has no aggregate functions).
    terms = duckdb.list_type(duckdb.list_type(dbl))
    aggregates = {
        "seasonal_dispersion": (3, dispersion),
        "dsr": (3, lambda t: dsr(t, "value")),
        "dsr_lower": (3, lambda t: dsr(t, "lower")),
        "dsr_upper": (3, lambda t: dsr(t, "upper")),
        "sii": (5, lambda t: inequality(t, "sii")),
        "rii": (5, lambda t: inequality(t, "rii")),
        "sii_lower": (5, lambda t: None),
        "sii_upper": (5, lambda t: None),
        "rii_lower": (5, lambda t: None),
        "rii_upper": (5, lambda t: None),
    }
    for name, (arity, f) in aggregates.items():
        con.create_function(f"_{name}", sorted_terms(f), [terms], dbl, null_handling="special", side_effects=False)
        args = [f"a{i}" for i in range(arity)]
        present = " AND ".join(f"{a} IS NOT NULL" for a in args)
        listed = ", ".join(f"CAST({a} AS DOUBLE)" for a in args)
        con.execute(
            f"CREATE MACRO {name}({', '.join(args)}) AS "
            f"_{name}(COALESCE(list([{listed}]) FILTER (WHERE {present}), []))"
        )
    con.execute("CREATE MACRO to_char(t, f) AS strftime(t, f)")


def adapt(sql):
    """DataFusion SQL to DuckDB's: the few places where the dialects differ."""
    # DataFusion's generate_series and range are tables with a column `value`.
    def series(m):
        function, arguments, alias = m.groups()
        if alias and alias.upper() not in SQL_WORDS:
            return f"{function}({arguments}) AS {alias}(value)"
        rest = m.group(0)[m.end(2) + 1 - m.start() :]
        return f"{function}({arguments}) AS series_(value){rest}"

    sql = re.sub(r"\b(generate_series|range)\(([^)]*)\)(?:\s+(?:AS\s+)?(\w+))?", series, sql)
    return sql.strip().rstrip(";")


def connect(data, params, bundle):
    con = duckdb.connect()
    # DataFusion's semantics: integer / integer is an integer; NULLs last ascending, first
    # descending (PostgreSQL's order).
    con.execute("SET integer_division = true")
    con.execute("SET default_null_order = 'nulls_last_on_asc_first_on_desc'")
    con.execute("SET TimeZone = 'UTC'")
    register_functions(con)
    for path in sorted(pathlib.Path(data).glob("*.parquet")):
        con.execute(f"CREATE VIEW {path.stem} AS SELECT * FROM read_parquet('{path}')")
    for path in sorted(pathlib.Path(params).glob("*.parquet")):
        con.execute(f"CREATE TABLE {path.stem} AS SELECT * FROM read_parquet('{path}')")
    for job in NOT_PLAIN_SQL:
        path = pathlib.Path(bundle) / "tables" / f"{job}.parquet"
        if path.exists():
            con.execute(f"CREATE TABLE {job} AS SELECT * FROM read_parquet('{path}')")
    return con


def exists(con, name):
    return con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? UNION ALL "
        "SELECT count(*) FROM duckdb_views() WHERE view_name = ?",
        [name, name],
    ).fetchall() != [(0,), (0,)]


def in_dependency_order(items, create):
    """Creates `items` (name, sql) in an order their SQL allows: one that reads a name not yet
    created is tried again after the others."""
    pending = list(items)
    while pending:
        failed = []
        for item in pending:
            try:
                create(*item)
            except duckdb.CatalogException as e:
                failed.append((item, e))
        if len(failed) == len(pending):
            raise SystemExit(f"cannot create {[i[0] for i, _ in failed]}: {failed[0][1]}")
        pending = [item for item, _ in failed]


def cmd_params(args):
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for table in (
        "params", "period_months", "disrupted_periods", "sv_groups", "sv_offence_groups",
        "available", "localities", "lsoa", "offence_codes", "esp2013",
    ):
        done = subprocess.run(
            [args.sna, "query", "--config", args.config, "--data", args.data, "--format", "parquet",
             "--output", str(out / f"{table}.parquet"), f"SELECT * FROM {table}"],
            capture_output=True, text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"sna query of {table} failed: {done.stderr}")


def cmd_run(args):
    con = connect(args.data, args.params, args.bundle)
    views = []
    for path in sorted((QUERIES / "views").glob("*.sql")):
        meta = tomllib.loads(path.with_suffix(".toml").read_text())
        sql = adapt(path.read_text())
        if meta.get("cache"):
            # Materialised, as sna's catalog caches it.
            sql = re.sub(r"CREATE\s+VIEW", "CREATE TABLE", sql, count=1, flags=re.I)
        views.append((path.stem, sql))
    started = time.monotonic()
    in_dependency_order(views, lambda name, sql: con.execute(sql))
    views_done = time.monotonic()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = sorted(p.stem for p in (pathlib.Path(args.bundle) / "tables").glob("*.csv"))
    jobs = [(j, adapt((QUERIES / f"{j}.sql").read_text())) for j in jobs if j not in NOT_PLAIN_SQL]

    def run_job(job, sql):
        # Registered for later jobs, unless the name is an input (the `ambulance` job), as sna.
        table = f"{job}__result" if exists(con, job) else job
        con.execute(f"CREATE TABLE {table} AS {sql}")
        con.execute(f"COPY {table} TO '{out / (job + '.csv')}' (HEADER)")

    in_dependency_order(jobs, run_job)
    print(
        f"DuckDB {duckdb.__version__}: {len(views)} views in {views_done - started:.2f} s,"
        f" {len(jobs)} jobs in {time.monotonic() - views_done:.2f} s",
        file=sys.stderr,
    )


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


LARGEST = {"relative difference": 0.0}


def same(a, b):
    if a == b:
        return True
    x, y = number(a), number(b)
    if x is None or y is None:
        return False
    if x == y or (math.isnan(x) and math.isnan(y)):
        return True
    relative = abs(x - y) / max(abs(x), abs(y))
    LARGEST["relative difference"] = max(LARGEST["relative difference"], relative)
    return relative <= REL_TOL


def differences(job, expected_rows, actual_rows):
    """What differs between sna's table and DuckDB's (rows in their order), at most 5 lines."""
    if not expected_rows or not actual_rows:
        return ["empty CSV"]
    header, other = expected_rows[0], actual_rows[0]
    if header != other:
        return [f"columns differ: sna {header}, DuckDB {other}"]
    skipped = RANDOM_COLUMNS.get(job, set())
    found = []
    if len(expected_rows) != len(actual_rows):
        found.append(f"rows differ: sna {len(expected_rows) - 1}, DuckDB {len(actual_rows) - 1}")
    for i, (e, a) in enumerate(zip(expected_rows[1:], actual_rows[1:]), 1):
        for column, x, y in zip(header, e, a):
            if column not in skipped and not same(x, y):
                found.append(f"row {i} {column}: sna {x!r}, DuckDB {y!r}")
    return found[:5]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def cmd_compare(args):
    expected_dir, actual_dir = pathlib.Path(args.expected), pathlib.Path(args.actual)
    actual = sorted(actual_dir.glob("*.csv"))
    failed = 0
    for path in actual:
        found = differences(path.stem, read_csv(expected_dir / path.name), read_csv(path))
        failed += bool(found)
        for line in found:
            print(f"{path.stem}: {line}")
    missing = sorted(
        p.stem for p in expected_dir.glob("*.csv")
        if p.stem not in NOT_PLAIN_SQL and not (actual_dir / p.name).exists()
    )
    for job in missing:
        print(f"{job}: no DuckDB table")
    manifest = expected_dir.parent / "manifest.json"
    if manifest.exists():
        seconds = {j["job"]: j["seconds"] for j in json.loads(manifest.read_text())["jobs"]}
        same_jobs = sum(seconds.get(p.stem, 0.0) for p in actual)
        print(
            f"sna's run ({manifest}): the same {len(actual)} jobs {same_jobs:.2f} s;"
            f" {', '.join(f'{j} {seconds[j]:.2f} s' for j in sorted(NOT_PLAIN_SQL) if j in seconds)}"
        )
    ok = actual and not failed and not missing
    print(
        f"DuckDB vs sna: {len(actual) - failed} of {len(actual) + len(missing)} tables equal"
        f" (numbers within relative {REL_TOL}, largest difference {LARGEST['relative difference']:.1e};"
        f" not computed by DuckDB: {', '.join(sorted(NOT_PLAIN_SQL))}"
        f" (Gi*); not compared: deprivation's simulated SII/RII limits): {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


def cmd_floor(args):
    """One scan of every extract column that the views and jobs name: the least any engine must
    read. Each column is summed whole (string lengths, epochs), not answered from statistics."""
    con = duckdb.connect()
    sql = " ".join(p.read_text() for p in [*QUERIES.glob("*.sql"), *(QUERIES / "views").glob("*.sql")])
    words = set(re.findall(r"\b\w+\b", sql))
    scanned = 0
    for path in sorted(pathlib.Path(args.data).glob("*.parquet")):
        terms = []
        for column, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall():
            if column not in words:
                continue
            if kind == "VARCHAR":
                terms.append(f"sum(length({column}))")
            elif kind == "BOOLEAN":
                terms.append(f"sum(CAST({column} AS INTEGER))")
            elif kind == "DATE" or kind.startswith("TIMESTAMP"):
                terms.append(f"sum(epoch({column}))")
            else:
                terms.append(f"sum({column})")
        if terms:
            con.execute(f"SELECT {', '.join(terms)} FROM read_parquet('{path}')").fetchone()
            scanned += len(terms)
    print(f"scanned {scanned} columns", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("params")
    for flag in ("--sna", "--config", "--data", "--out"):
        p.add_argument(flag, required=True)
    p = sub.add_parser("run")
    for flag in ("--data", "--params", "--bundle", "--out"):
        p.add_argument(flag, required=True)
    p = sub.add_parser("compare")
    p.add_argument("expected")
    p.add_argument("actual")
    p = sub.add_parser("floor")
    p.add_argument("--data", required=True)
    args = parser.parse_args()
    commands = {"params": cmd_params, "run": cmd_run, "compare": cmd_compare, "floor": cmd_floor}
    return commands[args.command](args) or 0


if __name__ == "__main__":
    sys.exit(main())
