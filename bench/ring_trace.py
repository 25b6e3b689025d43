"""The ACD's own share of (b) in ``bench_vs_app_queue``: a wrapper that traces the real ``acd`` command.

Why: ``bench_vs_app_queue`` sees the ACD from the PBX's side only (Asterisk's event timestamps), so its
step "AcdDialResult -> Redirect: acd-connect,1 runs" mixes three parts: the PBX delivering the event,
the ACD deciding, and the PBX carrying out the ``Redirect``. This runs the real ``acd`` command with four
methods wrapped (as ``bench_ring_path`` does) and appends one line per moment to the file named by
``ACD_RING_TRACE``, in epoch seconds (the PBX's ``Timestamp`` is on the same clock)::

    in <epoch> <epoch after parsing> <events in this read> <Event names> <UserEvent names>
    ended <epoch>       a CallEnded reaches the runtime (parsed, translated)
    ring <epoch>        the core's ring reaches call control
    out <epoch> Redirect <channel>

Run (root, from the repo root)::

    ACD_RING_TRACE=/tmp/trace bench_vs_app_queue --only acd --metric waiting --json /tmp/b.json \\
        --acd-command "$PWD/.venv/bin/python $PWD/bench/ring_trace.py"
    python -m bench.ring_trace /tmp/trace /tmp/b.json

The report splits each sample's step at the ACD's read of the ``AcdDialResult`` and at its write of the
``Redirect``, and the ACD's part again at the moments above. The wrappers cost a few µs per read.
"""

from __future__ import annotations

import bisect
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

STEP_START = "AcdDialResult (call ended, PBX)"
STEP_END = "Redirect: acd-connect,1 runs"


def install(path: str) -> None:
    """Wrap the session's reads and writes, the runtime's delivery and call control's ring."""
    from acd.ami.control import AmiCallControl
    from acd.ami.session import AmiSession
    from acd.core.events import CallEnded
    from acd.runtime import Runtime

    out = open(path, "a", buffering=1)  # noqa: SIM115  # open for the life of the process
    received, submit, deliver, ring = (
        AmiSession.data_received, AmiSession.submit, Runtime.deliver, AmiCallControl.ring,
    )  # fmt: skip

    def data_received(session: Any, data: bytes) -> None:
        at = time.time()
        lines = data.split(b"\r\n")
        names = [line[7:].decode(errors="replace") for line in lines if line.startswith(b"Event: ")]
        users = [line[11:].decode(errors="replace") for line in lines if line.startswith(b"UserEvent: ")]
        received(session, data)
        out.write(f"in {at:.6f} {time.time():.6f} {len(names)} {','.join(names) or '-'} {','.join(users) or '-'}\n")

    def submit_(session: Any, action: Any, *args: Any, **kwargs: Any) -> Any:
        result = submit(session, action, *args, **kwargs)
        if action.get("Action") == "Redirect":
            out.write(f"out {time.time():.6f} Redirect {action.get('Channel', '')}\n")
        return result

    def deliver_(runtime: Any, event: Any) -> bool:
        if isinstance(event, CallEnded):
            out.write(f"ended {time.time():.6f}\n")
        return bool(deliver(runtime, event))

    def ring_(control: Any, *args: Any, **kwargs: Any) -> Any:
        out.write(f"ring {time.time():.6f}\n")
        return ring(control, *args, **kwargs)

    AmiSession.data_received = data_received  # type: ignore[method-assign,assignment]
    AmiSession.submit = submit_  # type: ignore[method-assign,assignment]
    Runtime.deliver = deliver_  # type: ignore[method-assign,assignment]
    AmiCallControl.ring = ring_  # type: ignore[method-assign,assignment]


def _after(times: list[float], at: float, until: float) -> float | None:
    i = bisect.bisect_left(times, at)
    return times[i] if i < len(times) and times[i] <= until else None


def report(trace: Path, samples: Path) -> None:
    """Each (b) sample's step from AcdDialResult to acd-connect, split at the ACD's read and write."""
    from bench.percentiles import percentile  # here: the wrapper runs as a script, without the repo on its path

    rows = [line.split(" ") for line in trace.read_text().splitlines()]
    reads = sorted((float(r[1]), int(r[3])) for r in rows if r[0] == "in" and "AcdDialResult" in r[5])
    read_at = [t for t, _ in reads]
    ended = sorted(float(r[1]) for r in rows if r[0] == "ended")
    rings = sorted(float(r[1]) for r in rows if r[0] == "ring")
    writes: dict[str, list[float]] = {}
    for r in rows:
        if r[0] == "out":
            writes.setdefault(r[3], []).append(float(r[1]))
    spans: dict[str, list[float]] = {
        "PBX: AcdDialResult raised -> the ACD reads it": [],
        "ACD: read -> Redirect written": [],
        "PBX: Redirect written -> acd-connect,1 runs": [],
        "  ACD: read -> CallEnded to the runtime (parse, translate)": [],
        "  ACD: CallEnded -> ring ordered (the core)": [],
        "  ACD: ring ordered -> Redirect written (call control)": [],
    }
    events: list[float] = []
    phase = json.loads(samples.read_text())["phases"][-1]
    for sample in phase["samples"]:
        points = dict(sample["checkpoints"])
        raised, landed = points.get(STEP_START), points.get(STEP_END)
        if raised is None or landed is None:
            continue
        read = _after(read_at, raised, landed)
        written = _after(sorted(writes.get(sample["channel"], [])), read or landed, landed)
        if read is None or written is None:
            continue
        values = [raised, read, written, landed]
        for name, a, b in zip(list(spans)[:3], values, values[1:], strict=False):
            spans[name].append((b - a) * 1000)
        events.append(reads[read_at.index(read)][1])
        handed, ordered = _after(ended, read, written), _after(rings, read, written)
        if handed is not None and ordered is not None:
            inner = [read, handed, ordered, written]
            for name, a, b in zip(list(spans)[3:], inner, inner[1:], strict=False):
                spans[name].append((b - a) * 1000)
    print(f"(b) AcdDialResult -> acd-connect,1, split (n={len(spans['ACD: read -> Redirect written'])}), ms:")
    for name, values in spans.items():
        if values:
            print(f"  {name:<62} p50 {percentile(values, 50):6.2f}  p90 {percentile(values, 90):6.2f}")
    if events:
        print(f"  events in the read that held the AcdDialResult: p50 {percentile(events, 50):.0f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and not sys.argv[1].startswith("-"):
        report(Path(sys.argv[1]), Path(sys.argv[2]))
        sys.exit(0)
    if os.environ.get("ACD_RING_TRACE"):
        install(os.environ["ACD_RING_TRACE"])
    from acd.cli import main

    sys.exit(main())
