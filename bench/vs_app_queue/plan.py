"""What the benchmark sets up and asks for: the agents, the two numbers, the loads, the targets; its log."""

from __future__ import annotations

import math
import sys
import time

AGENTS = ("agent11", "agent12", "agent13", "agent14")
APP_QUEUE_DID = "900"
ACD_DID = "901"
IDLE_IN_SYSTEM = 4  # (a): callers placed and not yet gone; each sees at most 3 others, so an agent is idle
WAITING = 8  # (b): callers kept waiting for the 4 agents
TARGET_IDLE_MS = 2.0  # (a): ACD p50 at most this much above app_queue's p50
TARGET_WAITING_MS = 5.0  # (b): ACD p50 at most this (issue 19)
REFERENCE = (
    "measured before on this machine: app_queue p50 ~5 ms (a), ~800 ms (b); a bare AMI controller ~6.5 ms, ~11 ms"
)

INF = math.inf


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} bench: {message}", file=sys.stderr, flush=True)
