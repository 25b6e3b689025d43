"""Demo traffic for ``make run``: a steady, random mix of callers from the phone farm.

Arrivals are a Poisson process (exponential gaps) at ``calls_per_minute``; each call picks a number
of the PBX (docs/dialplan.md) by weight, a patience, and for the IVR (100) a menu choice. The agents'
phones get a plausible mix of behaviour from ``setup_demo_agents``. Randomness comes from one seeded
``random.Random`` so a demo run can be replayed. ``python -m phonefarm.demo`` runs it until SIGTERM;
with ``--trunk kamailio`` the callers enter through Kamailio, which spreads them over the PBXs.

Only the phones of the agents the ACD's config file names take part (``demo_phones``): the farm has a
phone for every agent it registers, and a login from a phone the ACD does not know is only a warning
in its log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import signal
from collections.abc import Sequence
from pathlib import Path

from acd.core.config import AgentConfig
from acd.dialling import bare_endpoint
from acd.logs import configure_logging
from acd.settings import SettingsError, load
from phonefarm.ami import AmiError
from phonefarm.farm import Farm

log = logging.getLogger(__name__)

DEFAULT_MIX: tuple[tuple[str, float], ...] = (("200", 0.35), ("201", 0.10), ("300", 0.25), ("400", 0.15), ("100", 0.15))
"""(number, weight): billing, premium billing, support, sales, and the IVR."""


def demo_phones(agents: Sequence[AgentConfig], farm_agents: int) -> tuple[list[str], list[str]]:
    """The farm phones of the configured agents, and the configured endpoints the farm has no phone for.

    The farm's phones are the PJSIP endpoints ``agent1``..``agent<farm_agents>``; an endpoint may be
    written with its technology (``PJSIP/agent2``)."""
    farm = {f"agent{i}" for i in range(1, farm_agents + 1)}
    phones: list[str] = []
    missing: list[str] = []
    for agent in agents:
        phone = bare_endpoint(agent.endpoint)
        if phone in farm:
            if phone not in phones:
                phones.append(phone)
        else:
            missing.append(agent.endpoint)
    return phones, missing


async def setup_demo_agents(farm: Farm, agents: Sequence[str], rng: random.Random) -> None:
    """Most agents answer after 1-4 s and talk 20-90 s; about one in ten lets the phone ring."""
    for agent in agents:
        if rng.random() < 0.1:
            await farm.set_agent(agent, "noanswer")
        else:
            await farm.set_agent(agent, "answer", delay=rng.randint(1, 4), talk=rng.randint(20, 90))


async def run_demo_traffic(
    farm: Farm,
    stop_event: asyncio.Event,
    calls_per_minute: float,
    *,
    mix: Sequence[tuple[str, float]] = DEFAULT_MIX,
    patience: tuple[float, float] = (30.0, 180.0),
    seed: int | None = None,
) -> int:
    """Place calls until ``stop_event`` is set; returns how many were placed. Logs one line per call."""
    if calls_per_minute <= 0:
        raise ValueError("calls_per_minute must be positive")
    rng = random.Random(seed)
    numbers = [n for n, _ in mix]
    weights = [w for _, w in mix]
    placed = 0
    while not stop_event.is_set():
        gap = rng.expovariate(calls_per_minute / 60.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), gap)
        if stop_event.is_set():
            break
        did = rng.choices(numbers, weights)[0]
        wait = rng.uniform(*patience)
        dtmf = rng.choice("12") if did == "100" else None
        try:
            call_id = await farm.place_call(did, wait, dtmf=dtmf)
        except AmiError as exc:
            log.warning("demo: call to %s not placed: %s", did, exc)
            continue
        placed += 1
        log.info("demo: call %s to %s, patience %.0fs%s", call_id, did, wait, f", IVR choice {dtmf}" if dtmf else "")
    return placed


def _farm_secret() -> str:
    secret = os.environ.get("ACD_FARM_AMI_SECRET", "")
    if secret:
        return secret
    path = Path(os.environ.get("ACD_SECRETS_FILE", "/var/lib/acd/secrets.env"))
    for line in path.read_text().splitlines():
        key, _, value = line.strip().partition("=")
        if key == "ACD_FARM_AMI_SECRET":
            return value
    raise SystemExit(f"demo: no ACD_FARM_AMI_SECRET in the environment or in {path}")


async def _main(args: argparse.Namespace) -> int:
    farm = Farm(args.host, args.port, args.user, _farm_secret(), trunk=args.trunk)
    await farm.connect()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    rng = random.Random(args.seed)
    agents, missing = demo_phones(args.routing_agents, args.agents)
    if missing:
        log.warning(
            "demo: no farm phone for the configured endpoint(s) %s (the farm has agent1..agent%d)",
            ", ".join(missing),
            args.agents,
        )
    log.info(
        "demo: the phones of the %d configured agent(s)%s: %s",
        len(agents),
        " log in" if args.login else "",
        " ".join(agents),
    )
    try:
        await setup_demo_agents(farm, agents, rng)
        if args.login:
            for agent in agents:  # agents log in from their phones, as people would
                await farm.agent_dial(agent, "*50")
        placed = await run_demo_traffic(farm, stop, args.calls_per_minute, seed=args.seed)
        log.info("demo: stopped after %d calls", placed)
    finally:
        await farm.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m phonefarm.demo", description=__doc__)
    parser.add_argument("--calls-per-minute", type=float, default=12.0)
    parser.add_argument(
        "-c",
        "--config",
        default=os.environ.get("ACD_CONFIG", "acd.toml"),
        help="the ACD's config file: its agents' phones take part",
    )
    parser.add_argument(
        "--agents",
        type=int,
        default=int(os.environ.get("ACD_FARM_AGENTS", "20")),
        help="phones on the farm (agent1..N)",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging, the libraries' too")
    parser.add_argument(
        "--no-login", dest="login", action="store_false", help="do not have the agents dial *50 (log in) first"
    )
    parser.add_argument("--host", default=os.environ.get("ACD_FARM_AMI_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACD_FARM_AMI_PORT", "5039")))
    parser.add_argument("--user", default=os.environ.get("ACD_FARM_AMI_USER", "farm"))
    parser.add_argument(
        "--trunk",
        choices=("acd", "kamailio"),
        default="acd",
        help="the farm's trunk the callers take: straight to the PBX, or through Kamailio (several PBXs)",
    )
    args = parser.parse_args(argv)
    try:
        args.routing_agents = load(args.config).routing.agents
    except SettingsError as exc:
        parser.error("; ".join(str(p) for p in exc.problems))
    configure_logging(verbose=args.verbose, fmt="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    return asyncio.run(_main(args))


if __name__ == "__main__":
    raise SystemExit(main())
