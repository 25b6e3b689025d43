"""The pure routing core: ``Acd.handle(event, now) -> list[Command]``.

Nothing in this package does I/O, imports asyncio, reads a clock or draws random numbers.
Time arrives as the ``now`` argument (seconds since the epoch, a float); timers are events.
"""
