"""A customer's phone in the operator UI: stored in E.164, a number that is not refused with a clear message
and nothing saved (D203)."""

from __future__ import annotations

from tripleplay.customers.models import Customer


def test_the_contact_form_stores_e164_and_refuses_a_national_number(world, login):
    admin = login("admin")
    c = world.customer
    page = f"/customers/{c.pk}/edit/"
    r = admin.post(f"/customers/{c.pk}/update", {"name": c.name, "phone": "+49 (0)151 1234-5678"}, HTTP_REFERER=page)
    assert r.status_code == 302
    assert Customer.objects.get(pk=c.pk).phone == "+4915112345678"
    r = admin.post(f"/customers/{c.pk}/update", {"name": c.name, "phone": "0151 12345678"}, HTTP_REFERER=page,
                   follow=True)
    assert "phone must be an international number in E.164 form, such as +4915112345678" in r.content.decode()
    assert Customer.objects.get(pk=c.pk).phone == "+4915112345678"


def test_sign_up_refuses_a_phone_without_its_country_code(world, login):
    admin = login("admin")
    before = Customer.objects.count()
    r = admin.post("/customers/new/submit", {
        "name": "Neu Kunde", "currency": "EUR", "balance_model": "prepaid", "phone": "030 1234567",
        "tv_plan": str(world.cat.tv_plan.pk), "tv_login": "neu-tv"})
    assert r.status_code == 422  # the form again, with what was typed and what is wrong
    assert "phone must be an international number in E.164 form" in r.content.decode()
    assert Customer.objects.count() == before
