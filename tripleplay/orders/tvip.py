"""TVIP TMS's billing API mapped onto the TV-screen orders (docs/platforms/tvip.md "Billing API", D230-D232).

TMS asks the operator's billing to switch, subscribe or cancel a tariff for the TMS account it names
(``X-TMS-ACCOUNT-ID``, TMS's integer id). The edge (tripleplay/api/tvip.py) checks the signature; here
the account is turned into the platform's subscriber and the request into an order of
``orders.services.place_order``: switch = a main product change, subscribe = an add-on, cancel = its
removal; the tariff in the path is the product's code (billing's own tariff id, the one billing lists
to the app). Everything after that is the orders' path: status and funds checked, prorated fees
charged, the change provisioned back to TMS through the outbox and the adapter.

TMS sends no request id that the reference names, so the order's transaction id is derived (D231):
``tvip-`` + a digest of (subscriber, the id of the subscriber's previous order on this platform, action,
tariff). A repeat of the same request with no order in between derives the same id, so concurrent
duplicates meet on the orders' unique index and the first answer is replayed; a repeat that comes after
its own order was done (within ``REPLAY_SECONDS``) is answered with that order's answer again. Any
other order in between makes the next request a new order, so subscribe, cancel, subscribe works.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from tripleplay import clock
from tripleplay.iptv.models import Platform, Subscriber
from tripleplay.iptv.worker import adapter_for_platform
from tripleplay.orders.decision import ADD, CHANGE, REMOVE
from tripleplay.orders.models import OrderResult, TvOrder
from tripleplay.orders.services import Answer, place_order

ACTIONS = {"switch": CHANGE, "subscribe": ADD, "cancel": REMOVE}
REPLAY_SECONDS = 600  # a retry of a done request within this long gets the same answer (D231)


def subscriber_for_account(platform: Platform, tms_account_id: int) -> Subscriber | None:
    """The platform's own subscriber behind TMS account ``tms_account_id``, read from TMS's
    remote_custom_field (the adapter's key); another platform's subscriber is not found (D181).
    Raises the adapter's TransientError / PermanentError when TMS cannot be read."""
    ref = adapter_for_platform(platform).subscriber_of_account(tms_account_id)
    if ref is None:
        return None
    return Subscriber.objects.select_related("account").filter(platform=platform, external_id=ref).first()


def transaction_id_for(platform: Platform, subscriber: Subscriber, action: str, tariff: str) -> str:
    """The order's key for a TMS request that carries none (D231)."""
    request = {"subscriber": subscriber.external_id, "action": ACTIONS[action], "product": tariff, "plan": None}
    last = (TvOrder.objects.filter(platform=platform, account_id=subscriber.account_id)
            .only("id", "transaction_id", "request", "result", "created_at").order_by("-id").first())
    if (last is not None and last.request == request and last.result == OrderResult.DONE
            and clock.now() - last.created_at <= timedelta(seconds=REPLAY_SECONDS)):
        return last.transaction_id
    seed = f"{subscriber.external_id}|{last.pk if last else 0}|{action}|{tariff}"
    return "tvip-" + hashlib.sha256(seed.encode()).hexdigest()[:40]


def place_tms_order(platform: Platform, subscriber: Subscriber, *, action: str, tariff: str) -> Answer:
    """One billing-API request as an order (idempotent as described above)."""
    return place_order(platform, transaction_id=transaction_id_for(platform, subscriber, action, tariff),
                       subscriber=subscriber.external_id, action=ACTIONS[action], product=tariff)
