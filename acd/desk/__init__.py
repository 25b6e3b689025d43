"""The agent desktop's server side: what one agent's screen shows, pushed to it as it changes.

``view`` turns the core's snapshot into one agent's desk (state, and the call ringing them or being
handled by them), ``lookup`` finds that call's caller, customer record and recent history in
PostgreSQL, and ``publisher`` builds each watched agent's desk on a tick or after a change and hands
it to that agent's open streams. The HTTP side is ``acd.http.v1.agent_stream`` (the stream) and
``acd.http.agent_page`` (the page at ``/agent``).
"""
