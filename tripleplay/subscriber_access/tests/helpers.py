"""Test helpers: a customer with an active portal login (invited, link used)."""

from tripleplay.core.actors import Actor


def token_of(invitation) -> str:
    return invitation.link.rsplit("/", 1)[1]


def active_login(customer, password: str = "correct horse 1"):
    from tripleplay.subscriber_access.services import invite, set_password_with_token

    invitation = invite(Actor.system("test"), customer)
    return set_password_with_token(token_of(invitation), password)
