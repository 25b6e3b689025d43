"""The phone farm: a second Asterisk that plays callers and agents' phones for e2e tests and the demo.

``Farm`` drives it over AMI (deploy/farm holds its configuration, deploy/asterisk/pbx.sh runs it);
``AmiClient`` is the small panoramisk wrapper both the farm and the e2e tests use.
"""

from acd.farm.ami import AmiClient, AmiError, AmiEvent
from acd.farm.farm import AgentMode, Farm

__all__ = ["AgentMode", "AmiClient", "AmiError", "AmiEvent", "Farm"]
