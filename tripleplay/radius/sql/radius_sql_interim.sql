-- An Interim-Update inside its session's fast window, handled whole by one row's UPDATE (D280, D295,
-- D296): called by FreeRADIUS's rlm_sql (mods/tripleplay_sql, "SELECT 1 WHERE radius_sql_interim(...) <> 0")
-- and by the accounting view first (radius/charging.py interim_in_window), with the request's
-- attributes as they come. The session's window row (charging_sessions_chargingwindow, narrow: the
-- one row this reads and writes) is found by its key (radius.charging.window_key: the NAS's address
-- and the Acct-Session-Id), read without a lock, and updated alone: the NAS's counters (reported_*,
-- each the greater of the stored and the reported, as record_accounting takes them; reports counts
-- the report for the NAS session row, which the Python path folds in, sessions.services.take_reports)
-- and the session's cumulative usage, billed units and charged_minor, read from the window's steps
-- ([limit in wire units, billed, cumulative charged_minor] * n, ascending, computed by
-- sessions/quota.py window(): no pricing here). The Python path folds them into the charging session
-- under its lock (sessions.services._fold). No ledger row is written: the session's active hold
-- reserved the whole window, so available funds are exact; what is charged and not yet posted is
-- posted by the Python path's next report, the Stop, the sweeper or the settle job.
-- What is NOT read here, each kept true by whoever changes it (D295): the account's and customer's
-- status and the NAS's (a change closes the windows, sessions.services.close_windows), the hold (a
-- window is opened with its hold and closed with it; its expiry is after the window's end plus the
-- idle timeout). The UPDATE is guarded by the hold and the end the window was read with, and takes
-- each value as the greater of the stored and its own, so a concurrent report of the same session,
-- committed first, is never undone (the steps ascend). It writes no indexed column (a HOT update).
--
-- The charging session's id: handled, written; minus that id: handled, a retransmission that changes
-- nothing (as the Python path answers it). 0, and nothing written: not the window's (no such key, no
-- window or past its end, usage beyond the window, the window closed meanwhile): the rest module
-- (Python) decides the request. Each request is wholly one path's.
-- SECURITY DEFINER with a pinned search_path, EXECUTE for the owner and the SQL path's role only (D300):
-- FreeRADIUS's login reaches this one row through this function and nothing else.
CREATE OR REPLACE FUNCTION radius_sql_interim(
    p_nas text, p_session text, p_in bigint, p_in_giga bigint, p_out bigint, p_out_giga bigint, p_time bigint,
    p_framed_ip inet, p_delay bigint, p_now timestamptz
) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    c_max_counter CONSTANT bigint := 9223372036854775807;  -- radius.services.MAX_COUNTER
    c_max_word CONSTANT bigint := 4294967295;  -- a RADIUS integer
    c_max_usage CONSTANT bigint := 4611686018427387904;  -- sessions.services.MAX_USAGE
    v_now timestamptz;
    v_id bigint;
    v_hold bigint;
    v_until timestamptz;
    v_window bigint[];
    v_used_was bigint;
    v_giga bigint;
    v_in_was bigint;
    v_out_was bigint;
    v_time_was bigint;
    v_in bigint;
    v_out bigint;
    v_time bigint;
    v_used bigint;
    v_n integer;
    v_lo integer;
    v_hi integer;
    v_mid integer;
    v_billed bigint;
    v_charged bigint;
BEGIN
    IF p_session IS NULL OR p_session = '' THEN
        RETURN 0;
    END IF;
    v_now := coalesce(p_now, now()) - make_interval(secs => least(greatest(coalesce(p_delay, 0), 0), 3600));
    SELECT w.session_id, w.hold_id, w.until, w.steps, w.used_wire, w.reported_input, w.reported_output,
           w.reported_seconds
      INTO v_id, v_hold, v_until, v_window, v_used_was, v_in_was, v_out_was, v_time_was
      FROM charging_sessions_chargingwindow w
     WHERE w.key = host(p_nas::inet) || ' ' || left(p_session, 64);
    IF NOT FOUND OR v_hold IS NULL OR v_until IS NULL OR v_now >= v_until THEN
        RETURN 0;
    END IF;
    -- Octets with their Gigawords, at most MAX_COUNTER, in bigint arithmetic (no numeric): below 2^31
    -- gigawords the sum is at most 2^63 - 1, from there on it is MAX_COUNTER (radius.services._octets).
    v_giga := least(greatest(coalesce(p_in_giga, 0), 0), c_max_word);
    v_in := greatest(v_in_was, CASE WHEN v_giga >= 2147483648 THEN c_max_counter
                                    ELSE v_giga * 4294967296 + least(greatest(coalesce(p_in, 0), 0), c_max_word) END);
    v_giga := least(greatest(coalesce(p_out_giga, 0), 0), c_max_word);
    v_out := greatest(v_out_was, CASE WHEN v_giga >= 2147483648 THEN c_max_counter
                                      ELSE v_giga * 4294967296 + least(greatest(coalesce(p_out, 0), 0), c_max_word) END);
    v_time := greatest(v_time_was, least(greatest(coalesce(p_time, 0), 0), c_max_word));
    IF v_in = v_in_was AND v_out = v_out_was AND v_time = v_time_was THEN
        RETURN -v_id;  -- a retransmission or a late duplicate: nothing changes (record_accounting's "unchanged")
    END IF;
    v_used := CASE WHEN v_in >= c_max_usage - v_out THEN c_max_usage ELSE v_in + v_out END;  -- charging.used_bytes
    IF v_used <= v_used_was THEN
        -- No new usage (only the time moved): no money moves, the session is alive (services._update).
        v_billed := 0;
        v_charged := 0;
    ELSE
        v_n := coalesce(array_length(v_window, 1), 0) / 3;
        IF v_n = 0 OR v_used > v_window[3 * v_n - 2] THEN
            RETURN 0;  -- beyond the window
        END IF;
        v_lo := 1;  -- the first step whose limit is at least the usage
        v_hi := v_n;
        WHILE v_lo < v_hi LOOP
            v_mid := (v_lo + v_hi) / 2;
            IF v_window[3 * v_mid - 2] >= v_used THEN
                v_hi := v_mid;
            ELSE
                v_lo := v_mid + 1;
            END IF;
        END LOOP;
        v_billed := v_window[3 * v_lo - 1];
        v_charged := v_window[3 * v_lo];
    END IF;
    UPDATE charging_sessions_chargingwindow
       SET reported_input = greatest(reported_input, v_in), reported_output = greatest(reported_output, v_out),
           reported_seconds = greatest(reported_seconds, v_time),
           reported_address = coalesce(p_framed_ip, reported_address), reports = reports + 1,
           used_wire = greatest(used_wire, v_used), billed = greatest(billed, v_billed),
           charged_minor = greatest(charged_minor, v_charged), last_seen_at = greatest(last_seen_at, v_now)
     WHERE session_id = v_id AND hold_id = v_hold AND until = v_until;
    IF NOT FOUND THEN
        RETURN 0;  -- the window closed (posted, a status change) between the read and the write
    END IF;
    RETURN v_id;
END
$$;
