#!/usr/bin/env bash
# What the tests need from the system (make test; not make demo, which needs nothing):
# - valgrind, for bench --instructions (make test-slow); optional: its test skips without it,
#   and fails under CI;
# - MariaDB's client headers, which mysqlclient compiles against.
# Installed when missing and we are allowed to (root with apt). Anything else: say what to do.
set -eu
if ! command -v valgrind >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing valgrind (bench --instructions)"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
    else
        echo "note: valgrind is missing (bench --instructions and its test need it):" \
            "apt-get install valgrind / dnf install valgrind" >&2
    fi
fi
if pkg-config --exists mariadb 2>/dev/null || pkg-config --exists mysqlclient 2>/dev/null; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing libmariadb-dev (headers for mysqlclient)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config >/dev/null
else
    echo "mysqlclient needs MySQL/MariaDB client headers: install libmariadb-dev (Debian/Ubuntu)," >&2
    echo "mariadb-connector-c-devel (Fedora) or mysql-client (Homebrew), then run make again." >&2
    exit 1
fi
