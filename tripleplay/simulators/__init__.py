"""Stand-alone fake IPTV platforms, one module per wire protocol (see base.py)."""
