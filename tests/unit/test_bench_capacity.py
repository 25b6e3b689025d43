"""The capacity benchmark's bookkeeping (bench/capacity): which process is which part, and a step's cost net of idle."""

from __future__ import annotations

import pytest

from bench.capacity.cpu import part_of
from bench.capacity.plan import SYSTEMS
from bench.capacity.report import cost, highest
from bench.capacity.steps import Step


def test_each_process_is_told_by_its_command_line() -> None:
    assert part_of("/usr/sbin/asterisk\0-f\0-U\0asterisk\0") == "pbx"
    assert part_of("/usr/sbin/asterisk\0-f\0-C\0/etc/asterisk-pbx2/asterisk.conf\0") == "pbx2"
    assert part_of("/usr/sbin/asterisk\0-f\0-C\0/etc/asterisk-farm/asterisk.conf\0") == "farm"
    assert part_of("/usr/sbin/kamailio\0-f\0/x/kamailio.cfg\0") == "kamailio"
    assert part_of("postgres: acd acd 127.0.0.1(5000) idle\0") == "postgres"
    assert part_of("/v/bin/postgres\0-D\0/s/pg/pgdata\0") == "postgres"
    assert part_of("/v/bin/python\0-m\0acd\0run\0-c\0/s/acd.toml\0") == "acd"
    assert part_of("/v/bin/python\0-m\0bench.bench_capacity\0--inside\0") == "driver"
    assert part_of("/bin/bash\0deploy/asterisk/pbx.sh\0rx\0") is None


def step(load: float, calls: int, acd_cpu: float, failure: str = "") -> Step:
    s = Step(SYSTEMS[1], "rate", load, "9110")
    s.placed = {f"n{i}": 0.0 for i in range(calls)}
    s.seconds = 10.0
    s.cpu = {"acd": acd_cpu}
    s.idle = {"acd": 0.01}  # 1 % of a core with no call: 0.1 s over the step
    s.failure = failure
    return s


def test_a_steps_cost_is_net_of_the_idle_cpu_and_the_highest_load_is_the_highest_that_passed() -> None:
    low, high, failed = step(4, 40, 0.5), step(8, 80, 0.9), step(16, 160, 5.0, "p95 ring 900 ms > 500 ms")
    assert low.per_caller_ms("acd") == pytest.approx(10.0)  # (0.5 - 0.1) s over 40 callers
    assert high.per_caller_ms("acd") == pytest.approx(10.0)
    assert highest([low, high, failed], "acd", "rate") is high
    assert cost([low, high, failed], "acd", "rate", ("acd",)) == pytest.approx(10.0)  # the failed step is left out
