"""Dispatch ``python -m django_pool <command>``."""

from __future__ import annotations

import argparse

from django_pool.bench import command as bench

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command named in *argv*; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m django_pool")
    commands = parser.add_subparsers(dest="command", required=True)
    bench.add_arguments(
        commands.add_parser(
            "bench",
            help="compare no pooling, persistent connections, Django's pool and django-pool",
        )
    )
    args = parser.parse_args(argv)
    return bench.run(args)
