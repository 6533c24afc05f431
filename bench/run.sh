#!/usr/bin/env bash
# Benchmarks of vrn-sna beside DuckDB: wall time and peak memory of `sna generate`, `run`,
# `query`, `validate`, `export` and `refresh` at a given scale, and of DuckDB computing the same
# SQL jobs from the same Parquet extract (bench/duckdb_jobs.py), measured with GNU time. Each step
# runs REPS times (default 3); the table gives the medians. DuckDB's tables must equal sna's
# (checked, not timed): the script fails when they do not. Results are appended to
# bench/results.md by hand after review.
#
#   bench/run.sh [SCALE] [START] [END]     e.g. bench/run.sh 10 2020-04-01 2021-09-30
#
# Scale 1 is the sample (LLR, ~1.1M residents); scale 50 is about England and Wales.
# SNA=target/debug/sna measures another build (no release build first); REPS=1 runs each step
# once; BENCH_STEPS=duckdb times only what the DuckDB comparison needs (generate, a cold run,
# DuckDB, the floor); BENCH_STEPS=targets times what the issue's targets name (a cold run, a warm
# run, the warm headline query, DuckDB, the floor); BENCH_DIR is where the extract and outputs go. DuckDB and scipy (PyPI) are
# installed into target/bench-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-1}"
start="${2:-2019-04-01}"
end="${3:-2024-03-31}"
reps="${REPS:-3}"
steps="${BENCH_STEPS:-all}"
work="${BENCH_DIR:-/tmp/vrn-sna-bench}/scale-$scale"
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
if [ -z "${SNA:-}" ]; then
    cargo build --release --quiet
fi
sna="${SNA:-target/release/sna}"
venv="target/bench-venv"
if ! "$venv/bin/python" -c 'import duckdb, scipy' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check duckdb==2.0.0 scipy==1.17.1
fi
python="$venv/bin/python"
cache="$work/cache"
rm -rf "$cache"
export_config="$work/sna.toml"
mkdir -p "$work"
printf 'cache_dir = "%s"\nstart = %s\nend = %s\n' "$cache" "${RUN_START:-2020-04-01}" "${RUN_END:-2021-09-30}" >"$export_config"
no_setup() { :; }
clear_cache() { rm -rf "$cache"; }
# measure LABEL SETUP COMMAND...: runs SETUP then COMMAND $reps times, prints the median wall
# time and the median peak RSS as a table row.
measure() {
    local label="$1" setup="$2"; shift 2
    local walls=() rss=()
    for ((i = 0; i < reps; i++)); do
        "$setup"
        /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >"$work/$label.log" 2>&1 || {
            echo "$label failed (exit $?): see $work/$label.log" >&2; tail -5 "$work/$label.log" >&2; exit 1; }
        read -r seconds kib <"$work/time.txt"
        walls+=("$seconds"); rss+=("$kib")
    done
    local wall peak
    wall=$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "$(((reps + 1) / 2))p")
    peak=$(printf '%s\n' "${rss[@]}" | sort -g | sed -n "$(((reps + 1) / 2))p")
    printf '| %s | %s | %s | %s | %.1f | %.0f |\n' "$label" "$scale" "$start to $end" "$reps" "$wall" "$((peak / 1024))"
}
echo "| step | scale | extract | runs | wall s (median) | peak MiB (median) |"
echo "| --- | --- | --- | --- | --- | --- |"
reps=1 measure generate no_setup "$sna" generate --out "$work/extract" --scale "$scale" --start "$start" --end "$end"
du -sh "$work/extract" >&2
if [ "$steps" = all ]; then
    # The assessment: without the cache, then cold (computing and storing it), then warm.
    measure run-no-cache no_setup "$sna" run --config "$export_config" --data "$work/extract" --out "$work/bundle" --quiet --no-cache
fi
measure run-cold clear_cache "$sna" run --config "$export_config" --data "$work/extract" --out "$work/bundle" --quiet
if [ "$steps" = all ] || [ "$steps" = targets ]; then
    measure run-warm no_setup "$sna" run --config "$export_config" --data "$work/extract" --out "$work/bundle" --quiet
    # The headline measures as a partner would query them: reading the cached views, and not.
    measure query-headline-warm no_setup "$sna" query --config "$export_config" --data "$work/extract" --file queries/headline.sql --format csv
fi
if [ "$steps" = all ]; then
    measure query-headline-no-cache no_setup "$sna" query --config "$export_config" --data "$work/extract" --file queries/headline.sql --format csv --no-cache
    measure validate no_setup "$sna" validate --config "$export_config" --data "$work/extract"
    measure export no_setup "$sna" export --partner --data "$work/extract" --out "$work/pack"
    # Refresh: a full build of the dashboard, then the up-to-date check with nothing changed.
    measure refresh no_setup "$sna" refresh --data "$work/extract" --dashboard "$work/site/dashboard" --force --quiet
    measure refresh-up-to-date no_setup "$sna" refresh --data "$work/extract" --dashboard "$work/site/dashboard" --quiet
fi
# DuckDB beside sna: the run's configuration tables from sna (not timed), then every plain-SQL
# job from the same extract, compared with the bundle's tables, and one scan of the columns the
# views read.
"$python" bench/duckdb_jobs.py params --sna "$sna" --config "$export_config" --data "$work/extract" --out "$work/duckdb-params"
measure duckdb-jobs no_setup "$python" bench/duckdb_jobs.py run --data "$work/extract" --params "$work/duckdb-params" --bundle "$work/bundle" --out "$work/duckdb-tables"
"$python" bench/duckdb_jobs.py compare "$work/bundle/tables" "$work/duckdb-tables" | tee "$work/compare.txt" >&2
measure duckdb-floor no_setup "$python" bench/duckdb_jobs.py floor --data "$work/extract"
