"""Connection settings for the AMI link, as one frozen value built once at start.

``LinkSettings`` is what the link needs, timeouts and back-off included; the config file's ``[ami]``
section (``acd.settings.AmiSettings``) is what an operator sets, and ``acd.bootstrap`` builds this from it.
The secret comes from the caller (the service reads ``ACD_AMI_SECRET`` from the environment) and
is kept out of ``repr`` so it never lands in a log line or a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Where Asterisk is, who we are, and how hard to hold on.

    ``ping_interval``/``ping_timeout``: a Ping every interval must be answered within the timeout,
    else the link is judged half-open and dropped (TCP alone can take minutes to notice).
    ``backoff_*``: reconnect delays grow from ``backoff_initial`` doubling up to ``backoff_max``;
    they fall back to the initial value once a connection has stayed up ``stable_after`` seconds,
    so a PBX that accepts and immediately drops us is not hammered.
    """

    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "acd"
    secret: str = field(default="", repr=False)
    events: str = "on"
    ping_interval: float = 2.0
    ping_timeout: float = 3.0
    connect_timeout: float = 5.0
    login_timeout: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    backoff_jitter: float = 0.2
    stable_after: float = 10.0
    action_timeout: float = 5.0

    def __post_init__(self) -> None:
        if self.ping_interval <= 0 or self.ping_timeout <= 0:
            raise ValueError("ping_interval and ping_timeout must be positive")
        if not 0 < self.backoff_initial <= self.backoff_max:
            raise ValueError("need 0 < backoff_initial <= backoff_max")
        if not 0 <= self.backoff_jitter < 1:
            raise ValueError("backoff_jitter is a fraction in [0, 1)")
