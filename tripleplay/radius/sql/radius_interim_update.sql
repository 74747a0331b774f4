-- tripleplay.radius.services.record_accounting for an Interim-Update with newer counters, charged in
-- the same statement (D212): the NAS's session row updated under its lock (the first lock, as the
-- Python path takes it), then the charging core's sessions_update_charge (sessions/sql) with the
-- parameters Python computed from one read. Python read the row's counters (p_*_was, the guard);
-- the new ones are the greater of each. NULL, and nothing written, when the row changed meanwhile
-- (stopped, or another report came first); when the charge is not the common case
-- sessions_update_charge answers NULL and this raises SQLSTATE TP001, which undoes the row's update:
-- either way the Python path decides the request. Returns the funds available after the new hold.
CREATE OR REPLACE FUNCTION radius_interim_update(
    p_ns bigint, p_in_was bigint, p_out_was bigint, p_time_was bigint, p_in bigint, p_out bigint, p_time bigint,
    p_framed_ip inet, p_updated timestamptz,
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
    v_available bigint;
BEGIN
    UPDATE radius_networksession
       SET input_octets = p_in, output_octets = p_out, session_time_seconds = p_time,
           framed_ip = coalesce(p_framed_ip, framed_ip), updated_at = p_updated, interim_updates = interim_updates + 1
     WHERE id = p_ns AND status = 'active' AND input_octets = p_in_was AND output_octets = p_out_was
       AND session_time_seconds = p_time_was;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    v_available := sessions_update_charge(
        p_session, p_used_wire_was, p_charges_was, p_holds_was, p_hold_was, p_charged_was, p_now,
        p_amount, p_description, p_source, p_data, p_available_after_capture,
        p_billed_delta, p_free_delta, p_xdr_source, p_xdr_raw, p_caller, p_callee, p_login, p_duration, p_bytes,
        p_reserve, p_hold_expires,
        p_used_wire, p_used, p_billed, p_free, p_charged, p_granted, p_expires, p_sequence, p_answer,
        p_actor_kind, p_actor_ref, p_actor_name);
    IF v_available IS NULL THEN
        RAISE EXCEPTION 'the charge of session % is not the common case', p_session USING ERRCODE = 'TP001';
    END IF;
    RETURN v_available;
END
$$;
