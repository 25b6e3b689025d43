"""What the soak sets up: the ACD's queues and 20 agents, the traffic, the farm phones' behaviour, the bounds."""

from __future__ import annotations

import sys
import time

from phonefarm.acd_process import agents_toml, queue_toml

CALLS_PER_MINUTE = 30.0
# seconds a caller waits before hanging up (abandon), drawn per call. At least 15: a sales caller is
# overflowed after 5 s and hung up after the fallback's apology (~5 s), before it could give up; were
# its patience shorter, it would hang up during the apology and the farm would see an abandon.
PATIENCE = (15.0, 60.0)
ANSWER_DELAY = (1, 3)  # seconds a phone rings before its agent answers
TALK = (15, 60)  # seconds of talk, drawn per agent and changed now and then
NO_ANSWER = ("agent8", "agent13")  # phones that let it ring: misses, and the ACD's pause "missed"
CHURN_EVERY = (6.0, 14.0)  # seconds between two agent actions (pause, resume, log out, log in)
MAX_AWAY = 4  # agents the script keeps paused or logged out at most at once (the queues stay served)
SAMPLE_EVERY = 3.0  # seconds between two samples of the ACD's RSS and open descriptors
GROWTH_LIMIT = 0.05  # growth of RSS or descriptors that fails the run
WARMUP_LONG = 600.0  # runs of 50 minutes and more: the first ten minutes are warm-up
DRAIN_WITHIN = 240.0  # after the traffic stops: max wait + ring + talk + wrap-up, and a margin
SETTLE_WITHIN = 30.0  # for the last records to reach PostgreSQL and the phones to hang up

QUEUE_OF_NUMBER = {"200": "billing", "201": "billing", "300": "support", "400": "sales"}

ACD_CONFIG = """\
# written by bench/soak (soak run)
skills = ["billing", "support", "sales"]

[ami]
port = 5038
user = "acd"

[http]
port = {http_port}

[database]
data_dir = "{workdir}/pg"
journal_dir = "{workdir}/journal"

[routing]
ring_timeout = 8
reoffer_cooldown = 20
max_consecutive_misses = 2
short_abandon = 2

"""
QUEUES = "\n".join(
    (
        # callers wait at most 75 s in billing and support: most who give up abandon (patience 15-60 s)
        queue_toml("billing", "{ billing = 1 }", sla_threshold=20, max_wait=75, wrapup=2, overflow="fallback"),
        queue_toml("support", "{ support = 1 }", sla_threshold=30, max_wait=75, wrapup=2, overflow="fallback"),
        # two agents and 5 s: sales overflows (to the fallback: an apology and a hang-up; see PATIENCE)
        queue_toml("sales", "{ sales = 1 }", sla_threshold=5, max_wait=5, wrapup=1, overflow="fallback"),
    )
)
SKILLS = {
    **{f"agent{i}": "{ billing = 3 }" for i in range(1, 9)},
    **{f"agent{i}": "{ support = 3 }" for i in range(9, 15)},
    **{f"agent{i}": "{ sales = 3 }" for i in range(15, 17)},
    **{f"agent{i}": "{ billing = 2, support = 2 }" for i in range(17, 21)},
}
AGENTS = tuple(SKILLS)


def acd_config(workdir: str, http_port: int) -> str:
    return ACD_CONFIG.format(http_port=http_port, workdir=workdir) + QUEUES + agents_toml(SKILLS)


def warmup_seconds(traffic_seconds: float) -> float:
    """The warm-up the footprint's growth is measured after: ten minutes, or a fifth of a shorter run."""
    return min(WARMUP_LONG, traffic_seconds / 5)


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} soak: {message}", file=sys.stderr, flush=True)
