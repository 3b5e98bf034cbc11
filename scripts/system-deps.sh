#!/usr/bin/env bash
# System packages the test suite needs, installed when missing and we are
# allowed to (root with apt); anything else: say what to install, and stop.
#   - MariaDB client headers: mysqlclient compiles against them; SQLite's:
#     pysqlite3 (a sqlite3 that loads extensions, for SpatiaLite) does.
#   - GeoDjango (the pooled GIS backends): GDAL, GEOS and PROJ libraries,
#     SpatiaLite's SQLite extension, and PostGIS for each local PostgreSQL.
#   - valgrind: bench --instructions (make test-slow) counts instructions with it.
# Not make demo, which needs none of this.
# Idempotent and quiet: when everything is there it installs nothing and
# prints nothing.
set -eu

missing=()    # Debian package names
unmet=()      # what a non-Debian machine must provide, in words

has_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
# mod_spatialite is a loadable module, not in ldconfig's cache.
has_module() { compgen -G "/usr/lib/$1*" >/dev/null || compgen -G "/usr/lib/*/$1*" >/dev/null ||
    compgen -G "/usr/local/lib/$1*" >/dev/null; }

if ! pkg-config --exists mariadb 2>/dev/null && ! pkg-config --exists mysqlclient 2>/dev/null; then
    missing+=(libmariadb-dev pkg-config)
    unmet+=("MySQL/MariaDB client headers (libmariadb-dev, mariadb-connector-c-devel, mysql-client)")
fi
if ! command -v valgrind >/dev/null; then
    missing+=(valgrind)
    unmet+=("valgrind (bench --instructions)")
fi
if ! has_lib 'libgdal\.so' || ! has_lib 'libgeos_c\.so' || ! has_lib 'libproj\.so'; then
    # gdal-bin pulls in libgdal, libgeos-c and libproj.
    missing+=(gdal-bin)
    unmet+=("the GDAL, GEOS and PROJ libraries (gdal-bin, gdal, geos, proj)")
fi
# pysqlite3 (the alt run's sqlite3) compiles against the system SQLite.
if [ ! -e /usr/include/sqlite3.h ] && ! pkg-config --exists sqlite3 2>/dev/null; then
    missing+=(libsqlite3-dev)
    unmet+=("SQLite's headers (libsqlite3-dev, sqlite-devel, sqlite)")
fi
if ! has_module mod_spatialite.so; then
    missing+=(libsqlite3-mod-spatialite)
    unmet+=("SpatiaLite's SQLite extension mod_spatialite (libsqlite3-mod-spatialite)")
fi
# PostGIS belongs to the server: one package per local PostgreSQL major version.
for dir in /usr/lib/postgresql/*/; do
    [ -d "$dir" ] || continue
    version=$(basename "$dir")
    if [ ! -e "/usr/share/postgresql/$version/extension/postgis.control" ]; then
        missing+=("postgresql-$version-postgis-3")
        unmet+=("PostGIS for PostgreSQL $version (postgresql-$version-postgis-3)")
    fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]}"
    # Wait for another apt run (a parallel job) rather than fail on its lock.
    apt_get=(apt-get -o DPkg::Lock::Timeout=600 -y -qq)
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    # apt's chatter (debconf notes included) only when something fails.
    if ! { DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" update &&
        DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install --no-install-recommends \
            "${missing[@]}"; } >"$log" 2>&1; then
        cat "$log" >&2
        exit 1
    fi
else
    echo "django-pool's tests need system packages that are missing:" >&2
    for what in "${unmet[@]}"; do
        echo "  - $what" >&2
    done
    echo "Install them (as root on Debian/Ubuntu: apt-get install ${missing[*]}), then run make again." >&2
    exit 1
fi
