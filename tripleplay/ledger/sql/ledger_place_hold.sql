-- ledger.services.place_hold as one database function, for the PPV hot path (ppv/sql): the same
-- single conditional UPDATE of the funds row (funds cover it and the customer is not closed, both in
-- its WHERE clause: docs/concurrency.md, no read-then-write), then the hold row and its "hold.placed"
-- audit event, with the fingerprint Python computes. o_hold is NULL, and nothing is written, when the
-- funds do not cover the amount. The caller guarantees the idempotency key is new (caller_dedupes).
CREATE OR REPLACE FUNCTION ledger_place_hold(
    p_customer bigint, p_account bigint, p_amount bigint, p_currency text, p_key text, p_reference text,
    p_description text, p_now timestamptz, p_expires timestamptz,
    p_actor_kind text, p_actor_ref text, p_actor_name text,
    OUT o_hold bigint, OUT o_available bigint
) LANGUAGE plpgsql AS $$
DECLARE
    v_reference text := left(p_reference, 100);
    v_desc text := left(p_description, 200);
BEGIN
    UPDATE ledger_funds f SET held_minor = held_minor + p_amount
     WHERE f.customer_id = p_customer AND f.balance_minor >= p_amount - f.credit_limit_minor + f.held_minor
       AND NOT EXISTS (SELECT 1 FROM customers_customer c WHERE c.id = f.customer_id AND c.status = 'closed')
    RETURNING f.balance_minor + f.credit_limit_minor - f.held_minor INTO o_available;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO ledger_hold (customer_id, account_id, amount_minor, currency, status, idempotency_key,
                             request_fingerprint, reference, description, created_at, expires_at)
    VALUES (p_customer, p_account, p_amount, p_currency, 'active', p_key,
            encode(sha256(convert_to(
                '{"account":' || coalesce(p_account::text, 'null') || ',"amount":' || p_amount
                || ',"currency":' || ppv_py_json(p_currency) || ',"customer":' || p_customer
                || ',"description":' || ppv_py_json(v_desc) || ',"reference":' || ppv_py_json(v_reference)
                || '}', 'UTF8')), 'hex'),
            v_reference, v_desc, p_now, p_expires)
    RETURNING id INTO o_hold;
    INSERT INTO audit_auditevent (actor_kind, actor_ref, actor_name, at, action, object_type, object_id, data)
    VALUES (p_actor_kind, p_actor_ref, p_actor_name, p_now, 'hold.placed', 'hold', o_hold::text,
            jsonb_build_object('customer', p_customer, 'amount_minor', p_amount));
END
$$;
