"""The keys under which the HTTP site keeps what its handlers share, in one place.

aiohttp keeps per-application state in typed ``AppKey`` slots (``app[KEY]``), and per-request state in
``RequestKey`` slots. The site app (``acd.http.app``) and the /api/v1 sub-app (``acd.http.v1``) each
hold their own values under these keys; a handler reads ``request.app[KEY]`` of the app that routed it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.config_changes import ConfigEditor
from acd.desk.publisher import DeskPublisher
from acd.http.bearer import Bearers
from acd.leadership import Leadership
from acd.live_view import LiveView
from acd.metrics import Metrics
from acd.pbx_board import PbxBoard
from acd.readiness import Readiness
from acd.recordings import Recorder
from acd.records.stores.audit import AuditLog
from acd.records.stores.customers import CustomerDirectory
from acd.records.stores.tokens import Token
from acd.runtime import Runtime
from acd.settings import RecordingSettings, SupervisorPhone
from acd.wallboard.publisher import Publisher

if TYPE_CHECKING:
    from acd.http.roles import RouteTable

Health = Callable[[], Mapping[str, Any]]
Ready = Callable[[], Awaitable[Readiness]]

# The site and the API
RUNTIME = web.AppKey("runtime", Runtime)  # the one writer: changes go in with ``ask``
LIVE = web.AppKey("live", LiveView)  # what every reader reads
BEARERS = web.AppKey("bearers", Bearers)  # one token checker for the API and the wallboard's stream

# The site's own routes
METRICS = web.AppKey("metrics", Metrics)
HEALTH: web.AppKey[Health] = web.AppKey("health")
READY: web.AppKey[Ready] = web.AppKey("ready")
METRICS_TOKEN: web.AppKey[str] = web.AppKey("metrics_token")  # empty: loopback clients only
ALLOWED_HOSTS: web.AppKey[frozenset[str]] = web.AppKey("allowed_hosts")
PUBLISHER = web.AppKey("wallboard_publisher", Publisher)

# /api/v1
ENGINE = web.AppKey("engine", AsyncEngine)  # the API's pool: tokens, audit, record searches
AUDIT = web.AppKey("audit", AuditLog)
EDITOR = web.AppKey("config_editor", ConfigEditor)
DESK = web.AppKey("desk_publisher", DeskPublisher)
DIRECTORY = web.AppKey("customer_directory", CustomerDirectory)  # told of changes to customer records
RECORDER = web.AppKey("recorder", Recorder)  # pauses recordings (absent without a PBX)
RECORDINGS = web.AppKey("recordings", RecordingSettings)  # where the files are, who may listen
SUPERVISORS: web.AppKey[tuple[SupervisorPhone, ...]] = web.AppKey("supervisors")  # phones that may monitor calls
OBJECTIVES_ZONE: web.AppKey[str] = web.AppKey("objectives_zone")  # the IANA zone of objectives' periods
ROUTES: web.AppKey[RouteTable] = web.AppKey("routes")  # the API's routes and who may call them
LEADERSHIP = web.AppKey("leadership", Leadership)  # this process's side of the lease (absent: no lease)
PBXS = web.AppKey("pbxs", PbxBoard)  # each PBX's state (absent: call control handed in)
TOKEN = web.RequestKey("token", Token)  # who the request speaks for, set by the API's guard
