"""The live wallboard: today's service level per queue, one board per tick, pushed to every screen.

``today`` counts the day's calls from the core's metric updates, ``board`` turns a snapshot into the
payload the page draws, and ``publisher`` builds that payload once per tick for every connected client.
The HTTP side (Server-Sent Events and the static page) is ``acd.http.wallboard``.
"""
