"""MkDocs hooks for ``make docs``: README.md as the home page, and no public name undocumented.

- The home page is README.md, with its ``docs/...`` links made relative to the site.
- Every name a module of the API reference exports (its ``__all__``) must have a
  docstring: a missing one is a warning, which ``mkdocs build --strict`` turns
  into a failure.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.django_pool")

ROOT = Path(__file__).resolve().parent.parent
# Modules whose exports the API reference documents.
DOCUMENTED = (
    "django_pool",
    "django_pool.api",
    "django_pool.config",
    "django_pool.dbapi",
    "django_pool.signals",
    "django_pool.rules",
    "django_pool.driver",
    "django_pool.wrapper",
    "django_pool.contrib.debug_toolbar",
    "django_pool.contrib.prometheus",
    "django_pool.contrib.database_url",
)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Serve README.md as the home page, its ``docs/`` links rewritten for the site."""
    if page.file.src_uri != "index.md":
        return markdown
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.sub(r"\]\(docs/", "](", readme)


def on_pre_build(config: Any) -> None:
    """Warn for every exported name without a docstring (a failure under --strict)."""
    import griffe

    package = griffe.load("django_pool", search_paths=[str(ROOT)], resolve_aliases=False)
    for path in DOCUMENTED:
        module = package if path == "django_pool" else package[path.removeprefix("django_pool.")]
        exports = module.exports or []
        if not module.docstring:
            log.warning("%s has no docstring", path)
        for name in exports:
            name = name if isinstance(name, str) else name.name
            member = module.members.get(name)
            if member is None:
                log.warning("%s.__all__ names %r, which it does not define", path, name)
                continue
            if member.is_alias:
                continue  # documented where it is defined
            if not member.docstring:
                log.warning("%s.%s has no docstring", path, name)


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    """Drop the Sphinx roles (``:func:``, ``:class:``...) the docstrings use before code spans."""
    return re.sub(r":(?:func|class|data|meth|attr|mod|exc):\s*(<code>)", r"\1", html)
