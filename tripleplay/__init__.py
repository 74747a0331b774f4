"""Tripleplay: converged real-time billing for IPTV, internet, voice and messaging."""

__version__ = "0.1.0"
