"""``python -m django_pool``: the command line (see ``--help``)."""

from django_pool.cli.main import main

raise SystemExit(main())
