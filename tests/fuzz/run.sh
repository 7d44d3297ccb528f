#!/bin/sh
# Run the libFuzzer harnesses one after the other, each for SECONDS.
#   tests/fuzz/run.sh BINDIR WORKDIR SECONDS HARNESS...
# Each harness starts from its seed corpus, tests/fuzz/corpus/<name>/ (so
# every input there, crash regressions included, is run first), and writes
# what it finds to WORKDIR/corpus/<name>/, never into the source tree.
# Crashes, leaks and timeouts land in WORKDIR/artifacts/ and fail the run.
# A summary (executions, coverage, corpus, time) is printed and written to
# WORKDIR/summary.txt.
set -eu

bindir=$1 work=$2 seconds=$3
shift 3
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work/artifacts" "$work/tmp"
summary="$work/summary.txt"
: > "$summary"
failed=""

for h in "$@"; do
    mkdir -p "$work/corpus/$h"
    log="$work/$h.log"
    dict=""
    [ -f "$src/$h.dict" ] && dict="-dict=$src/$h.dict"
    start=$(date +%s)
    echo "fuzz_$h: ${seconds}s"
    # TMPDIR: where fuzz_config/fuzz_request write the CorsAllowOriginFile file
    if TMPDIR="$work/tmp" "$bindir/fuzz_$h" -max_total_time="$seconds" \
            -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
            -artifact_prefix="$work/artifacts/$h-" $dict \
            "$work/corpus/$h" "$src/corpus/$h" > "$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed="$failed $h"
    fi
    end=$(date +%s)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corp=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
    seeds=$(ls "$src/corpus/$h" | wc -l)
    printf '%-16s %-6s %5ss %12s execs  cov %5s  ft %6s  corpus %-10s seeds %s\n' \
        "fuzz_$h" "$status" "$((end - start))" "${execs:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$seeds" | tee -a "$summary"
    if [ "$status" != ok ]; then
        echo "--- fuzz_$h: last lines of $log ---"
        tail -60 "$log"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzzing FAILED:$failed (inputs in $work/artifacts/; add each, once" \
         "fixed, to tests/fuzz/corpus/<harness>/ as a regression)" >&2
    exit 1
fi
