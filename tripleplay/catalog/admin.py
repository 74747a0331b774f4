from django.contrib import admin

from tripleplay.catalog.models import PlanAllowance, Product, ProductService, SubscriptionPlan


class ProductServiceInline(admin.TabularInline):
    model = ProductService
    extra = 0


class PlanAllowanceInline(admin.TabularInline):
    model = PlanAllowance
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "currency", "status"]
    list_filter = ["kind", "status", "currency"]
    search_fields = ["code", "name"]
    inlines = [ProductServiceInline]

    def has_delete_permission(self, request, obj=None):
        return False  # retire instead (catalog.services.retire_product / delete_product)


@admin.register(SubscriptionPlan)
class SubscriptionPlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "product", "periodic_fee_minor", "period", "charge_mode", "status"]
    list_filter = ["period", "charge_mode", "status"]
    search_fields = ["code", "name"]
    inlines = [PlanAllowanceInline]

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(ProductService)
admin.site.register(PlanAllowance)
