"""Whole-system commands (serve, demo, simulate): the top layer, next to the edges."""
