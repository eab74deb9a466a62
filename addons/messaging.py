"""``python -m addons.messaging credentials OUT.yml``: write the Rasa credentials file.

The messaging platforms themselves live in :mod:`addons.platforms` (one module per
platform); this module is the command the launcher runs, kept for its name.
"""

from __future__ import annotations

import sys

from addons.platforms.credentials import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
