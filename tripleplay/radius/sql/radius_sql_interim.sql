-- An Interim-Update inside its session's fast window, handled whole by one statement (D280): called by
-- FreeRADIUS's rlm_sql (mods/tripleplay_sql, "SELECT 1 WHERE radius_sql_interim(...) <> 0") and by the
-- accounting view first (radius/charging.py interim_in_window), with the request's attributes as they
-- come. Under the NAS session row's lock, then the charging session row's (the order of the Python path,
-- docs/concurrency.md): the NAS row's counters are taken as record_accounting takes them (each the
-- greater of the stored and the reported), and the charging session's cumulative usage, billed units
-- and charged_minor are read from its fast window (fast_steps: [limit in wire units, billed, cumulative
-- charged_minor], ascending, computed by sessions/quota.py window(): no pricing here). No ledger row is
-- written: the session's active hold reserved the whole window, so available funds are exact; what is
-- charged and not yet posted (charged_minor - posted_minor, at most the hold) is posted by the Python
-- path's next report, the Stop, the sweeper or the settle job (sessions.services.settle_windows).
-- Only columns no index covers are written (not expires_at, the sweeper's index: its deadline is
-- last_seen_at + fast_idle_seconds, sessions.services.silent_deadline), so both UPDATEs can be HOT.
--
-- The NAS session row's id: handled, written; minus that id: handled, a retransmission that changes
-- nothing (as the Python path answers it). 0, and nothing written: not the window's (no such session, stopped, no window or past fast_until,
-- usage beyond the window, the hold not active, the account or customer not active): the rest module
-- (Python) decides the request. Each request is wholly one path's.
CREATE OR REPLACE FUNCTION radius_sql_interim(
    p_nas text, p_session text, p_in bigint, p_in_giga bigint, p_out bigint, p_out_giga bigint, p_time bigint,
    p_framed_ip inet, p_delay bigint, p_now timestamptz
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    c_max_counter CONSTANT numeric := 9223372036854775807;  -- radius.services.MAX_COUNTER
    c_max_word CONSTANT bigint := 4294967295;  -- a RADIUS integer
    c_max_usage CONSTANT bigint := 4611686018427387904;  -- sessions.services.MAX_USAGE
    v_now timestamptz;
    v_nas bigint;
    ns radius_networksession%ROWTYPE;
    s charging_sessions_chargingsession%ROWTYPE;
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
    v_now := coalesce(p_now, now()) - make_interval(secs => least(greatest(coalesce(p_delay, 0), 0), 3600));
    SELECT id INTO v_nas FROM radius_nasclient WHERE address = p_nas::inet AND enabled ORDER BY id LIMIT 1;
    IF NOT FOUND OR p_session IS NULL OR p_session = '' THEN
        RETURN 0;
    END IF;
    SELECT * INTO ns FROM radius_networksession WHERE nas_id = v_nas AND acct_session_id = left(p_session, 64)
       FOR UPDATE;
    IF NOT FOUND OR ns.status <> 'active' THEN
        RETURN 0;
    END IF;
    v_in := greatest(ns.input_octets, least(least(greatest(coalesce(p_in_giga, 0), 0), c_max_word)::numeric * 4294967296
                     + least(greatest(coalesce(p_in, 0), 0), c_max_word), c_max_counter)::bigint);
    v_out := greatest(ns.output_octets, least(least(greatest(coalesce(p_out_giga, 0), 0), c_max_word)::numeric * 4294967296
                      + least(greatest(coalesce(p_out, 0), 0), c_max_word), c_max_counter)::bigint);
    v_time := greatest(ns.session_time_seconds, least(greatest(coalesce(p_time, 0), 0), c_max_word));
    IF v_in = ns.input_octets AND v_out = ns.output_octets AND v_time = ns.session_time_seconds THEN
        RETURN -ns.id;  -- a retransmission or a late duplicate: nothing changes (record_accounting's "unchanged")
    END IF;
    SELECT * INTO s FROM charging_sessions_chargingsession WHERE client = 'nas:' || v_nas
       AND session_id = ns.acct_session_id FOR UPDATE;
    IF NOT FOUND OR s.status <> 'active' OR NOT s.windowed OR s.fast_until IS NULL OR v_now >= s.fast_until
       OR s.hold_id IS NULL
       OR ledger_open_hold_minor(s.hold_id, v_now) IS NULL
       OR NOT EXISTS (SELECT 1 FROM customers_account a JOIN customers_customer c ON c.id = a.customer_id
                       WHERE a.id = s.account_id AND a.status = 'active' AND c.status = 'active') THEN
        RETURN 0;
    END IF;
    v_used := least(least(v_in::numeric + v_out, c_max_usage), c_max_counter)::bigint;
    IF v_used <= s.used_wire THEN
        -- No new usage (only the time moved): no money moves, the session is alive (services._update).
        v_billed := s.billed;
        v_charged := s.charged_minor;
        v_used := s.used_wire;
    ELSE
        v_n := jsonb_array_length(s.fast_steps);
        IF v_n = 0 OR v_used > (s.fast_steps -> (v_n - 1) ->> 0)::bigint THEN
            RETURN 0;  -- beyond the window
        END IF;
        v_lo := 0;  -- the first step whose limit is at least the usage
        v_hi := v_n - 1;
        WHILE v_lo < v_hi LOOP
            v_mid := (v_lo + v_hi) / 2;
            IF (s.fast_steps -> v_mid ->> 0)::bigint >= v_used THEN
                v_hi := v_mid;
            ELSE
                v_lo := v_mid + 1;
            END IF;
        END LOOP;
        v_billed := (s.fast_steps -> v_lo ->> 1)::bigint;
        v_charged := (s.fast_steps -> v_lo ->> 2)::bigint;
        IF v_charged < s.charged_minor OR v_billed < s.billed
           OR v_charged - s.posted_minor > ledger_open_hold_minor(s.hold_id, v_now) THEN
            RETURN 0;  -- never below what was charged, never beyond the hold (the window is built so)
        END IF;
    END IF;
    UPDATE radius_networksession
       SET input_octets = v_in, output_octets = v_out, session_time_seconds = v_time,
           framed_ip = coalesce(p_framed_ip, framed_ip), updated_at = v_now, interim_updates = interim_updates + 1
     WHERE id = ns.id;
    UPDATE charging_sessions_chargingsession
       SET used_wire = v_used, billed = v_billed, charged_minor = v_charged, must_end = '', last_seen_at = v_now
     WHERE id = s.id;
    RETURN ns.id;
END
$$;
