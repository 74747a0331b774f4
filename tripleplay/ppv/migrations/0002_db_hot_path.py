"""PostgreSQL only: the approving authorize and the charging confirm, each as one database function
(one round trip per call instead of eight). SQLite has nothing to create: it keeps the Python path.

The functions cover only the hot path and write nothing otherwise: whenever a call would not be
approved (authorize) or charged (confirm) as the common case, they return NULL having changed
nothing, and tripleplay.ppv.services answers it with the Python code, the reference. What they do
write is exactly what the Python path writes (tests: tripleplay/ppv/tests/test_db_hot_path.py):
the funds row's conditional UPDATE (docs/concurrency.md: the WHERE clause carries the rule, no
read-then-write), the hold or the charge entry, the audit event and the purchase row with its
stored answer. Answers and fingerprints are built as Python builds them (json.dumps, sorted keys,
ASCII escapes: ppv_py_json).
"""

from django.db import migrations

PG_UP = r"""
CREATE OR REPLACE FUNCTION ppv_py_json(s text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT AS $$
-- The JSON string literal Python's json.dumps writes for s (ensure_ascii: only printable ASCII kept).
DECLARE
    out text := '';
    ch text;
    cp integer;
BEGIN
    IF s ~ '^[ -~]*$' THEN
        RETURN '"' || replace(replace(s, '\', '\\'), '"', '\"') || '"';
    END IF;
    FOREACH ch IN ARRAY regexp_split_to_array(s, '') LOOP
        cp := ascii(ch);
        IF ch = '"' THEN out := out || '\"';
        ELSIF ch = '\' THEN out := out || '\\';
        ELSIF cp = 10 THEN out := out || '\n';
        ELSIF cp = 13 THEN out := out || '\r';
        ELSIF cp = 9 THEN out := out || '\t';
        ELSIF cp = 8 THEN out := out || '\b';
        ELSIF cp = 12 THEN out := out || '\f';
        ELSIF cp BETWEEN 32 AND 126 THEN out := out || ch;
        ELSIF cp < 65536 THEN out := out || '\u' || lpad(to_hex(cp), 4, '0');
        ELSE
            cp := cp - 65536;
            out := out || '\u' || lpad(to_hex(55296 + (cp >> 10)), 4, '0')
                       || '\u' || lpad(to_hex(56320 + (cp & 1023)), 4, '0');
        END IF;
    END LOOP;
    RETURN '"' || out || '"';
END
$$;

CREATE OR REPLACE FUNCTION ppv_authorize_approve(
    p_platform bigint, p_tx text, p_sub text, p_event text, p_price bigint, p_currency text,
    p_now timestamptz, p_today date, p_expires timestamptz, p_expires_iso text, p_request jsonb,
    p_actor_kind text, p_actor_ref text, p_actor_name text
) RETURNS jsonb LANGUAGE plpgsql AS $$
-- tripleplay.ppv.services.authorize when it approves with a hold; NULL (nothing written) otherwise.
DECLARE
    r record;
    v_price bigint;
    v_currency text;
    v_title text;
    v_owner text := '';
    v_event_id bigint;
    v_available bigint;
    v_desc text;
    v_hold bigint;
    v_purchase bigint;
    v_answer jsonb;
BEGIN
    IF EXISTS (SELECT 1 FROM ppv_ppvpurchase WHERE platform_id = p_platform AND transaction_id = p_tx) THEN
        RETURN NULL;  -- a retry: the Python path replays the stored answer
    END IF;
    SELECT s.account_id, a.status AS account_status, a.customer_id, c.status AS customer_status,
           c.currency AS customer_currency, e.id AS event_pk, e.title, e.content_owner,
           e.price_minor AS event_price, e.currency AS event_currency,
           (e.status = 'active' AND (e.starts_at IS NULL OR e.starts_at <= p_now)
            AND (e.ends_at IS NULL OR p_now < e.ends_at)) AS window_open,
           EXISTS (SELECT 1 FROM customers_accountproduct ap
                   JOIN catalog_productservice ps ON ps.product_id = ap.product_id
                   WHERE ap.account_id = s.account_id AND ap.start_date <= p_today AND ps.service_type = 'ppv'
                     AND (ap.end_date IS NULL OR ap.end_date > p_today)) AS ppv_allowed
      INTO r
      FROM iptv_subscriber s
      JOIN customers_account a ON a.id = s.account_id
      JOIN customers_customer c ON c.id = a.customer_id
      LEFT JOIN iptv_ppvevent e ON e.platform_id = s.platform_id AND e.external_id = coalesce(p_event, '')
     WHERE s.platform_id = p_platform AND s.external_id = p_sub;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p_event IS NOT NULL THEN
        IF r.event_pk IS NULL OR (p_price IS NOT NULL AND p_price <> r.event_price)
           OR (p_currency IS NOT NULL AND p_currency <> r.event_currency) OR NOT r.window_open THEN
            RETURN NULL;
        END IF;
        v_price := r.event_price;
        v_currency := r.event_currency;
        v_title := r.title;
        v_owner := r.content_owner;
        v_event_id := r.event_pk;
    ELSE
        v_price := p_price;
        v_currency := coalesce(p_currency, r.customer_currency);
        v_title := 'Pay-per-view purchase';
    END IF;
    IF v_currency <> r.customer_currency OR r.customer_status IN ('closed', 'blocked', 'suspended')
       OR r.account_status IN ('closed', 'blocked', 'suspended') OR NOT r.ppv_allowed OR v_price <= 0 THEN
        RETURN NULL;
    END IF;
    -- The hold: ledger.services._reserve, the same conditional UPDATE (funds cover it, customer open).
    UPDATE ledger_funds f SET held_minor = held_minor + v_price
     WHERE f.customer_id = r.customer_id AND f.balance_minor >= v_price - f.credit_limit_minor + f.held_minor
       AND NOT EXISTS (SELECT 1 FROM customers_customer c WHERE c.id = f.customer_id AND c.status = 'closed')
    RETURNING f.balance_minor + f.credit_limit_minor - f.held_minor INTO v_available;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    v_desc := left('PPV: ' || v_title, 200);
    INSERT INTO ledger_hold (customer_id, account_id, amount_minor, currency, status, idempotency_key,
                             request_fingerprint, reference, description, created_at, expires_at)
    VALUES (r.customer_id, r.account_id, v_price, v_currency, 'active', 'ppv:' || p_platform || ':' || p_tx,
            encode(sha256(convert_to(
                '{"account":' || r.account_id || ',"amount":' || v_price || ',"currency":' || ppv_py_json(v_currency)
                || ',"customer":' || r.customer_id || ',"description":' || ppv_py_json(v_desc)
                || ',"reference":' || ppv_py_json(left(p_tx, 100)) || '}', 'UTF8')), 'hex'),
            left(p_tx, 100), v_desc, p_now, p_expires)
    RETURNING id INTO v_hold;
    INSERT INTO audit_auditevent (actor_kind, actor_ref, actor_name, at, action, object_type, object_id, data)
    VALUES (p_actor_kind, p_actor_ref, p_actor_name, p_now, 'hold.placed', 'hold', v_hold::text,
            jsonb_build_object('customer', r.customer_id, 'amount_minor', v_price));
    v_answer := jsonb_build_object(
        'result', 'approved', 'code', 'ok', 'message', 'approved: funds held until confirmed or cancelled',
        'transaction_id', p_tx, 'authorization_id', NULL, 'subscriber', p_sub, 'event_id', p_event,
        'amount_minor', v_price, 'currency', v_currency, 'available_minor', v_available, 'expires_at', p_expires_iso);
    INSERT INTO ppv_ppvpurchase (platform_id, transaction_id, subscriber_ref, account_id, customer_id, event_id,
                                 event_ref, title, content_owner, price_minor, currency, status, decline_code,
                                 hold_id, authorized_at, expires_at, answers)
    VALUES (p_platform, p_tx, p_sub, r.account_id, r.customer_id, v_event_id, coalesce(p_event, ''), v_title,
            v_owner, v_price, v_currency, 'authorized', '', v_hold, p_now, p_expires,
            jsonb_build_object('request', p_request, 'authorize', v_answer || '{"_http": 200}'::jsonb))
    RETURNING id INTO v_purchase;
    RETURN v_answer || jsonb_build_object('authorization_id', v_purchase);
END
$$;

CREATE OR REPLACE FUNCTION ppv_confirm_charge(
    p_platform bigint, p_platform_code text, p_tx text, p_auth bigint, p_amount bigint, p_now timestamptz,
    p_actor_kind text, p_actor_ref text, p_actor_name text
) RETURNS jsonb LANGUAGE plpgsql AS $$
-- tripleplay.ppv.services.confirm when it charges an open authorization; NULL (nothing written) otherwise.
DECLARE
    p ppv_ppvpurchase%ROWTYPE;
    h record;
    v_amount bigint;
    v_balance bigint;
    v_available bigint;
    v_entry bigint;
    v_answer jsonb;
BEGIN
    -- The purchase row first (docs/concurrency.md, lock order); two statements so that each has its
    -- index (primary key, or the unique platform + transaction id).
    IF p_auth IS NOT NULL THEN
        SELECT * INTO p FROM ppv_ppvpurchase
         WHERE id = p_auth AND platform_id = p_platform AND (p_tx IS NULL OR transaction_id = p_tx) FOR UPDATE;
    ELSE
        SELECT * INTO p FROM ppv_ppvpurchase WHERE platform_id = p_platform AND transaction_id = p_tx FOR UPDATE;
    END IF;
    IF NOT FOUND OR p.answers ? 'confirm' OR p.status <> 'authorized' OR p.expires_at <= p_now
       OR p.hold_id IS NULL OR NOT (p.answers -> 'authorize') ? 'expires_at' THEN
        RETURN NULL;
    END IF;
    v_amount := coalesce(p_amount, p.price_minor);
    IF v_amount <= 0 OR v_amount > p.price_minor THEN
        RETURN NULL;
    END IF;
    -- ledger.services.capture_hold: the hold's conditional UPDATE decides, then the funds row. The
    -- entry's id is taken first so that the hold is written once (the foreign key is checked at commit).
    v_entry := nextval(pg_get_serial_sequence('ledger_ledgerentry', 'id'));
    UPDATE ledger_hold SET status = 'captured', captured_minor = v_amount, settled_at = p_now, entry_id = v_entry
     WHERE id = p.hold_id AND status = 'active' AND expires_at > p_now
    RETURNING id, customer_id, account_id, amount_minor, currency, reference, description INTO h;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE ledger_funds SET held_minor = held_minor - h.amount_minor, balance_minor = balance_minor - v_amount
     WHERE customer_id = h.customer_id
    RETURNING balance_minor, balance_minor + credit_limit_minor - held_minor INTO v_balance, v_available;
    INSERT INTO ledger_ledgerentry (id, actor_kind, actor_ref, actor_name, customer_id, account_id, kind,
                                    amount_minor, currency, balance_after_minor, description, reason, source,
                                    reference, service_type, idempotency_key, request_fingerprint, created_at, data)
    VALUES (v_entry, p_actor_kind, p_actor_ref, p_actor_name, h.customer_id, h.account_id, 'charge', -v_amount,
            h.currency,
            v_balance, left('PPV: ' || p.title, 200), '', 'ppv', h.reference, 'ppv', 'hold:' || h.id || ':capture',
            encode(sha256(convert_to('{"amount":' || v_amount || ',"hold":' || h.id || '}', 'UTF8')), 'hex'),
            p_now, jsonb_build_object('platform', p_platform_code, 'event', p.event_ref,
                                      'content_owner', p.content_owner, 'transaction_id', p.transaction_id));
    INSERT INTO audit_auditevent (actor_kind, actor_ref, actor_name, at, action, object_type, object_id, data)
    VALUES (p_actor_kind, p_actor_ref, p_actor_name, p_now, 'hold.captured', 'hold', h.id::text,
            jsonb_build_object('amount_minor', v_amount, 'entry', v_entry));
    v_answer := jsonb_build_object(
        'result', 'confirmed', 'code', 'ok', 'message', 'charged', 'transaction_id', p.transaction_id,
        'authorization_id', p.id, 'subscriber', p.subscriber_ref, 'event_id', nullif(p.event_ref, ''),
        'amount_minor', v_amount, 'currency', nullif(p.currency, ''), 'available_minor', v_available,
        'expires_at', p.answers -> 'authorize' -> 'expires_at');
    UPDATE ppv_ppvpurchase SET status = 'confirmed', charge_id = v_entry, charged_minor = v_amount,
                               finished_at = p_now,
                               answers = answers || jsonb_build_object('confirm', v_answer || '{"_http": 200}'::jsonb)
     WHERE id = p.id;
    RETURN v_answer;
END
$$;
"""

PG_DOWN = """
DROP FUNCTION IF EXISTS ppv_confirm_charge(bigint, text, text, bigint, bigint, timestamptz, text, text, text);
DROP FUNCTION IF EXISTS ppv_authorize_approve(bigint, text, text, text, bigint, text, timestamptz, date, timestamptz,
                                              text, jsonb, text, text, text);
DROP FUNCTION IF EXISTS ppv_py_json(text);
"""


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UP, params=None)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DOWN, params=None)


class Migration(migrations.Migration):
    dependencies = [("ppv", "0001_initial"), ("ledger", "0002_append_only_entries"), ("audit", "0001_initial")]
    operations = [migrations.RunPython(up, down)]
