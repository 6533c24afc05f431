#!/usr/bin/env python3
"""A police.uk download of many months, imported and assessed: the timing of issue #14's
"35-month police.uk download" on this machine, with its counts checked against the independent
point-in-polygon recount.

Only three real street-level months are shipped (data/open/police-uk: December 2019 to
February 2020, Leicestershire, OGL v3.0), so the download is built from them: month k of the
span is a copy of real month k mod 3, its Month column and file name set to month k and each
Crime ID prefixed with the month (so that crimes are not duplicates of each other). The volume
and the layout are a real force's (about 8,300 rows a month); only the repetition is made up.

    python3 bench/police_uk_months.py [--months 35] [--sna target/release/sna] [--population FILE]

Prints one Markdown row per step (wall seconds and peak RSS, from the child's rusage), then
checks that serious violence by district in the bundle equals the recount of
data/reference/police_uk_lsoa_month.csv for the same months (placed crimes of the default
open-data proxy), that the monthly trend equals the files' own count of proxy crimes, and that
the districts plus the Unknown row add up to it, and says whether they did.
"""
import argparse
import csv
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ["2019-12", "2020-01", "2020-02"]
PROXY = {"Violence and sexual offences", "Robbery"}


def months_from(first, n):
    y, m = first
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def build(download, months):
    if download.exists():
        shutil.rmtree(download)
    download.mkdir(parents=True)
    rows = 0
    # Serious-violence proxy crimes per month, straight from the files (distinct Crime IDs,
    # placed or not): what the bundle's monthly trend must count.
    proxy = {}
    for k, month in enumerate(months):
        ids = set()
        real = REAL[k % 3]
        source = ROOT / f"data/open/police-uk/{real}-leicestershire-street.csv"
        folder = download / month
        folder.mkdir()
        with open(source, newline="", encoding="utf-8-sig") as f, open(
            folder / f"{month}-leicestershire-street.csv", "w", newline="", encoding="utf-8"
        ) as out:
            reader = csv.reader(f)
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(next(reader))
            for row in reader:
                row[1] = month
                if row[0]:
                    row[0] = f"{month}-{row[0]}"
                    if row[9] in PROXY:
                        ids.add(row[0])
                writer.writerow(row)
                rows += 1
        proxy[month] = len(ids)
    return rows, proxy


def measure(label, args, cwd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0:
        sys.exit(f"{label} failed:\n{done.stderr}")
    # ru_maxrss of children is the largest so far: exact for the first step, an upper bound
    # (the larger of this and earlier steps) after it.
    print(f"| {label} | {seconds:.1f} | {max(peak, before) / 1024:.0f} |")


def recount(months_in_period):
    districts = {}
    with open(ROOT / "data/reference/lsoa.csv", newline="") as f:
        for row in csv.DictReader(f):
            districts[row["lsoa_code"]] = row["lad_name"]
    by_real = {m: Counter() for m in REAL}
    with open(ROOT / "data/reference/police_uk_lsoa_month.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["month"] in by_real and row["crime_type"] in PROXY:
                by_real[row["month"]][districts[row["lsoa_code"]]] += int(row["crimes"])
    total = Counter()
    for k, month in months_in_period:
        total.update(by_real[REAL[k % 3]])
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--months", type=int, default=35)
    parser.add_argument("--sna", default=None)
    parser.add_argument("--work", default=os.environ.get("BENCH_DIR", "/tmp/vrn-sna-bench"))
    parser.add_argument("--start", default="2020-04-01")
    parser.add_argument("--end", default="2021-09-30")
    parser.add_argument("--population", default=None,
                        help="ONS estimates to import with the crimes (default: none)")
    a = parser.parse_args()
    sna = a.sna or str(
        ROOT / ("target/release/sna" if (ROOT / "target/release/sna").exists() else "target/debug/sna")
    )
    work = Path(a.work) / "police-uk"
    work.mkdir(parents=True, exist_ok=True)
    months = months_from((2019, 12), a.months)
    rows, proxy = build(work / "download", months)
    for d in ["extract", "bundle"]:
        if (work / d).exists():
            shutil.rmtree(work / d)
    print(f"{a.months} months ({months[0]} to {months[-1]}), {rows:,} rows; binary {sna}\n")
    print("| step | wall s | peak MiB |\n| --- | --- | --- |")
    # The command exactly: no population given, so the import writes the bundled
    # Census 2021 residents (all ages). --population FILE measures an ONS import as well.
    population = ["--population", a.population] if a.population else []
    measure(
        "import police-uk",
        [sna, "import", "police-uk", "download", "--out", "extract", "--quiet", *population],
        work,
    )
    measure(
        "run",
        [sna, "run", "--data", "extract", "--start", a.start, "--end", a.end,
         "--out", "bundle", "--quiet"],
        work,
    )
    first, last = dt.date.fromisoformat(a.start), dt.date.fromisoformat(a.end)
    in_period = [
        (k, m) for k, m in enumerate(months)
        if first <= dt.date.fromisoformat(m + "-01") <= last
    ]
    expected = recount(in_period)
    got = {}
    with open(work / "bundle/tables/areas.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["level"] == "district":
                got[row["area_name"]] = int(row["offences"])
    # Crimes with no point, or a point outside the boundaries, are in no district: the
    # bundle's Unknown row, which the recount of placed crimes does not have.
    unknown = got.pop("Unknown", 0)
    same = dict(expected) == {d: n for d, n in got.items() if n or d in expected}
    print(f"\nserious violence by district, {len(in_period)} months: "
          f"{'equal to' if same else 'DIFFERENT from'} the independent recount "
          f"({sum(expected.values()):,} crimes placed; {unknown:,} more in no LSOA)")
    if not same:
        print(f"expected {dict(expected)}\ngot {got}")
    monthly = {}
    with open(work / "bundle/tables/trend_monthly.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["cohort"] == "all":
                monthly[row["month"]] = int(row["offences"])
    want = {m: proxy[m] for _, m in in_period}
    same_months = monthly == want
    print(f"serious violence by month, {len(want)} months: "
          f"{'equal to' if same_months else 'DIFFERENT from'} the count of the files' "
          f"proxy crimes ({sum(want.values()):,}, placed or not)")
    if not same_months:
        print(f"expected {want}\ngot {monthly}")
    placed_and_unknown = sum(expected.values()) + unknown == sum(want.values())
    print(f"districts plus Unknown {'equal' if placed_and_unknown else 'DIFFER from'} the monthly total")
    if not (same and same_months and placed_and_unknown):
        sys.exit(1)

if __name__ == "__main__":
    main()
