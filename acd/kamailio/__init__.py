"""Kamailio's view of the floor, read over its JSON-RPC control socket (docs/pbxs.md, docs/kamailio.md).

Behind Kamailio, the agents' phones register with the proxy, not with a PBX, and the proxy's
dispatcher knows which PBXs answer. The ACD reads both, every few seconds, each read the whole truth:
``rpc`` speaks JSON-RPC over Kamailio's unix datagram socket, ``view`` checks and parses its replies
(``ul.dump``, ``dispatcher.list``), ``reader`` turns each read into the agents' reachability.
"""
