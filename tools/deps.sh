#!/bin/sh
# Make sure the Debian packages a target needs are installed.
#   tools/deps.sh build|test|run|package|package-test|browser|sanitize|fuzz|soak|bench
# As root, missing packages are installed with apt-get; otherwise the exact
# apt-get line is printed and the script fails.
set -eu

# Every target builds or loads the module: libpsl-dev to build it (libpsl5
# comes with it), publicsuffix for the system's Public Suffix List, which the
# module reads with the configuration.
PSL="libpsl-dev publicsuffix"
# Origins from a database (tests/test_dbd.py, docs/database.md)
DBD="sqlite3 libaprutil1-dbd-sqlite3 libaprutil1-dbd-pgsql postgresql memcached redis-server"

pkgs_for() {
    case "$1" in
        build) echo "apache2-dev $PSL" ;;
        # (sqlite3 and libaprutil1-dbd-sqlite3: the demo's tenants.db, docs/database.md)
        run)   echo "apache2 apache2-dev apache2-utils curl sqlite3 libaprutil1-dbd-sqlite3 $PSL" ;;
        # (python3-prometheus-client: tests/test_counters.py reads the
        # cors-metrics page with its parser; prometheus: tests/test_prometheus.py
        # runs a Prometheus server that scrapes it, and promtool)
        # (tests/test_dbd.py: SQLite and PostgreSQL through mod_dbd, and
        # memcached and redis-server shared by two servers)
        test)  echo "apache2 apache2-dev apache2-utils python3 python3-pytest python3-prometheus-client" \
                    "prometheus curl $PSL $DBD" ;;
        # make deb (apache2-dev also provides dh-apache2: dh_apache2), and
        # make test-package, which also lints, serves and builds the tarball
        package) echo "build-essential debhelper dpkg-dev apache2-dev $PSL" ;;
        # (curl: the cors-metrics page of the packaged conf-available file)
        package-test)
                 echo "build-essential debhelper dpkg-dev apache2-dev lintian git" \
                      "apache2 apache2-utils python3 python3-pytest curl $PSL" ;;
        # the browser suite: Debian's chromium and firefox-esr, driven by
        # puppeteer-core from npm (nodejs and npm only if no node/npm is on the
        # PATH already); libfaketime moves the browsers' clock
        browser)
            echo "apache2 apache2-dev apache2-utils python3 python3-pytest chromium firefox-esr libfaketime $PSL"
            command -v node >/dev/null 2>&1 || echo "nodejs"
            command -v npm >/dev/null 2>&1 || echo "npm" ;;
        # make test-asan and test-valgrind (gcc's ASan/UBSan runtimes,
        # valgrind), make fuzz-ci (clang's libFuzzer), make soak (wrk)
        sanitize)
                 echo "apache2 apache2-dev apache2-utils python3 python3-pytest python3-prometheus-client curl" \
                      "prometheus libasan8 libubsan1 valgrind $PSL $DBD" ;;
        # the harnesses link the real libpsl and read the system's list
        fuzz)    echo "apache2-dev clang libclang-rt-dev libapr1-dev libaprutil1-dev libpcre2-dev $PSL" ;;
        soak)    echo "apache2 apache2-dev apache2-utils python3 wrk $PSL" ;;
        # make bench: callgrind, ab, wrk, strace, taskset and setpriv, the plot
        bench)   echo "apache2 apache2-dev apache2-utils python3 valgrind wrk strace" \
                      "util-linux gnuplot-nox $PSL" ;;
        *)     echo "tools/deps.sh: unknown target '$1'" >&2; exit 2 ;;
    esac
}

missing=""
for p in $(pkgs_for "${1:-test}"); do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    echo "Installing missing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends$missing
else
    echo "Missing Debian packages:$missing" >&2
    echo "Install them with:" >&2
    echo "    sudo apt-get install -y$missing" >&2
    exit 1
fi
