"""The ACD against Asterisk's own app_queue: same real PBX, same phone farm, same agents, one run.

Run, from the repo root: ``sudo .venv/bin/python -m bench.bench_vs_app_queue [--calls 200]`` (also part
of ``make bench``; without root it prints SKIPPED and exits 0). About 5-6 minutes (``--time-limit``,
default 600 s, bounds it). It copies the Asterisk root that ``deploy/asterisk/pbx.sh build`` makes (read-only) and needs
nothing else. Exit code 0 when every phase got its samples (the targets are reported, not enforced).
Other options: ``--only acd|app_queue`` (one system), ``--metric idle|waiting`` (one load: with
``--only acd``, one phase), ``--no-event-filter`` (the ACD's AMI user without its ``eventfilter``
lines, a control for what they save), ``--json FILE`` (every sample and the PBX events on its way),
``--acd-command CMD`` (run another ACD build, e.g. another checkout's
``.venv/bin/python -m acd``), ``--keep``, ``--no-netns`` (where nothing else uses the PBX ports).

Isolation (why it never disturbs a running stack): other work on this machine (the e2e tests, ``make run``)
uses the PBX on loopback ports 5038/5039/5060/5070, the root /var/cache/acd/asterisk-root and the state
dir /var/lib/acd. This benchmark uses none of them. It

1. creates a network namespace (``--netns``, default ``acdbench``) with only ``lo`` up, so its PBX, phone
   farm, ACD and embedded PostgreSQL get a loopback of their own, same port numbers, no clash;
2. copies the Asterisk root (``cp -a``, with its build marker, so pbx.sh sees it as fresh and does not
   rebuild) to ``--root`` (default /var/cache/acd/asterisk-root-bench), dropping the copy's astdb, and
   uses the state dir ``--state-dir`` (default /var/lib/acd-bench, secrets in its secrets.env);
3. runs itself again inside the namespace (``ip netns exec``), where it runs ``pbx.sh build`` (a no-op on
   the fresh copy; a debootstrap into the bench root only if there was no root to copy), ``pbx.sh
   install``, adds the benchmark-only configuration below to the copy, ``pbx.sh start all``, starts
   ``python -m acd run`` with its own embedded PostgreSQL under the state dir, and measures;
4. always cleans up, also after a failure, a timeout (``--time-limit``) or Ctrl-C: the ACD (SIGTERM; its
   PostgreSQL stopped with pg_ctl if it is left), ``pbx.sh stop all`` for the bench root, any process still
   in the namespace (only this benchmark's processes live there), the namespace, the root copy and the
   state dir (``--keep`` keeps the last two: the next run reuses the copy and saves ~4 s).

A lock file (/run/lock/<state dir name>.lock) keeps two runs apart.

Benchmark-only configuration, written into the root copy only (nothing in the repository changes):

- ``queues.conf``: queue ``bench``, members PJSIP/agent11..agent14 (static), ``strategy=rrmemory``,
  ``ringinuse=no``, ``wrapuptime=0``, ``memberdelay=0``, ``autofill=yes`` (also in [general]),
  ``timeout=15``, ``retry=5`` (the default, written out), no announcements, ``joinempty=yes``,
  ``leavewhenempty=no``, ``persistentmembers=no``; every other option at app_queue's default. Two
  defaults matter here: a waiting caller re-checks whether it is its turn only once a second
  (``RECHECK`` in app_queue.c), and after a round that rang nobody it waits ``retry`` s.
- ``modules.conf``: ``load => app_queue.so`` (the PBX's explicit module list lacks it).
- ``acd-bench.conf``, #included by ``extensions.conf``, adds to ``acd-inbound`` (the trunk's context):
  ``900`` = ``Answer(), UserEvent(BenchEntry), Queue(bench)`` (app_queue) and ``901`` = ``Answer(),
  UserEvent(BenchEntry), Gosub(acd-enqueue,s,1(bench,5))`` (the ACD's contract, docs/dialplan.md, like
  the product's numbers 200..400; acd-enqueue's own ``Answer()`` then finds the caller answered).
  ``BenchEntry`` is the same point on both ways, past the ``Answer()`` (which waits up to 0.5 s for the
  caller's first media) and before either system's first step.
- ``manager.conf``: a read-only AMI user ``bench`` (read=call,user,agent,dialplan; write none; random
  secret per run): the benchmark's second listener on the PBX, for timestamps only. ``--no-breakdown``
  drops the dialplan class (no Newexten/VarSet to format for it): a control for the listener's own load.

The ACD runs with one queue ``bench`` (wrapup 0, ring timeout 15 s) whose agents are the same four
endpoints agent11..agent14; they log in over the HTTP API.
``--claim`` runs it with ``[routing] claim_on_pbx = true`` (docs/dialplan.md, "Claims"): a caller
then claims the published agent in acd-enqueue and ``AcdEnqueue`` is raised by acd-connect just
before the ``Dial``, so (a) leaves out the claim's own steps; the breakdown prints the time from
past acd-enqueue's ``Answer()`` to ``AcdEnqueue``, and "(a) from the dialplan's entry" counts both
systems from ``BenchEntry`` (above), which leaves nothing of either way out: that is the figure to
compare with claims on. Both systems run side by side all the time
(the ACD stays connected during the app_queue phases, so the PBX carries the same AMI load in all of
them); each phase sends callers to one system only: 900 or 901.

What is measured (Asterisk's own ``Timestamp`` header of AMI events; ``timestampevents=yes`` on both
Asterisks; both run on this host's clock):

- (a) an agent is idle: from the caller entering the queue - the PBX's ``UserEvent AcdEnqueue`` (ACD)
  or ``QueueCallerJoin`` (app_queue) - to the agent's phone receiving the INVITE: the farm's
  ``Newchannel`` for that agent (context farm-in, exten agentN, CallerIDNum = the caller's number).
  That is the earliest AMI signal of the INVITE's arrival (the channel is made while the INVITE is
  handled); the farm's ``FarmAgentRinging`` UserEvent comes ~0.5 ms later, after 11 dialplan steps, and
  its median offset is printed too. Load: at most 4 callers placed and not yet gone, so each finds at
  most 3 of the 4 agents busy (the phone answers after 0.05 s and talks 0.2 s; the caller spends 0.5 s
  in ``Answer()`` before it enters the queue, in both systems); a sample counts only if an agent was idle
  and no other caller was waiting when the caller entered the queue (``excluded`` counts the others).
- (b) callers are waiting: from an agent's previous call ending - the farm's ``FarmAgentHangup``
  (raised by the phone's hangup handler, just before its BYE leaves) - to the same agent's phone
  receiving the next INVITE (farm ``Newchannel`` as above). Load: 8 callers kept waiting for the 4
  agents (answer after 0.2 s, talk 1 s); a sample counts only if some caller was waiting at that
  moment.

(a) from the dialplan's entry: from ``BenchEntry`` (above) to the same INVITE, for both systems; and,
for the ACD, the cost of each of its caller's dialplan steps from there (a step's Newexten to the next
one's: the step's own run and the substitution of the next step's arguments, which happens before its
Newexten; the last step, the ``Dial``, to the INVITE), on the path most samples took (needs the
dialplan class: not with ``--no-breakdown``).

Each figure is p50 and p99 over ``--calls`` samples (default 200) per system, after ``--warmup``
samples (default 10) are dropped. Targets printed against: (a) ACD p50 within 2 ms of app_queue's
p50; (b) ACD p50 at most 5 ms. Then, to show where the time goes, each path split at the PBX events
between the two ends: AMI ``VarSet`` of the ACD's ``Setvar``s (only for an offer in the old form: one
in a single ``Redirect`` has none), ``Newexten`` of acd-connect,1 (the ``Redirect`` landed) and of its ``Dial``,
``AcdDialResult`` (the ACD learns that a call ended), app_queue's ``QueueMemberStatus``, and the
PBX's ``Newchannel`` of the outgoing agent leg (``DialBegin`` is no use here: it is published after
the INVITE may already have arrived). Also: the slowest samples (above 5x p50) with those events, and
the round trip of an AMI ``Ping`` from this process, the price of one sequential ACD action.

Caveats: the machine's CPUs are shared with whatever else runs (other engineers' e2e tests, for one),
so single figures move between runs; the comparison within one run is the point. An AMI event's
Timestamp is taken when Asterisk's manager formats it, a fraction of a millisecond after the fact,
and equally so for both systems.

The package, by job: ``plan`` (agents, numbers, loads, targets), ``isolation`` (namespace, root copy,
state dir, clean-up: outside; the soak, bench/soak, runs in it too), ``pbx_config`` (queue ``bench``,
numbers 900/901, the listener),
``acd_side`` (the ACD as a process, its agents ready), ``recorder`` (the two Asterisks' events),
``phases`` (a phase and its samples), ``calls`` (driving the farm's callers), ``samples`` (the samples
from the events, and their breakdown), ``measure`` (the
phases), ``report`` (the figures), ``run`` (inside the namespace, and the command line);
``bench/bench_vs_app_queue.py`` is the entry point.
"""
