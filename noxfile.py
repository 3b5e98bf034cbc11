"""The version matrix: ``nox`` (all of it), ``nox -s tests`` or ``nox -s conformance``.

Each session installs django-pool with its drivers and the chosen Django and
SQLAlchemy, then runs django-pool's own suite with both driver sets
(``tests``) or Django's own suite stock vs pooled on every database
(``conformance``, see docs/conformance.md). pyenv's interpreters are found
through its shims (python3.11, python3.12, python3.13).
"""

import glob
import json
import os

import nox

nox.options.reuse_existing_virtualenvs = True
# pyenv's shims refuse versions that are not activated: look in its versions.
os.environ["PATH"] = os.pathsep.join(
    [*sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin"))), os.environ["PATH"]]
)

# (python, Django) pairs that Django supports.
MATRIX = [
    ("3.11", "5.2"),
    ("3.12", "6.0"),
    ("3.13", "6.0"),
    ("3.12", "6.1"),
    ("3.13", "6.1"),
]
SQLALCHEMY = ["2.0", "2.1"]
EXTRAS = ".[psycopg,psycopg2,mysqlclient,pymysql,test]"
DATABASES = [
    ("sqlite", "sqlite3"),
    ("postgresql", "psycopg"),
    ("postgresql", "psycopg2"),
    ("mysql", "mysqlclient"),
]
RESULTS = "conformance-results"


def install(session, django, sqlalchemy):
    """Install django-pool, its drivers and test tools, with these Django and SQLAlchemy."""
    # pysqlite3 from source, against the system SQLite (see pyproject.toml).
    session.install(
        "--no-binary",
        "pysqlite3",
        "-e",
        EXTRAS,
        f"django~={django}.0",
        f"sqlalchemy~={sqlalchemy}.0",
    )


@nox.session
@nox.parametrize("python,django", MATRIX)
@nox.parametrize("sqlalchemy", SQLALCHEMY)
def tests(session, django, sqlalchemy):
    """django-pool's suite, default drivers then psycopg2 + PyMySQL."""
    install(session, django, sqlalchemy)
    session.run("python", "-m", "pytest", *session.posargs)
    session.run("python", "-m", "pytest", *session.posargs, env={"DJANGO_POOL_TEST_DRIVERS": "alt"})


@nox.session
@nox.parametrize("python,django", MATRIX)
def conformance(session, django):
    """Django's own suite, stock vs django-pool ENGINE, every database, --parallel 1 and 2.

    Writes one JSON file per run into conformance-results/ (render them with
    scripts/conformance_report.py) and fails if any pooled run is worse.
    Positional arguments replace the app list.
    """
    install(session, django, "2.1")
    os.makedirs(RESULTS, exist_ok=True)
    worse = []
    for vendor, driver in DATABASES:
        for parallel in ("1", "2"):
            name = f"django{django}-py{session.python}-{vendor}-{driver}-p{parallel}.json"
            out = os.path.join(RESULTS, name)
            if os.path.exists(out):
                os.remove(out)
            ran = session.run(
                "python", "scripts/django_suite.py", "--vendor", vendor, "--driver", driver,
                "--parallel", parallel, "--json", out, *session.posargs,
                success_codes=[0, 1],  # every run first, the verdict below
            )  # fmt: skip
            if ran is None:  # --install-only
                continue
            if not os.path.exists(out):
                worse.append(f"{name} (no result)")
                continue
            with open(out) as results:
                run = json.load(results)
            if run["new"] or run["missing"]:
                worse.append(name)
    if worse:
        session.error(f"pooled runs worse than stock: {', '.join(worse)}")
