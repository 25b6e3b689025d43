"""A day without drift: a long run of traffic on the real PBX and phone farm, then checks that nothing piled up.

Run, from the repo root: ``sudo .venv/bin/python -m bench.soak [--minutes 60]``. It stops on its own
after ``--minutes`` of traffic plus a drain (the callers still in the system finish, at most a few
minutes), prints each check with its figure and PASS or FAIL, and exits non-zero on any FAIL (also when
it cannot run: not root, no built Asterisk root). ``tests/soak`` runs it for five minutes.

Traffic (``traffic``): a real ``acd run`` with its embedded PostgreSQL, three queues (billing,
support, sales) and 20 agents (8 billing, 6 support, 2 sales, 4 billing and support); the demo's
callers (phonefarm/demo.py, its mix of numbers and IVR choices) at 30 a minute with a patience of
15-60 s; phones answering after 1-3 s and talking 15-60 s, two letting it ring (misses: the ACD pauses
them, ``missed``); every 6-14 s an agent pauses, resumes, logs out or logs in, half through the HTTP
API and half from the phone's feature codes, at most four away at once. Billing and support overflow
after 75 s, sales after 5 s, all to the fallback (an apology and a hang-up, over before the most
impatient caller gives up, so the farm can tell an overflow from an abandon): callers are answered,
abandon, or overflow.

Checks (``checks``), each against what the farm lived (``ledger``, from the farm's own events):

- footprint RSS / fds: the ACD's resident memory and open file descriptors, read from /proc every
  3 s (``footprint``); the median over a window right after the warm-up against the median over the
  last window of the traffic must grow less than 5 %. The warm-up is the first ten minutes, or, for a
  run shorter than 50 minutes, its first fifth (the output says which); the window is a tenth of the
  run, 15 s to 2 min. The figure also gives the trend after the warm-up (least squares, per hour).
  Some memory grows with the calls by design until its window is full: the 15-minute windows of the
  service level and the forecast, and OTF's ledger of the last day's calls (docs/kpis.md).
- channels: none left on either Asterisk (PBX and farm) after the drain.
- agents: every agent in the state the script left it in (ready, paused, logged out; an agent left
  ready may be paused ``missed`` by the ACD), none reserved, on a call or in wrap-up.
- records: every call the PBX answered has exactly one interaction in PostgreSQL, matched by the
  caller's number (unique per call), with the farm's outcome: the caller talked to an agent
  (answered), gave up (abandoned) or was hung up on by the PBX (overflowed); no interaction of an
  unknown caller.
- metrics: ``acd_calls_{offered,answered,abandoned,overflowed}_total`` by queue in /metrics equal
  the interactions.

Isolation: exactly that of the benchmark against app_queue (bench/vs_app_queue/__init__.py; the code
is bench/vs_app_queue/isolation.py): its own network namespace (``--netns``, default ``acdsoak``), its
own copy of the Asterisk root (``--root``, default /var/cache/acd/asterisk-root-soak) and state dir
(``--state-dir``, default /var/lib/acd-soak), its own lock (/run/lock/acd-soak.lock), everything
cleaned up after, also on a failure, a timeout or Ctrl-C. It never touches a running stack.

The package, by job: ``plan`` (config, rates, bounds), ``traffic`` (callers, phones, agents'
actions), ``ledger`` (the farm's outcome of each call), ``footprint`` (/proc samples), ``checks``,
``run`` (outside and inside, the command line). ``bench/bench_soak.py`` is what ``make bench`` runs.
"""
