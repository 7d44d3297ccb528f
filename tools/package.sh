#!/bin/bash
# Packaging for mod_cors (Makefile targets `deb` and `dist`).
#
#   tools/package.sh version         print CORS_VERSION from mod_cors.c
#   tools/package.sh files           list the source files (NUL-separated)
#   tools/package.sh deb  OUTDIR     build libapache2-mod-cors_*.deb into OUTDIR
#   tools/package.sh dist OUTDIR     write OUTDIR/mod_cors-VERSION.tar.gz
#
# Both builds work on a copy of the source files under $PKG_RUN
# (tests/run/pkg by default), never in the work tree: nothing built before
# is used, and nothing is left behind but the requested .deb or tarball.
# The copies are removed after a successful build; they live in directories
# called build/ and dist/, which pytest does not search for tests (the
# copies hold tests/test_*.py, and the suite runs `pytest tests`).
#
# The source files are what git tracks plus new files git does not ignore
# (so that a file not yet committed is not silently missing), without the
# outputs of this script.  Outside a git checkout (an unpacked tarball),
# every file except build outputs.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PKG_RUN=${PKG_RUN:-$top/tests/run/pkg}
case "$PKG_RUN" in /*) ;; *) PKG_RUN=$top/$PKG_RUN ;; esac

die() { echo "package.sh: $*" >&2; exit 1; }

version() {
    v=$(sed -n 's/^#define CORS_VERSION "\([^"]*\)".*/\1/p' mod_cors.c)
    [ -n "$v" ] || die "no '#define CORS_VERSION \"...\"' in mod_cors.c"
    echo "$v"
}

# Generated files and this script's outputs: never part of the sources.
OUTPUTS='^(\.git/|\.libs/|run/|tests/run/|\.pytest_cache/|node_modules/'
OUTPUTS=$OUTPUTS'|(.*/)?__pycache__/|.*\.(la|lo|slo|o|so)$'
OUTPUTS=$OUTPUTS'|mod_cors-[^/]*\.tar\.gz$|[^/]*\.(deb|ddeb|changes|buildinfo)$'
OUTPUTS=$OUTPUTS'|debian/(\.debhelper/|files$|debhelper-build-stamp$|[^/]*\.substvars$'
OUTPUTS=$OUTPUTS'|[^/]*\.debhelper(\.log)?$|libapache2-mod-cors/|tmp/))'

in_git() {
    git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
        && [ "$(git -C "$top" rev-parse --show-toplevel)" = "$top" ]
}

files() {
    if in_git; then
        git ls-files -z --cached --others --exclude-standard
    else
        find . -path ./.git -prune -o \( -type f -o -type l \) -print0 | sed -z 's|^\./||'
    fi | grep -zEv "$OUTPUTS" | sort -zu | while IFS= read -r -d '' f; do
        # tracked but deleted in the work tree: not a source file any more
        [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
    done
}

# stage DIR: a fresh copy of the source files in DIR
stage() {
    rm -rf "$1"
    mkdir -p "$1"
    files | tar -C "$top" --null -T - -cf - | tar -C "$1" -xf -
}

# The time of the last commit (or of debian/changelog): reproducible output.
epoch() {
    git -C "$top" log -1 --format=%ct 2>/dev/null \
        || dpkg-parsechangelog -l debian/changelog -S Timestamp
}

deb() {
    out=$1
    v=$(version)
    dv=$(dpkg-parsechangelog -l debian/changelog -S Version)
    [ "${dv%-*}" = "$v" ] || die "debian/changelog is at $dv, mod_cors.c at $v:" \
        "add a debian/changelog entry $v-1 (dch -v $v-1)"
    src=$PKG_RUN/build/libapache2-mod-cors-$v
    rm -rf "$PKG_RUN/build"
    stage "$src"
    (cd "$src" && dpkg-buildpackage -us -uc -b)
    rm -rf "$src"
    mkdir -p "$out"
    set -- "$PKG_RUN"/build/libapache2-mod-cors_"$dv"_*.deb
    [ -f "$1" ] || die "dpkg-buildpackage made no .deb"
    cp "$@" "$out"/
    for f in "$@"; do echo "built $out/$(basename "$f")"; done
}

dist() {
    out=$1
    v=$(version)
    name=mod_cors-$v
    for f in LICENSE CHANGELOG.md; do
        [ -f "$f" ] || die "$f is missing"
    done
    grep -q "^## \[$v\]" CHANGELOG.md || die "CHANGELOG.md has no '## [$v]' section"
    if in_git; then
        new=$(git ls-files --others --exclude-standard | grep -Ev "$OUTPUTS" || true)
        [ -z "$new" ] || { echo "package.sh: note: $name.tar.gz includes files" \
            "git does not track yet:"; echo "$new" | sed 's/^/    /'; } >&2
    fi
    stage "$PKG_RUN/dist/$name"
    mkdir -p "$out"
    out=$(cd "$out" && pwd)
    t=$(epoch)
    (cd "$PKG_RUN/dist" && tar --sort=name --owner=0 --group=0 --numeric-owner \
        --mtime="@$t" --mode=go-w -cf - "$name" | gzip -9n > "$out/$name.tar.gz")
    rm -rf "${PKG_RUN:?}/dist/$name"
    echo "built $out/$name.tar.gz"
}

case "${1:-}" in
    version) version ;;
    files)   files ;;
    deb)     deb "${2:-.}" ;;
    dist)    dist "${2:-.}" ;;
    *)       echo "usage: $0 version|files|deb OUTDIR|dist OUTDIR" >&2; exit 2 ;;
esac
