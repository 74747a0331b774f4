"""Portal access: invitation and reset links (single use, expiry, revocation), login throttling per
identity and per address, session expiry (idle and absolute), disabling, password change."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from tripleplay import clock
from tripleplay.audit.models import AuditEvent
from tripleplay.core.actors import Actor
from tripleplay.core.errors import Conflict, InvalidInput, Throttled
from tripleplay.subscriber_access import services
from tripleplay.subscriber_access.models import LoginFailure, LoginStatus, PasswordToken, PortalSession
from tripleplay.subscriber_access.services import InvalidCredentials
from tripleplay.subscriber_access.tests.helpers import active_login, token_of

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OP = Actor.system("op")


@pytest.fixture
def ada(make_customer, make_account):
    c = make_customer(name="Ada", email="ada@example.net")
    make_account(c, login="ada-tv")
    return c


def test_an_invitation_mails_a_single_use_link_that_sets_the_password(ada, django_capture_on_commit_callbacks):
    clock.freeze(T0)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invite(OP, ada)
    assert invitation.login.status == LoginStatus.INVITED and invitation.login.password == ""
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.net"]
    assert invitation.link in mail.outbox[0].body
    token = token_of(invitation)
    assert not PasswordToken.objects.filter(digest=token).exists()  # only the digest is stored
    with pytest.raises(InvalidCredentials):  # no password yet: no login
        services.log_in("ada@example.net", "anything at all")
    login = services.set_password_with_token(token, "correct horse 1")
    assert login.status == LoginStatus.ACTIVE and login.password_set_at == T0
    with pytest.raises(InvalidInput) as e:  # used
        services.set_password_with_token(token, "another password 2")
    assert e.value.code == "invalid_token"
    assert services.log_in("ada@example.net", "correct horse 1").login.pk == login.pk
    assert services.log_in("ADA-TV", "correct horse 1").login.pk == login.pk  # an account login names it too
    assert list(AuditEvent.objects.filter(object_type="customer", object_id=str(ada.pk))
                .filter(action__startswith="subscriber.").values_list("action", flat=True).order_by("id")) == [
        "subscriber.invited", "subscriber.password_set", "subscriber.logged_in", "subscriber.logged_in"]


def test_an_expired_link_and_a_revoked_link_do_nothing(ada, settings):
    settings.TRIPLEPLAY_PORTAL_INVITE_HOURS = 2
    clock.freeze(T0)
    first = services.invite(OP, ada)
    second = services.invite(OP, ada)  # the newer link revokes the older
    with pytest.raises(InvalidInput):
        services.set_password_with_token(token_of(first), "correct horse 1")
    clock.freeze(T0 + timedelta(hours=2))
    with pytest.raises(InvalidInput):
        services.set_password_with_token(token_of(second), "correct horse 1")
    login = first.login
    login.refresh_from_db()
    assert login.status == LoginStatus.INVITED and login.password == ""
    with pytest.raises(InvalidInput):
        services.set_password_with_token("not-a-token", "correct horse 1")


def test_a_short_password_is_refused_and_keeps_the_link(ada):
    invitation = services.invite(OP, ada)
    with pytest.raises(InvalidInput):
        services.set_password_with_token(token_of(invitation), "short")
    assert services.set_password_with_token(token_of(invitation), "long enough 1").status == LoginStatus.ACTIVE


def test_invitation_needs_an_email(make_customer):
    with pytest.raises(InvalidInput):
        services.invite(OP, make_customer(name="No Mail", email=""))


def test_login_is_throttled_per_identity_then_released_after_the_window(ada, settings):
    settings.TRIPLEPLAY_PORTAL_MAX_FAILURES_PER_IDENTITY = 3
    settings.TRIPLEPLAY_PORTAL_THROTTLE_SECONDS = 600
    active_login(ada)
    clock.freeze(T0)
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            services.log_in("ada@example.net", "wrong password", address="10.0.0.1")
    with pytest.raises(Throttled):  # even with the right password: no guessing once throttled
        services.log_in("ada@example.net", "correct horse 1", address="10.0.0.2")
    assert LoginFailure.objects.filter(identity="ada@example.net").count() == 3
    clock.freeze(T0 + timedelta(seconds=601))
    assert services.log_in("ada@example.net", "correct horse 1", address="10.0.0.2").login.customer_id == ada.pk
    assert LoginFailure.objects.filter(identity="ada@example.net").count() == 0  # a success clears them


def test_login_is_throttled_per_address_across_identities(ada, settings):
    settings.TRIPLEPLAY_PORTAL_MAX_FAILURES_PER_ADDRESS = 4
    active_login(ada)
    clock.freeze(T0)
    for i in range(4):
        with pytest.raises(InvalidCredentials):
            services.log_in(f"someone{i}@example.net", "guess", address="192.0.2.9")
    with pytest.raises(Throttled):
        services.log_in("ada@example.net", "correct horse 1", address="192.0.2.9")
    assert services.log_in("ada@example.net", "correct horse 1", address="192.0.2.10")  # another address may


def test_sessions_expire_when_idle_and_at_their_absolute_end(ada, settings):
    settings.TRIPLEPLAY_PORTAL_SESSION_IDLE_SECONDS = 1800
    settings.TRIPLEPLAY_PORTAL_SESSION_MAX_SECONDS = 3 * 3600
    active_login(ada)
    clock.freeze(T0)
    key = services.log_in("ada@example.net", "correct horse 1").key
    assert not PortalSession.objects.filter(digest=key).exists()  # only the digest is stored
    clock.freeze(T0 + timedelta(minutes=29))
    assert services.session_login(key).customer_id == ada.pk  # activity moves the idle deadline
    clock.freeze(T0 + timedelta(minutes=58))
    assert services.session_login(key) is not None
    clock.freeze(T0 + timedelta(minutes=58 + 31))
    assert services.session_login(key) is None  # idle too long

    clock.freeze(T0)
    key = services.log_in("ada@example.net", "correct horse 1").key
    for minutes in range(20, 180, 20):
        clock.freeze(T0 + timedelta(minutes=minutes))
        assert services.session_login(key) is not None
    clock.freeze(T0 + timedelta(hours=3))
    assert services.session_login(key) is None  # absolute end, however active
    assert services.session_login("") is None and services.session_login("forged") is None


def test_logout_ends_the_session(ada):
    active_login(ada)
    key = services.log_in("ada@example.net", "correct horse 1").key
    services.log_out(key)
    assert services.session_login(key) is None


def test_disable_ends_sessions_and_links_and_refuses_login(ada):
    active_login(ada)
    key = services.log_in("ada@example.net", "correct horse 1").key
    services.request_reset("ada@example.net")
    login = services.disable(OP, ada, reason="moved out")
    assert login.status == LoginStatus.DISABLED
    assert services.session_login(key) is None
    assert not PasswordToken.objects.filter(login=login, used_at__isnull=True).exists()
    with pytest.raises(InvalidCredentials):
        services.log_in("ada@example.net", "correct horse 1")
    with pytest.raises(Conflict):
        services.disable(OP, ada, reason="again")
    # a new invitation reopens it, with a new password only
    invitation = services.invite(OP, ada)
    assert invitation.login.status == LoginStatus.INVITED and invitation.login.password == ""


def test_reset_link_by_email_says_nothing_about_unknown_logins(ada, django_capture_on_commit_callbacks):
    active_login(ada)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_reset("nobody@example.net")
        services.request_reset("ada@example.net")
        services.request_reset("ada@example.net")  # within 5 minutes: no second mail
    assert len(mail.outbox) == 1
    token = mail.outbox[0].body.split("/my/password/", 1)[1].split()[0]
    services.set_password_with_token(token, "a new password 2")
    assert services.log_in("ada@example.net", "a new password 2")
    with pytest.raises(InvalidCredentials):
        services.log_in("ada@example.net", "correct horse 1")


def test_change_password_needs_the_current_one_and_ends_other_sessions(ada):
    login = active_login(ada)
    here = services.log_in("ada@example.net", "correct horse 1").key
    elsewhere = services.log_in("ada@example.net", "correct horse 1").key
    with pytest.raises(InvalidInput) as e:
        services.change_password(login, current="wrong", new="new password 3", keep_session=here)
    assert e.value.code == "wrong_password"
    services.change_password(login, current="correct horse 1", new="new password 3", keep_session=here)
    assert services.session_login(here) is not None and services.session_login(elsewhere) is None
    assert services.log_in("ada@example.net", "new password 3")


def test_an_email_shared_by_two_customers_names_neither(make_customer, make_account):
    a = make_customer(name="A", email="family@example.net")
    b = make_customer(name="B", email="family@example.net")
    make_account(a, login="a-tv")
    active_login(a)
    active_login(b)
    with pytest.raises(InvalidCredentials):
        services.log_in("family@example.net", "correct horse 1")
    assert services.log_in("a-tv", "correct horse 1").login.customer_id == a.pk


@pytest.mark.django_db(transaction=True)  # real commits: the mail is sent by the commit itself
def test_a_mail_server_failure_is_a_clear_error_and_a_new_invitation_works(ada, settings):
    settings.EMAIL_BACKEND = "tripleplay.subscriber_access.tests.test_access.FailingBackend"
    with pytest.raises(services.MailNotSent) as e:
        services.invite(OP, ada)
    assert e.value.http_status == 503 and e.value.code == "mail_not_sent"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    invitation = services.invite(OP, ada)
    assert len(mail.outbox) == 1
    assert PasswordToken.objects.filter(login=invitation.login, used_at__isnull=True).count() == 1
    assert services.set_password_with_token(token_of(invitation), "correct horse 1").status == LoginStatus.ACTIVE


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_cleanup_forgets_old_failures_sessions_and_links(ada, settings):
    settings.TRIPLEPLAY_PORTAL_THROTTLE_SECONDS = 600
    clock.freeze(T0)
    active_login(ada)
    with pytest.raises(InvalidCredentials):
        services.log_in("someone@example.net", "x")
    old_key = services.log_in("ada@example.net", "correct horse 1").key
    services.log_out(old_key)
    clock.freeze(T0 + timedelta(days=31))
    live_key = services.log_in("ada@example.net", "correct horse 1").key
    with pytest.raises(InvalidCredentials):
        services.log_in("someone@example.net", "y")
    assert services.forget_expired() == (1, 1, 1)  # the old failure, the ended session, the used invitation
    assert LoginFailure.objects.count() == 1 and PortalSession.objects.count() == 1
    assert services.session_login(live_key) is not None
