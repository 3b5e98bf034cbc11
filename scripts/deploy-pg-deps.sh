#!/usr/bin/env bash
# What tests/deployment_pg needs beyond PostgreSQL itself: Debian's pgbouncer
# (the tests start their own instances; the packaged service is not used).
# Installed when missing and we are allowed to (root with apt); else say what to do.
set -eu
if command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing pgbouncer (tests/deployment_pg starts its own instances)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
else
    echo "tests/deployment_pg needs pgbouncer: install it (Debian/Ubuntu: apt-get install pgbouncer)," >&2
    echo "or those tests skip (and fail under CI)." >&2
    exit 1
fi
