"""``python -m bench.soak``: see bench/soak/__init__.py."""

from __future__ import annotations

import sys

from bench.soak.run import main

sys.exit(main())
