-- ledger.services.capture_hold as one database function, for the PPV hot path (ppv/sql): the hold's
-- conditional UPDATE decides (active and not expired), then the funds row gives the reservation back
-- and takes what is captured in one UPDATE, then the charge entry and its "hold.captured" audit event.
-- The entry's id is taken first so that the hold is written once (the foreign key is checked at
-- commit). o_entry is NULL, and nothing is written, when the hold is not active.
CREATE OR REPLACE FUNCTION ledger_capture_hold(
    p_hold bigint, p_amount bigint, p_now timestamptz, p_description text, p_source text, p_service_type text,
    p_data jsonb, p_actor_kind text, p_actor_ref text, p_actor_name text,
    OUT o_entry bigint, OUT o_available bigint
) LANGUAGE plpgsql AS $$
DECLARE
    h record;
    v_entry bigint;
    v_balance bigint;
BEGIN
    v_entry := nextval(pg_get_serial_sequence('ledger_ledgerentry', 'id'));
    UPDATE ledger_hold SET status = 'captured', captured_minor = p_amount, settled_at = p_now, entry_id = v_entry
     WHERE id = p_hold AND status = 'active' AND expires_at > p_now
    RETURNING id, customer_id, account_id, amount_minor, currency, reference, description INTO h;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE ledger_funds SET held_minor = held_minor - h.amount_minor, balance_minor = balance_minor - p_amount
     WHERE customer_id = h.customer_id
    RETURNING balance_minor, balance_minor + credit_limit_minor - held_minor INTO v_balance, o_available;
    INSERT INTO ledger_ledgerentry (id, actor_kind, actor_ref, actor_name, customer_id, account_id, kind,
                                    amount_minor, currency, balance_after_minor, description, reason, source,
                                    reference, service_type, idempotency_key, request_fingerprint, created_at, data)
    VALUES (v_entry, p_actor_kind, p_actor_ref, p_actor_name, h.customer_id, h.account_id, 'charge', -p_amount,
            h.currency, v_balance, left(p_description, 200), '', p_source, h.reference, p_service_type,
            'hold:' || h.id || ':capture',
            encode(sha256(convert_to('{"amount":' || p_amount || ',"hold":' || h.id || '}', 'UTF8')), 'hex'),
            p_now, p_data);
    INSERT INTO audit_auditevent (actor_kind, actor_ref, actor_name, at, action, object_type, object_id, data)
    VALUES (p_actor_kind, p_actor_ref, p_actor_name, p_now, 'hold.captured', 'hold', h.id::text,
            jsonb_build_object('amount_minor', p_amount, 'entry', v_entry));
    o_entry := v_entry;
END
$$;
