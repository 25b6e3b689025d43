"""Tooling around the ACD for the e2e tests, the benchmarks and the demo; not part of the product.

It lives beside the ``acd`` package, not in it, so the installed ACD (the wheel ships ``acd*`` only)
carries none of it. Mainly the phone farm: a second Asterisk that plays callers and agents' phones.
``Farm`` drives it over AMI (deploy/farm holds its configuration, deploy/asterisk/pbx.sh runs it);
``AmiClient`` is the small panoramisk wrapper both the farm and the e2e tests use; ``demo`` is the
traffic of ``make run``. Beside it, what the tests and benchmarks start around the farm: the ACD
itself as a process (``acd_process``) and a free port for a server (``ports``).
"""

from phonefarm.ami import AmiClient, AmiError, AmiEvent
from phonefarm.farm import AgentMode, Farm

__all__ = ["AgentMode", "AmiClient", "AmiError", "AmiEvent", "Farm"]
