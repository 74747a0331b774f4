-- tripleplay.sessions.services.update's common case as one database function (D212): a report that
-- adds usage to an active session whose hold covers what it costs, with no allowance to draw from,
-- and funds for the next quota. Python read the session (sessions.services._update_in_db), computed
-- the charge and the next grant with sessions/quota.py (the one place of the maths), and passes the
-- state it read (the guards) and the state to write. Here, under the session row's lock (the first
-- lock, docs/concurrency.md): the guards are checked, the hold is captured (ledger_capture_hold:
-- the hold, the funds row, the charge entry, its audit event), the interval's xDR written, the next
-- hold placed (ledger_place_hold: the funds row's conditional UPDATE, the hold, its audit event), and
-- the session row written once. A session with charges of a fast window not yet posted (D280) is the
-- Python path's (it posts them first); what this posts is all there is, so posted_* follow.
--
-- NULL, and nothing written, when a guard fails (another report came first, the account or customer
-- is no longer active): the Python path decides the call. Once something is written, a step that
-- cannot be completed as computed (the hold no longer active, the funds moved since they were read)
-- raises SQLSTATE TP001: the caller's statement (or savepoint) rolls back whole and the Python path
-- decides the call. Returns the funds available after the new hold (the answer's available_minor).
CREATE OR REPLACE FUNCTION sessions_update_charge(
    p_session bigint, p_used_wire_was bigint, p_charges_was integer, p_holds_was integer, p_hold_was bigint,
    p_charged_was bigint, p_now timestamptz,
    p_amount bigint, p_description text, p_source text, p_data jsonb, p_available_after_capture bigint,
    p_billed_delta bigint, p_free_delta bigint, p_xdr_source text, p_xdr_raw jsonb, p_caller text, p_callee text,
    p_login text, p_duration integer, p_bytes bigint,
    p_reserve bigint, p_hold_expires timestamptz,
    p_used_wire bigint, p_used bigint, p_billed bigint, p_free bigint, p_charged bigint, p_granted bigint,
    p_expires timestamptz, p_sequence bigint, p_answer jsonb,
    p_actor_kind text, p_actor_ref text, p_actor_name text
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    s charging_sessions_chargingsession%ROWTYPE;
    v_capture record;
    v_hold record;
    v_interval integer;
BEGIN
    SELECT * INTO s FROM charging_sessions_chargingsession WHERE id = p_session FOR UPDATE;
    IF NOT FOUND OR s.status <> 'active' OR s.used_wire <> p_used_wire_was OR s.charges <> p_charges_was
       OR s.holds_placed <> p_holds_was OR s.hold_id IS DISTINCT FROM p_hold_was OR s.charged_minor <> p_charged_was
       OR s.posted_minor <> s.charged_minor
       OR NOT EXISTS (SELECT 1 FROM customers_account a JOIN customers_customer c ON c.id = a.customer_id
                       WHERE a.id = s.account_id AND a.status = 'active' AND c.status = 'active') THEN
        RETURN NULL;
    END IF;
    v_capture := ledger_capture_hold(s.hold_id, p_amount, p_now, p_description, p_source, s.service_type, p_data,
                                     p_actor_kind, p_actor_ref, p_actor_name);
    IF v_capture.o_entry IS NULL OR v_capture.o_available <> p_available_after_capture THEN
        RAISE EXCEPTION 'session % changed since it was read', p_session USING ERRCODE = 'TP001';
    END IF;
    v_interval := s.charges;
    IF p_billed_delta > 0 THEN
        v_interval := s.charges + 1;
        -- rating.services.store_rated: the interval's xDR, priced here and charged by the capture.
        INSERT INTO rating_xdr (source, external_id, service_type, account_id, caller, callee, login, bytes, count,
                                destination, started_at, duration_seconds, raw, status, error_code, error_reason,
                                rate_id, billed_quantity, allowance_used, offpeak, cost_minor, currency,
                                ledger_entry_id, received_at, rated_at)
        VALUES (p_xdr_source, s.id || ':' || v_interval, s.service_type, s.account_id, p_caller, p_callee, p_login,
                p_bytes, NULL, p_callee, s.started_at, p_duration, p_xdr_raw, 'rated', '', '', s.rate_id,
                p_billed_delta, p_free_delta, s.offpeak, p_amount, s.currency, v_capture.o_entry, p_now, p_now);
    END IF;
    v_hold := ledger_place_hold(s.customer_id, s.account_id, p_reserve, s.currency,
                                'session:' || s.id || ':hold:' || (s.holds_placed + 1), 'session:' || s.id,
                                s.service_type || ' session quota', p_now, p_hold_expires,
                                p_actor_kind, p_actor_ref, p_actor_name);
    IF v_hold.o_hold IS NULL THEN
        RAISE EXCEPTION 'the funds of session % moved since they were read', p_session USING ERRCODE = 'TP001';
    END IF;
    UPDATE charging_sessions_chargingsession
       SET hold_id = v_hold.o_hold, holds_placed = holds_placed + 1, charges = v_interval, used_wire = p_used_wire,
           used = p_used, billed = p_billed, free = p_free, charged_minor = p_charged, granted = p_granted,
           posted_minor = p_charged, posted_billed = p_billed, posted_wire = p_used_wire, fast_until = NULL,
           last_seen_at = p_now, expires_at = p_expires, must_end = '',
           last_sequence = coalesce(p_sequence, last_sequence),
           answers = CASE WHEN p_sequence IS NULL THEN answers ELSE answers || jsonb_build_object(
               'update', p_answer || jsonb_build_object('available_minor', v_hold.o_available)) END
     WHERE id = s.id;
    RETURN v_hold.o_available;
END
$$;
