"""How much one PBX carries with app_queue and with the ACD, and two PBXs behind Kamailio with the ACD.

Run, from the repo root: ``sudo .venv/bin/python -m bench.bench_capacity`` (also part of ``make bench``;
without root it prints SKIPPED and exits 0). At most ``--time-limit`` s (default 600, stack start
included; a step that would begin later is skipped and said so); 6-9 minutes by default. Exit code
0 when some step ran (the highest loads are reported, not enforced). It copies the Asterisk root that
``deploy/asterisk/pbx.sh build`` makes (read-only) and needs Kamailio (``make kamailio``) for (c).

Three set-ups, one after the other, on the same PBX, the same phone farm and the same 60 agents
(agent1..agent60, answering after 0.05 s and talking 0.5 s, so they are never what runs out):

- (a) one PBX, app_queue: number 900, ``Queue(bench)`` with the 60 agents as static members
  (bench/vs_app_queue/pbx_config.py: ``rrmemory``, ``ringinuse=no``, no announcements); the ACD is not
  running;
- (b) one PBX, the ACD: number 901, ``Gosub(acd-enqueue,...)`` into the ACD's queue ``bench`` with the
  same agents, logged in over the HTTP API (``acd run`` with its embedded PostgreSQL);
- (c) two PBXs behind Kamailio, the ACD: pbx2 (``pbx.sh start pbx2``) beside the PBX, Kamailio
  (deploy/kamailio/kamailio.cfg) dispatching the callers over both (round robin) and the phones'
  registrar (each phone registers with it as well as with the PBX); the ACD with ``[[pbx]]`` pbx and
  pbx2 (each with ``systemname`` set) and ``[kamailio]`` (reachability from Kamailio's location table,
  docs/pbxs.md); callers enter through Kamailio.

Each set-up runs two kinds of step, each load higher than the last, stopping at the first that fails:

- call rate (``--rates``, default 8, 16, 32, 48, 64 calls/s, each for ``--step-seconds``, default 8):
  callers placed on a fixed schedule, each answered by an idle agent. It fails when more than 1 % of
  its callers never rang a phone (the call failed, or the caller was not answered within 20 s), or when
  p95 of the time to ring an idle agent is above 500 ms: from the caller entering the queue (the PBX's
  ``QueueCallerJoin``, or ``UserEvent AcdEnqueue``) to the agent's phone receiving the INVITE (the
  farm's ``Newchannel``), both from Asterisk's own event ``Timestamp``.
- callers held waiting (``--holds``, default 100, 200, 400, 600 at once): that many callers placed at
  20 a second into a queue no agent serves (902: app_queue's ``benchhold`` without members; 903: the
  ACD's ``benchhold``, a skill no agent has), held together 5 s, then hung up. It fails when a caller
  did not enter the queue or was gone before the end, or when p95 of call placed to caller in the
  queue is above 2 s (the farm's originate to the PBX's event: this host's one clock).

For every step it prints the load, the outcome and the CPU seconds per caller of each process, read
from /proc before and after the step (utime + stime, threads included): the PBX, pbx2, the farm, the
ACD, its PostgreSQL, Kamailio and this driver. Each process's idle CPU (measured for 3 s before each
set-up's first step, with no call up) times the step's length is taken out first, so the figure is
what the calls cost. Then the highest load each set-up held, the cost per call of each part over its
passing rate steps and over all of its steps together (the ACD writes its records in batches, so part
of a busy step's work lands in a later one: a busy step's own figure for the ACD and PostgreSQL is too
low, the total is not), and the ratios of (b) and (c) to (a) from the same run. The farm (callers and
phones, one Asterisk) shares the machine: at the top steps it is as busy as the PBX, so a failing
step says this machine ran out, not which part.

Caveats: the machine's CPUs are shared with whatever else runs (other engineers' tests, soaks), so
single figures move between runs; compare the set-ups by the ratios of one run.

Isolation: that of the benchmark against app_queue (bench/vs_app_queue/__init__.py, the code in
bench/vs_app_queue/isolation.py): its own network namespace (``--netns``, default ``acdcap``), its own
copy of the Asterisk root (``--root``, default /var/cache/acd/asterisk-root-capacity) and state dir
(``--state-dir``, default /var/lib/acd-capacity), a lock, and everything it started stopped and removed
afterwards, also after a failure, a timeout or Ctrl-C. Kamailio's run files are in a temporary folder.

The package, by job: ``plan`` (agents, numbers, steps, criterion), ``stack`` (the root copy's extra
configuration, Kamailio, the ACD's config), ``cpu`` (/proc by process), ``steps`` (a step and its
outcome), ``report`` (the figures), ``run`` (inside the namespace, and the command line);
``bench/bench_capacity.py`` is the entry point.
"""
