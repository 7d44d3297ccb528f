#!/bin/sh
# How much of mod_cors.c the fuzz corpora reach (clang source-based coverage).
#   tests/fuzz/coverage.sh BUILDDIR CORPUSDIR HARNESS...
# Builds each harness with coverage instrumentation (no sanitizers), runs
# every input of tests/fuzz/corpus/<h>/ and of CORPUSDIR/<h>/ (what `make
# fuzz` found, if there) once, and prints llvm-cov's summary for mod_cors.c
# (regions, functions, lines, branches), also written to BUILDDIR/report.txt.
set -eu

build=$1 found=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$src/../.." && pwd)
cc=${FUZZ_CC:-clang}
ver=$($cc --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
profdata=$(command -v "llvm-profdata-$ver" || command -v llvm-profdata)
llvmcov=$(command -v "llvm-cov-$ver" || command -v llvm-cov)
flags="-g -O0 -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping -w
       $(apr-1-config --cppflags --includes) $(apu-1-config --includes)
       -I$(apxs -q INCLUDEDIR)"
libs="$(apu-1-config --link-ld) $(apr-1-config --link-ld) -lpcre2-8"

rm -rf "$build" && mkdir -p "$build/raw" "$build/tmp"
objects=""
for h in "$@"; do
    # shellcheck disable=SC2086
    $cc $flags -o "$build/cov_$h" "$src/fuzz_$h.c" "$src/stubs.c" $libs
    dirs="$src/corpus/$h"
    [ -d "$found/$h" ] && dirs="$dirs $found/$h"
    # shellcheck disable=SC2086
    LLVM_PROFILE_FILE="$build/raw/$h-%p.profraw" TMPDIR="$build/tmp" \
        "$build/cov_$h" -runs=0 $dirs > "$build/$h.log" 2>&1
    # shellcheck disable=SC2086
    printf '%-16s %6s inputs\n' "fuzz_$h" "$(find $dirs -type f | wc -l)"
    if [ -z "$objects" ]; then
        objects="$build/cov_$h"
    else
        objects="$objects -object $build/cov_$h"
    fi
done
"$profdata" merge -sparse "$build"/raw/*.profraw -o "$build/merged.profdata"
# shellcheck disable=SC2086
"$llvmcov" report $objects -instr-profile="$build/merged.profdata" \
    "$repo/mod_cors.c" | tee "$build/report.txt"
echo "(per line: $llvmcov show $objects -instr-profile=$build/merged.profdata $repo/mod_cors.c)"
