from django.core.paginator import Paginator
from django.shortcuts import render


def show(request, template: str, section: str, **context):
    return render(request, f"web/{template}", {"section": section, **context})


def paginate(request, queryset, per_page: int = 50):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def clean(value: str | None) -> str | None:
    """A form field: stripped text, or None when blank (identifiers are cleared with None)."""
    value = (value or "").strip()
    return value or None
