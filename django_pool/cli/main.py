"""Dispatch ``python -m django_pool <command>``."""

from __future__ import annotations

import argparse

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command named in *argv*; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m django_pool")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run a pooled Django project on embedded SQLite")
    demo.add_argument("--requests", type=int, default=2000, help="requests to simulate")
    demo.add_argument("--threads", type=int, default=8, help="threads sending them")
    args = parser.parse_args(argv)

    from . import demo as demo_module

    return demo_module.run(requests=args.requests, threads=args.threads)
