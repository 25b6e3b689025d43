"""acd: an automatic call distributor that runs beside Asterisk."""

__version__ = "0.1.0"
