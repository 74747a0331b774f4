"""A server-rendered SVG bar chart (no JavaScript chart library: the page works on closed networks
and without scripts). Values are integer minor units; labels show the formatted amounts."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tripleplay.money import Money


def bar_chart(rows: list[tuple[str, int, str]], *, width: int = 560, bar: int = 22, gap: int = 10,
              label_width: int = 170) -> SafeString:
    """rows: (label, minor units, currency). Horizontal bars scaled to the largest value."""
    if not rows:
        return mark_safe('<p class="muted">No revenue in this period yet.</p>')
    top = max(max(v for _, v, _ in rows), 1)
    plot = width - label_width - 110
    height = len(rows) * (bar + gap) + gap
    parts = [f'<svg class="chart" role="img" aria-label="Revenue by service" width="100%" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value, currency) in enumerate(rows):
        y = gap + i * (bar + gap)
        w = max(0, round(plot * value / top))
        parts.append(f'<text x="{label_width - 8}" y="{y + bar * 0.7:.1f}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect class="bar" x="{label_width}" y="{y}" width="{w}" height="{bar}" rx="3"></rect>')
        shown = escape(Money(value, currency).format())
        parts.append(f'<text x="{label_width + w + 6}" y="{y + bar * 0.7:.1f}">{shown}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
