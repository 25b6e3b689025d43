"""The measurement, inside the namespace: the four phases one after another, each on a quiet stack."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass
from typing import Any

from bench.percentiles import percentile
from bench.vs_app_queue.acd_side import ensure_ready
from bench.vs_app_queue.calls import Load
from bench.vs_app_queue.isolation import Paths, pbx_sh
from bench.vs_app_queue.pbx_config import read_secrets
from bench.vs_app_queue.phases import Phase
from bench.vs_app_queue.plan import ACD_DID, APP_QUEUE_DID, log
from bench.vs_app_queue.recorder import Recorder
from bench.vs_app_queue.samples import break_down, checkpoints, entry_and_steps, idle_samples, waiting_samples
from phonefarm import AmiClient, AmiError, Farm
from phonefarm.acd_process import AcdProcess

ACTIVE_CHANNELS = re.compile(r"^([0-9]+) active channels?$", re.MULTILINE)


async def ami_rtt(client: AmiClient, count: int = 50) -> list[float]:
    """Round trips of an AMI Ping from this process, in ms: the price of one sequential ACD action."""
    out = []
    for _ in range(count):
        began = time.perf_counter()
        await client.action({"Action": "Ping"}, timeout=5)
        out.append((time.perf_counter() - began) * 1000.0)
        await asyncio.sleep(0.005)
    return out


async def quiesce(paths: Paths, farm: Farm, within: float = 30.0) -> None:
    """Hang up whatever is left on the farm; wait until neither Asterisk has a channel."""
    with contextlib.suppress(AmiError):
        await farm.hangup_all()
    deadline = time.monotonic() + within
    counts: list[str] = []
    while time.monotonic() < deadline:
        counts = []
        for inst in ("pbx", "farm"):
            shown = await asyncio.to_thread(pbx_sh, paths, "rx", inst, "core show channels count")
            found = ACTIVE_CHANNELS.search(shown)
            counts.append(f"{inst}: {found.group(1) if found else repr(shown)}")
        if counts == ["pbx: 0", "farm: 0"]:
            await asyncio.sleep(0.5)  # device states and the ACD catch up
            return
        await asyncio.sleep(0.3)
    raise RuntimeError(f"channels still up after {within:.0f} s: {', '.join(counts)}")


@dataclass
class Results:
    phases: list[Phase]
    ami_rtt_ms: list[float]  # AMI Ping round trips from this process
    ringing_after_ms: list[float]  # FarmAgentRinging after the farm's Newchannel, per sample
    dump: dict[str, Any]  # every sample with its checkpoints, for --json


async def measure(
    paths: Paths,
    listener_secret: str,
    acd: AcdProcess,
    calls: int,
    warmup: int,
    deadline: float,
    only: str | None = None,
    metric: str | None = None,
) -> Results:
    stack_secrets = read_secrets(paths.secrets)
    rec = Recorder()
    pbx = AmiClient("127.0.0.1", 5038, "bench", listener_secret, name="pbx-listener", history=1000)
    farm = Farm("127.0.0.1", 5039, "farm", stack_secrets["ACD_FARM_AMI_SECRET"])
    await pbx.connect()
    await farm.connect()
    pbx.listen(rec.on_pbx)
    farm.ami.listen(rec.on_farm)
    load = Load(farm, rec)
    phases = [
        Phase("app_queue", "idle", APP_QUEUE_DID, "81"),
        Phase("acd", "idle", ACD_DID, "82"),
        Phase("app_queue", "waiting", APP_QUEUE_DID, "83"),
        Phase("acd", "waiting", ACD_DID, "84"),
    ]
    phases = [p for p in phases if only in (None, p.system) and metric in (None, p.metric)]
    # budget per phase, by how long each usually takes (app_queue's (b) turn-around is ~1 s)
    weights = {("app_queue", "idle"): 0.7, ("acd", "idle"): 0.7, ("app_queue", "waiting"): 1.6, ("acd", "waiting"): 1.0}
    try:
        rtt = await ami_rtt(pbx)
        for i, phase in enumerate(phases):
            await quiesce(paths, farm)
            if phase.system == "acd":
                await asyncio.to_thread(ensure_ready, acd)
            left = deadline - time.monotonic() - 20.0 * (len(phases) - i)
            share = weights[(phase.system, phase.metric)] / sum(weights[(p.system, p.metric)] for p in phases[i:])
            phase_deadline = time.monotonic() + max(30.0, left * share)
            log(
                f"{phase.system} {phase.label}: {calls} samples + {warmup} warm-up "
                f"(at most {phase_deadline - time.monotonic():.0f} s)"
            )
            began = time.monotonic()
            if phase.metric == "idle":
                await load.run_idle(phase, calls, warmup, phase_deadline)
            else:
                await load.run_waiting(phase, calls + warmup + 5, phase_deadline)
            await quiesce(paths, farm)
            await asyncio.sleep(0.5)  # the listener's last events
            samples, phase.excluded = (idle_samples if phase.metric == "idle" else waiting_samples)(rec, phase, warmup)
            phase.samples = samples[:calls]
            break_down(rec, phase)
            entry_and_steps(rec, phase)
            slow = max(5 * percentile([x.ms for x in phase.samples], 50), 50.0)
            phase.outliers = [
                (x, checkpoints(rec, phase, x)) for x in sorted(phase.samples, key=lambda x: -x.ms)[:3] if x.ms > slow
            ]
            ms = [s.ms for s in phase.samples]
            log(
                f"{phase.system} {phase.label}: {len(phase.numbers)} callers in {time.monotonic() - began:.0f} s, "
                f"n={len(ms)} p50={percentile(ms, 50):.1f} ms p99={percentile(ms, 99):.1f} ms "
                f"(excluded {phase.excluded})"
            )
    finally:
        await farm.close()
        pbx.close()
    if rec.untimed:
        raise RuntimeError(f"{rec.untimed} events without a Timestamp header: is timestampevents=yes set?")
    offsets = [(rec.ringing[s.number] - s.end) * 1000.0 for p in phases for s in p.samples if s.number in rec.ringing]
    dump = {
        "ami_rtt_ms": rtt,
        "phases": [
            {
                "system": p.system,
                "metric": p.metric,
                "excluded": p.excluded,
                "callers": len(p.numbers),
                "from_entry_ms": p.from_entry,
                "step_costs_ms": p.step_costs,
                "samples": [
                    {
                        "number": s.number,
                        "channel": rec.channel.get(s.number, ""),
                        "agent": s.agent,
                        "previous": s.previous,
                        "start": s.start,
                        "end": s.end,
                        "ms": s.ms,
                        "checkpoints": checkpoints(rec, p, s),
                    }
                    for s in p.samples
                ],
            }
            for p in phases
        ],
    }
    return Results(phases, rtt, offsets, dump)
