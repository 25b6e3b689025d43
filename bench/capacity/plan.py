"""What the capacity run asks for: the agents, the numbers, the load steps and the criterion a step must meet."""

from __future__ import annotations

from dataclasses import dataclass

AGENT_COUNT = 60  # farm agents agent1..60, all in queue bench of both systems: never the limit (see RATES)
AGENTS = tuple(f"agent{i}" for i in range(1, AGENT_COUNT + 1))
APP_QUEUE_DID = "900"  # Queue(bench): app_queue, the 60 agents as static members
ACD_DID = "901"  # acd-enqueue into the ACD's queue bench
APP_QUEUE_HOLD_DID = "902"  # Queue(benchhold): no members, callers wait
ACD_HOLD_DID = "903"  # the ACD's queue benchhold: a skill no agent has, callers wait

# the phones: answer after ANSWER_DELAY s, talk TALK s; an agent is busy ~0.6 s a call, so 60 agents
# carry ~100 calls/s, above every default rate: a step fails on the PBX's side, not for want of agents
ANSWER_DELAY = 0.05
TALK = 0.5
PATIENCE = 20.0  # s: a caller not answered by then hangs up (counted failed)

RATES = (8.0, 16.0, 32.0, 48.0, 64.0)  # calls/s, one step each, stopping at the first that fails
STEP_SECONDS = 8.0  # s of placing calls at a rate
HOLDS = (100, 200, 400, 600)  # callers held waiting at once, one step each, stopping at the first that fails
HOLD_RATE = 20.0  # callers/s placed in a hold step
HOLD_SECONDS = 5.0  # s all of a hold step's callers are held together before they hang up

RING_P95_MS = 500.0  # a rate step fails when p95 of queue entry -> INVITE at an idle agent's phone is above
FAILED_SHARE = 0.01  # ... or more than this share of its callers never reached a phone
SETUP_P95_MS = 2000.0  # a hold step fails when p95 of call placed -> in the queue is above this
GRACE = 8.0  # s after a step's last call for its callers to finish


@dataclass(frozen=True)
class System:
    """One of the three set-ups measured: which number the callers dial, through which trunk."""

    key: str  # "app_queue" | "acd" | "acd2"
    title: str
    did: str
    hold_did: str
    trunk: str  # the farm's trunk: "acd" (straight to the PBX) or "kamailio"


SYSTEMS = (
    System("app_queue", "(a) one PBX, app_queue", APP_QUEUE_DID, APP_QUEUE_HOLD_DID, "acd"),
    System("acd", "(b) one PBX, the ACD", ACD_DID, ACD_HOLD_DID, "acd"),
    System("acd2", "(c) two PBXs behind Kamailio, the ACD", ACD_DID, ACD_HOLD_DID, "kamailio"),
)
