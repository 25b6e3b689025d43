"""How the ACD's processes log: their own lines from INFO up, the libraries' only from WARNING up.

panoramisk says "Sending awaiting actions" at every AMI login and Alembic narrates every migration
and plugin at every start: nothing an operator acts on, and it buries the lines that matter on a first
run. ``--verbose`` lets them speak again. The service (``acd run``) and the demo traffic share this.
"""

from __future__ import annotations

import logging

QUIET_LIBRARIES = ("panoramisk", "alembic")


def configure_logging(*, verbose: bool, fmt: str, datefmt: str | None = None) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=fmt, datefmt=datefmt)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
