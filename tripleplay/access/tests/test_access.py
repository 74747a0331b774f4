from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from tripleplay import clock
from tripleplay.access.models import ApiClient, OperatorProfile
from tripleplay.access.selectors import TOKEN_PREFIX_LEN, api_client_for_token, hash_token, operator_actor, role_of_user
from tripleplay.access.services import create_api_client, create_operator, revoke_api_client, touch_api_client
from tripleplay.audit.models import AuditEvent
from tripleplay.core.actors import Actor, ActorKind, Role
from tripleplay.core.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_api_client_token_authenticates_and_only_its_hash_is_stored(actor):
    clock.freeze(T0)
    client, token = create_api_client(actor, name=" billing-bot ", role="finance")
    assert token.startswith("tp_") and len(token) >= 40
    assert api_client_for_token(token) == client
    row = ApiClient.objects.filter(pk=client.pk).values().get()
    assert row["name"] == "billing-bot" and row["role"] == "finance" and row["created_at"] == T0
    assert row["token_hash"] == hash_token(token) and len(row["token_hash"]) == 64
    assert row["token_prefix"] == token[:TOKEN_PREFIX_LEN]
    assert all(token not in str(value) for value in row.values())  # the token itself is nowhere
    event = AuditEvent.objects.get(action="api_client.created", object_id=str(client.pk))
    assert event.data == {"name": "billing-bot", "role": "finance"}
    assert token not in str(event.data)
    actor_of_client = Actor.api_client(client)
    assert (actor_of_client.kind, actor_of_client.role, actor_of_client.name) == (
        ActorKind.API_CLIENT, Role.FINANCE, "billing-bot")


def test_tokens_are_unique_per_client(actor):
    a, token_a = create_api_client(actor, name="a", role="support")
    b, token_b = create_api_client(actor, name="b", role="admin")
    assert token_a != token_b
    assert api_client_for_token(token_a) == a and api_client_for_token(token_b) == b


@pytest.mark.parametrize(
    "token",
    ["", None, "tp_wrong", "x" * 201],
)
def test_unknown_tokens_do_not_authenticate(actor, token):
    create_api_client(actor, name="bot", role="admin")
    assert api_client_for_token(token) is None


def test_a_token_with_the_right_prefix_but_wrong_rest_does_not_authenticate(actor):
    _, token = create_api_client(actor, name="bot", role="admin")
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert api_client_for_token(forged) is None
    assert api_client_for_token(token + "x") is None


def test_revoked_client_does_not_authenticate(actor):
    client, token = create_api_client(actor, name="bot", role="admin")
    revoke_api_client(actor, client)
    client.refresh_from_db()
    assert client.is_active is False
    assert api_client_for_token(token) is None
    assert AuditEvent.objects.filter(action="api_client.revoked", object_id=str(client.pk)).count() == 1


@pytest.mark.parametrize("name, role, error", [("bot", "root", InvalidInput), ("  ", "admin", InvalidInput),
                                               ("taken", "admin", Conflict)])
def test_create_api_client_refusals(actor, name, role, error):
    create_api_client(actor, name="taken", role="support")
    before = (ApiClient.objects.count(), AuditEvent.objects.count())
    with pytest.raises(error):
        create_api_client(actor, name=name, role=role)
    assert (ApiClient.objects.count(), AuditEvent.objects.count()) == before


def test_touch_api_client_at_most_once_a_minute(actor):
    clock.freeze(T0)
    client, _ = create_api_client(actor, name="bot", role="admin")
    touch_api_client(client)
    client.refresh_from_db()
    assert client.last_used_at == T0
    clock.advance(timedelta(seconds=60))
    touch_api_client(client)
    client.refresh_from_db()
    assert client.last_used_at == T0
    clock.advance(timedelta(seconds=1))
    touch_api_client(client)
    client.refresh_from_db()
    assert client.last_used_at == T0 + timedelta(seconds=61)


def make_user(username, **fields):
    return get_user_model().objects.create_user(username=username, password="secret-pass", **fields)


def test_role_of_user():
    superuser = make_user("root", is_superuser=True)
    finance = make_user("fin")
    OperatorProfile.objects.create(user=finance, role="finance")
    support = make_user("sup")
    OperatorProfile.objects.create(user=support, role="support")
    superuser_with_profile = make_user("boss", is_superuser=True)
    OperatorProfile.objects.create(user=superuser_with_profile, role="support")
    nobody = make_user("nobody")
    inactive = make_user("gone", is_active=False)
    OperatorProfile.objects.create(user=inactive, role="admin")
    user_model = get_user_model()
    assert role_of_user(user_model.objects.get(pk=superuser.pk)) == Role.ADMIN
    assert role_of_user(user_model.objects.get(pk=finance.pk)) == Role.FINANCE
    assert role_of_user(user_model.objects.get(pk=support.pk)) == Role.SUPPORT
    assert role_of_user(user_model.objects.get(pk=superuser_with_profile.pk)) == Role.ADMIN
    assert role_of_user(user_model.objects.get(pk=nobody.pk)) is None
    assert role_of_user(user_model.objects.get(pk=inactive.pk)) is None
    assert role_of_user(AnonymousUser()) is None
    assert role_of_user(None) is None
    op = operator_actor(user_model.objects.get(pk=finance.pk))
    assert (op.kind, op.ref, op.name, op.role) == (ActorKind.OPERATOR, str(finance.pk), "fin", Role.FINANCE)


@pytest.mark.parametrize("role, superuser", [("admin", True), ("finance", False), ("support", False)])
def test_create_operator(actor, role, superuser):
    user = create_operator(actor, username="op", password="long-enough", role=role, email="op@example.org")
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser, user.email) == (True, superuser, "op@example.org")
    assert user.check_password("long-enough")
    assert role_of_user(user) == Role(role)
    assert OperatorProfile.objects.get(user=user).role == role
    # again: updates the password and role, no second user
    again = create_operator(actor, username="op", password="another-one", role="support")
    assert again.pk == user.pk and again.check_password("another-one") and not again.is_superuser
    assert get_user_model().objects.filter(username="op").count() == 1
    assert OperatorProfile.objects.get(user=user).role == "support"
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["operator.created", "operator.updated"]


@pytest.mark.parametrize("username, password, role", [("op", "short", "admin"), ("", "long-enough", "admin"),
                                                      ("op", "long-enough", "owner")])
def test_create_operator_refusals(actor, username, password, role):
    with pytest.raises(InvalidInput):
        create_operator(actor, username=username, password=password, role=role)
    assert not get_user_model().objects.exists()
    assert not OperatorProfile.objects.exists() and not AuditEvent.objects.exists()
