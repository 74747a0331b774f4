"""Charging sessions: one row per network session (a data session, a call), from its start to its end.

A session is keyed by its client (who reports it: a softswitch ``switch:<id>``, a RADIUS NAS
``nas:<id>``) and that client's own session id, unique together: a retried start finds the row. Its
funds are reserved by at most one active ledger Hold at a time (the current quota); every report
charges the cumulative usage's cost minus what was charged (sessions/quota.py), capturing the hold.
Rules and wire format: docs/sessions.md."""

from django.db import models
from django.db.models import Q

from tripleplay.core.fields import BigIntegerList
from tripleplay.customers.models import Account, Customer
from tripleplay.ledger.models import Hold


class SessionStatus(models.TextChoices):
    ACTIVE = "active"
    ENDED = "ended"


class EndReason(models.TextChoices):
    STOPPED = "stopped"  # the client reported its end
    TIMED_OUT = "timed_out"  # the sweeper: no report within the idle timeout


class ChargingSession(models.Model):
    client = models.CharField(max_length=64)  # who reports it: "switch:3", "nas:7"
    session_id = models.CharField(max_length=200)  # the client's id (RADIUS Acct-Session-Id, a Call-ID)
    service_type = models.CharField(max_length=16)  # voice | data
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="charging_sessions",
                                 db_index=False)  # the (customer, status) index serves it
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="charging_sessions")
    subscriber = models.CharField(max_length=100)  # as the client sent it: a login or a phone number
    destination = models.CharField(max_length=32, blank=True)  # voice: the number called
    # The rate chosen at the start and its terms, fixed for the session (the start decides, as for xDRs).
    rate_id = models.BigIntegerField()
    price_per_unit_micros = models.BigIntegerField()
    connection_fee_micros = models.BigIntegerField()
    first_increment = models.PositiveIntegerField()
    next_increment = models.PositiveIntegerField()
    offpeak = models.BooleanField(default=False)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=8, choices=SessionStatus.choices, default=SessionStatus.ACTIVE)
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True)
    # Cumulative, in rating's base units (seconds, kilobytes): reported, billed after increments, of
    # which free (allowances), the money charged, and the grant (the network may use up to it).
    used = models.BigIntegerField(default=0)
    used_wire = models.BigIntegerField(default=0)  # as reported: seconds or bytes
    billed = models.BigIntegerField(default=0)
    free = models.BigIntegerField(default=0)
    charged_minor = models.BigIntegerField(default=0)
    granted = models.BigIntegerField(default=0)
    # What the ledger has of it (D280): charged_minor, billed and used_wire as last posted (an entry and
    # an xDR). Equal to them except while a fast window's charges wait to be posted (settle_pending):
    # charged_minor - posted_minor is charged but not yet posted, always covered by the active hold.
    posted_minor = models.BigIntegerField(default=0)
    posted_billed = models.BigIntegerField(default=0)
    posted_wire = models.BigIntegerField(default=0)
    # The fast window (D280, D295, D296): a windowed session's (RADIUS) reports inside its window are
    # charged by one database function on the session's ChargingWindow row (below), without a ledger
    # write; fast_until mirrors the window's end for the settle job's index (D281).
    windowed = models.BooleanField(default=False)
    fast_until = models.DateTimeField(null=True, blank=True)
    fast_idle_seconds = models.PositiveIntegerField(default=0)  # the deadline the function sets: now + this
    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, null=True, blank=True, related_name="charging_session")
    holds_placed = models.PositiveIntegerField(default=0)  # numbers the holds' idempotency keys
    charges = models.PositiveIntegerField(default=0)  # numbers the charged intervals (xDRs, entry keys)
    last_sequence = models.BigIntegerField(null=True, blank=True)
    must_end = models.CharField(max_length=20, blank=True)  # set when SESSION_MUST_END ran: its reason
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    # The sweeper ends the session if nothing is heard by then: the idle timeout after the last report,
    # plus (voice) the seconds still granted (services._deadline).
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # The answers given, replayed to retries: "start", "stop", and the last update's ("update").
    answers = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["client", "session_id"], name="charging_session_client_id_unique"),
            models.CheckConstraint(condition=Q(used__gte=0) & Q(billed__gte=0) & Q(free__gte=0)
                                   & Q(free__lte=models.F("billed")) & Q(charged_minor__gte=0),
                                   name="charging_session_usage_sane"),
            models.CheckConstraint(condition=Q(posted_minor__gte=0) & Q(posted_minor__lte=models.F("charged_minor")),
                                   name="charging_session_posted_le_charged"),
            models.CheckConstraint(condition=Q(status="active") | Q(hold__isnull=True),
                                   name="charging_session_ended_holds_nothing"),
        ]
        indexes = [
            models.Index(fields=["customer", "status"]),
            # The sweeper's: only active sessions, by their deadline.
            models.Index(fields=["expires_at"], condition=Q(status="active"), name="charging_session_deadline"),
            # The settle job's (D281): open sessions with a window, by its end.
            models.Index(fields=["fast_until"], condition=Q(status="active", fast_until__isnull=False),
                         name="charging_session_fast_until"),
        ]

    def __str__(self) -> str:
        return f"{self.client}:{self.session_id} {self.status}"


class ChargingWindow(models.Model):
    """A windowed session's fast window and what was charged inside it (D280, D295, D296): the one row
    radius_sql_interim reads (by ``key``, without a lock) and writes (one UPDATE guarded by ``hold_id``
    and ``until``), narrow so that its UPDATE forms and writes a small tuple. Written by the Python
    path when it opens a window (sessions.services._reserve: the steps, the hold, the end, the session's
    charged state), closed by any post (``until`` cleared), and folded into the session under its lock
    before the Python path decides anything (``_locked``: each charged value the greater). ``steps``:
    quota.window's steps flattened, [limit in wire units, billed, cumulative charged_minor] * n,
    ascending. ``reported_*`` are the client's counters as last reported, ``reports`` the reports the
    function took since the client last took them (``take_reports``: RADIUS folds them into its NAS
    session row)."""

    session = models.OneToOneField(ChargingSession, on_delete=models.CASCADE, primary_key=True, related_name="window")
    key = models.CharField(max_length=300, null=True, blank=True, unique=True)  # the client's name of the session
    hold_id = models.BigIntegerField(null=True, blank=True)  # the hold the window was opened with (the guard)
    until = models.DateTimeField(null=True, blank=True)  # open while in the future
    used_wire = models.BigIntegerField(default=0)
    billed = models.BigIntegerField(default=0)
    charged_minor = models.BigIntegerField(default=0)
    last_seen_at = models.DateTimeField()
    reported_input = models.BigIntegerField(default=0)
    reported_output = models.BigIntegerField(default=0)
    reported_seconds = models.BigIntegerField(default=0)
    reported_address = models.GenericIPAddressField(null=True, blank=True)
    reports = models.PositiveIntegerField(default=0)
    steps = BigIntegerList()

    def __str__(self) -> str:
        return f"window of session {self.session_id} until {self.until}"


class Softswitch(models.Model):
    """A voice switch allowed to use the sessions API, with its own bearer token (``tps_...``, shown
    once; only its SHA-256 is stored). A switch sees only the sessions it started."""

    code = models.CharField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    token_prefix = models.CharField(max_length=16, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    @property
    def client(self) -> str:
        return f"switch:{self.pk}"
