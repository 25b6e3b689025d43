"""Each PBX as the ACD sees it now, for ``GET /api/v1/pbxs`` (docs/pbxs.md, "The list of PBXs").

The pieces live where they are kept: the pump of each PBX knows whether its link is up, whether its
``SystemName`` is wrong or unread and whether the PBX is lost (``acd.ami.pump.Pump``); the core's
snapshot counts the open calls on each (``Snapshot.pbx_calls``); the Kamailio reader holds the
dispatcher's view (``KamailioView.pbx_state``). This puts them side by side, in the file's order of
PBXs, and names no address nor secret: a PBX is named by its name alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from acd.ami.pump import Pump
from acd.kamailio.reader import KamailioReader


@dataclass(frozen=True, slots=True, eq=False)
class PbxBoard:
    """``pumps``: each PBX's, the first PBX's first; ``kamailio``: the reader, with ``[kamailio]``."""

    pumps: Sequence[Pump]
    kamailio: KamailioReader | None = None

    def rows(self, calls: Mapping[str, int]) -> list[dict[str, Any]]:
        """One row per PBX; ``calls``: the open calls per PBX (``Snapshot.pbx_calls``)."""
        view = self.kamailio.view if self.kamailio is not None else None
        return [
            {
                "name": pump.pbx,
                "linked": pump.link.connected,  # its AMI link is up
                # its SystemName is not its name, or could not be read: none of its calls is routed
                "misconfigured": pump.misconfigured,
                "lost": pump.lost,  # lost since its link went down (several PBXs; docs/pbxs.md, "A PBX dies")
                "calls": calls.get(pump.pbx, 0),
                **({} if view is None else {"dispatcher": view.pbx_state(pump.pbx)}),
            }
            for pump in self.pumps
        ]
