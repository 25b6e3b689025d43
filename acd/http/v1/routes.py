"""Every route of /api/v1 in one table: method, path, handler, the roles that may call it, and what
another role is told (403).

The API's router is built from this table and its guard admits tokens by it (``acd.http.roles``);
``tests/integration/test_route_table.py`` calls each row with a token of every role. A route that is
not a row here is not served, so adding one means deciding who may call it, here.
"""

from __future__ import annotations

from acd.agent_actions import ACTIONS
from acd.http.roles import ADMIN, EVERYONE, PUBLIC, STAFF, WALLBOARD, Route
from acd.http.v1 import (
    agent_config,
    agent_stream,
    agents,
    callbacks,
    cluster,
    customers,
    interactions,
    live,
    monitoring,
    objectives,
    openapi,
    pbxs,
    queues,
    recordings,
    reports,
    skills,
    supervision,
    transfers,
)

CONFIG_STAFF = "changing skills, queues and agents is for supervisors and admins"
CATALOGUE_READERS = "the skill catalogue is for supervisors and admins"
OBJECTIVES_STAFF = "objectives are for supervisors (of their queues) and admins"
CATALOGUE_ADMINS = "changing the skill catalogue is for admins"

ROUTES: tuple[Route, ...] = (
    Route("GET", "/openapi.json", openapi.openapi, PUBLIC),
    # agents: live state and actions (acd.agent_actions), the desk's stream, their configuration
    Route("GET", "/agents", agents.list_agents, EVERYONE),
    Route("GET", "/agents/{agent}", agents.one_agent, EVERYONE),
    *(Route("POST", f"/agents/{{agent}}/{a.verb}", agents.action_handler(a.verb), EVERYONE) for a in ACTIONS),
    Route("POST", "/agents/{agent}/wrapup", agents.wrapup, EVERYONE),
    Route("GET", "/agents/{agent}/events", agent_stream.events, EVERYONE),
    Route("POST", "/agents", agent_config.create_agent, STAFF, CONFIG_STAFF),
    Route("PUT", "/agents/{agent}", agent_config.replace_agent, STAFF, CONFIG_STAFF),
    Route("PATCH", "/agents/{agent}", agent_config.update_agent, STAFF, CONFIG_STAFF),
    Route("DELETE", "/agents/{agent}", agent_config.delete_agent, STAFF, CONFIG_STAFF),
    # the routing config: skills and queues
    Route("GET", "/skills", skills.list_skills, STAFF, CATALOGUE_READERS),
    Route("POST", "/skills", skills.create_skill, ADMIN, CATALOGUE_ADMINS),
    Route("GET", "/skills/{skill}", skills.one_skill, STAFF, CATALOGUE_READERS),
    Route("PUT", "/skills/{skill}", skills.rename_skill, ADMIN, CATALOGUE_ADMINS),
    Route("DELETE", "/skills/{skill}", skills.delete_skill, ADMIN, CATALOGUE_ADMINS),
    # objectives (KPOs): supervisors of their scope and admins (scopes: acd.http.v1.objectives)
    Route("GET", "/objectives", objectives.list_objectives, STAFF, OBJECTIVES_STAFF),
    Route("POST", "/objectives", objectives.create_objective, STAFF, OBJECTIVES_STAFF),
    Route("GET", "/objectives/{objective}", objectives.one_objective, STAFF, OBJECTIVES_STAFF),
    Route("PATCH", "/objectives/{objective}", objectives.update_objective, STAFF, OBJECTIVES_STAFF),
    Route("DELETE", "/objectives/{objective}", objectives.delete_objective, STAFF, OBJECTIVES_STAFF),
    Route("GET", "/queues", queues.list_queues, EVERYONE),
    Route("POST", "/queues", queues.create_queue, ADMIN, "creating a queue is for admins"),
    Route("GET", "/queues/{queue}", queues.one_queue, EVERYONE),
    Route("PUT", "/queues/{queue}", queues.replace_queue, STAFF, CONFIG_STAFF),
    Route("PATCH", "/queues/{queue}", queues.update_queue, STAFF, CONFIG_STAFF),
    Route("DELETE", "/queues/{queue}", queues.delete_queue, ADMIN, "deleting a queue is for admins"),
    # the live picture and supervision of callers
    Route("GET", "/status", live.status, EVERYONE | {WALLBOARD}),
    # who leads, under which epoch (docs/standby.md)
    Route("GET", "/cluster", cluster.cluster, STAFF, "the cluster's leadership is for supervisors and admins"),
    # each PBX: linked, misconfigured, lost, its calls, Kamailio's dispatcher state (docs/pbxs.md)
    Route("GET", "/pbxs", pbxs.pbxs, STAFF, "the state of the PBXs is for supervisors and admins"),
    Route(
        "GET",
        "/calls/{call}/explanation",
        live.explanation,
        STAFF,
        "routing explanations are for supervisors and admins",
    ),
    Route(
        "POST",
        "/calls/{call}/priority",
        supervision.priority,
        STAFF,
        "changing a caller's priority is for supervisors and admins",
    ),
    Route(
        "POST",
        "/calls/{call}/queue",
        supervision.move,
        STAFF,
        "moving a caller to another queue is for supervisors and admins",
    ),
    # call recordings: listening is for admins and the call's queue's supervisors (an agent only for
    # their own calls, when [recordings] agents_own says so: the handler decides); pausing is for
    # the agent on the call too (the handler checks it is theirs)
    Route("POST", "/calls/{call}/recording", recordings.pause, EVERYONE),
    Route("GET", "/interactions/{interaction}/recording", recordings.listen, EVERYONE),
    # transfers: the agent on the call, supervisors of its queue, admins (acd.http.v1.transfers)
    Route("POST", "/calls/{call}/transfer", transfers.transfer, EVERYONE),
    Route(
        "POST",
        "/calls/{call}/monitor",
        monitoring.monitor,
        STAFF,
        "listening to, whispering to or barging into calls is for supervisors and admins",
    ),
    Route("POST", "/calls/{call}/transfer/complete", transfers.complete, EVERYONE),
    Route("POST", "/calls/{call}/transfer/cancel", transfers.cancel, EVERYONE),
    # interaction records
    Route("GET", "/interactions", interactions.search, EVERYONE),
    # reports from the records (docs/kpis.md): intervals per queue, scorecards per agent
    Route(
        "GET", "/reports/intervals", reports.interval_report, STAFF, "interval reports are for supervisors and admins"
    ),
    Route("GET", "/reports/agents", reports.scorecards, EVERYONE),
    Route("GET", "/customers/{customer}/interactions", interactions.customer_history, EVERYONE),
    # customer records, kept by agents from the desk (roles as for the interaction records)
    Route("GET", "/customers", customers.list_customers, EVERYONE),
    Route("POST", "/customers", customers.create_customer, EVERYONE),
    Route("GET", "/customers/{customer}", customers.one_customer, EVERYONE),
    Route("PATCH", "/customers/{customer}", customers.update_customer, EVERYONE),
    # scheduled callbacks: admins, supervisors of the queue, agents of the queues they serve (the
    # handler decides: acd.http.v1.callbacks)
    Route("POST", "/callbacks", callbacks.schedule, EVERYONE),
    Route("GET", "/callbacks", callbacks.list_callbacks, EVERYONE),
    Route("DELETE", "/callbacks/{callback}", callbacks.cancel, EVERYONE),
)
