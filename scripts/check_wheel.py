"""Build the wheel and check it ships what users need: py.typed and the panel's template.

Run by ``make lint``: ``.venv/bin/python scripts/check_wheel.py``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REQUIRED = ("django_pool/py.typed", "django_pool/contrib/debug_toolbar.html")


def main() -> int:
    """Build into a temporary directory; exit 1 naming any missing file."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="django_pool_wheel_") as out:
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, str(root)],
            check=True,
        )
        [wheel] = Path(out).glob("django_pool-*.whl")
        names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        print(f"{wheel.name} lacks: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"{wheel.name}: {', '.join(REQUIRED)} present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
