"""A PBX the ACD is linked to but does not route yet: its link's state, and nothing else.

With several PBXs configured (docs/pbxs.md), the calls of the first one alone are routed for now.
Each other PBX still gets its AMI link (login, ping watchdog, reconnect), with events off, so that
``acd_ami_connected{pbx}`` tells the truth about every PBX before its calls are routed. Nothing is
written on such a PBX: without the ACD's heartbeat its dialplan sends its callers to the fallback,
which is what a PBX the ACD does not route must do.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Gauge

from acd.ami.link import AmiLink, LinkDown, LinkUp


@dataclass(frozen=True, slots=True, eq=False)
class WatchedPbx:
    name: str
    link: AmiLink


async def watch(pbx: WatchedPbx, connected: Gauge) -> None:
    """Follow the link's ups and downs into ``connected`` (``acd_ami_connected``) until it is closed."""
    gauge = connected.labels(pbx=pbx.name)
    async for item in pbx.link.events():
        if isinstance(item, LinkUp):
            gauge.set(1)
        elif isinstance(item, LinkDown):
            gauge.set(0)
    gauge.set(0)
