from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only through a domain's services (so rules, history and audit stay whole): the
    admin shows them and changes nothing."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
