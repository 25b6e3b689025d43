"""A discrete-event simulator that drives the routing core on a virtual clock (``acd simulate``)."""
