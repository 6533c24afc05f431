#!/usr/bin/env bash
# Benchmarks of vrn-sna: wall time and peak memory of `sna generate`, `run`, `export` and
# `refresh` at a given scale, measured with GNU time. Results are appended to bench/results.md
# by hand after review.
#
#   bench/run.sh [SCALE] [START] [END]     e.g. bench/run.sh 10 2020-04-01 2021-09-30
#
# Scale 1 is the sample (LLR, ~1.1M residents); scale 50 is about England and Wales.
set -euo pipefail
cd "$(dirname "$0")/.."
scale="${1:-1}"
start="${2:-2019-04-01}"
end="${3:-2024-03-31}"
work="${BENCH_DIR:-/tmp/vrn-sna-bench}/scale-$scale"
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
# SNA=target/debug/sna bench/run.sh ... measures another build (no release build first).
if [ -z "${SNA:-}" ]; then
    cargo build --release --quiet
fi
sna="${SNA:-target/release/sna}"
cache="$work/cache"
rm -rf "$cache"
export_config="$work/sna.toml"
mkdir -p "$work"
printf 'cache_dir = "%s"\nstart = %s\nend = %s\n' "$cache" "${RUN_START:-2020-04-01}" "${RUN_END:-2021-09-30}" >"$export_config" 
measure() {
    local label="$1"; shift
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >"$work/$label.log" 2>&1
    read -r seconds kib <"$work/time.txt"
    printf '| %s | %s | %s | %.1f | %.0f |\n' "$label" "$scale" "$start to $end" "$seconds" "$((kib / 1024))"
}
echo "| step | scale | period | wall s | peak MiB |"
echo "| --- | --- | --- | --- | --- |"
measure generate "$sna" generate --out "$work/extract" --scale "$scale" --start "$start" --end "$end"
du -sh "$work/extract" >&2
# The assessment: without the cache, then cold (computing and storing it), then warm.
measure run-no-cache "$sna" run --config "$export_config" --data "$work/extract" --out "$work/bundle" --quiet --no-cache
measure run-cold "$sna" run --config "$export_config" --data "$work/extract" --out "$work/bundle" --quiet
measure run-warm "$sna" run --config "$export_config" --data "$work/extract" --out "$work/bundle" --quiet
# The headline measures as a partner would query them: reading the cached views, and not.
measure query-headline-warm "$sna" query --config "$export_config" --data "$work/extract" --file queries/headline.sql --format csv
measure query-headline-no-cache "$sna" query --config "$export_config" --data "$work/extract" --file queries/headline.sql --format csv --no-cache
measure validate "$sna" validate --config "$export_config" --data "$work/extract" 
measure export "$sna" export --partner --data "$work/extract" --out "$work/pack"
# Refresh: a full build of the dashboard, then the up-to-date check with nothing changed.
measure refresh "$sna" refresh --data "$work/extract" --dashboard "$work/site/dashboard" --force --quiet
measure refresh-up-to-date "$sna" refresh --data "$work/extract" --dashboard "$work/site/dashboard" --quiet
