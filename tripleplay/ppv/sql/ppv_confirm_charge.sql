-- tripleplay.ppv.services.confirm when it charges an open authorization, in one round trip; NULL
-- (nothing written) otherwise, and the Python path answers the call. The capture is the ledger's
-- (ledger/sql/ledger_capture_hold.sql: the hold, the funds row, the charge entry, its audit event);
-- this function locks and checks the purchase row and stores its answer.
CREATE OR REPLACE FUNCTION ppv_confirm_charge(
    p_platform bigint, p_platform_code text, p_tx text, p_auth bigint, p_amount bigint, p_now timestamptz,
    p_actor_kind text, p_actor_ref text, p_actor_name text
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    p ppv_ppvpurchase%ROWTYPE;
    v_amount bigint;
    v_capture record;
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
    -- An assignment, not SELECT ... INTO: a simple expression, without a query executor of its own.
    v_capture := ledger_capture_hold(p.hold_id, v_amount, p_now, 'PPV: ' || p.title, 'ppv', 'ppv',
                                     jsonb_build_object('platform', p_platform_code, 'event', p.event_ref,
                                                        'content_owner', p.content_owner,
                                                        'transaction_id', p.transaction_id),
                                     p_actor_kind, p_actor_ref, p_actor_name);
    v_entry := v_capture.o_entry;
    IF v_entry IS NULL THEN
        RETURN NULL;  -- the hold is not active (expired meanwhile): the Python path answers
    END IF;
    v_answer := jsonb_build_object(
        'result', 'confirmed', 'code', 'ok', 'message', 'charged', 'transaction_id', p.transaction_id,
        'authorization_id', p.id, 'subscriber', p.subscriber_ref, 'event_id', nullif(p.event_ref, ''),
        'amount_minor', v_amount, 'currency', nullif(p.currency, ''), 'available_minor', v_capture.o_available,
        'expires_at', p.answers -> 'authorize' -> 'expires_at');
    UPDATE ppv_ppvpurchase SET status = 'confirmed', charge_id = v_entry, charged_minor = v_amount,
                               finished_at = p_now,
                               answers = answers || jsonb_build_object('confirm', v_answer || '{"_http": 200}'::jsonb)
     WHERE id = p.id;
    RETURN v_answer;
END
$$;
