-- FreeRADIUS's rlm_sql instance tripleplay_sql (tripleplay/radius/freeradius/mods/tripleplay_sql) asks
-- these for a plain PAP Access-Request (D270-D273, D291). They answer only what tripleplay/api/aaa.py's
-- authorize would accept; every other case (an unknown login, any refusal of radius.decision, no funds
-- row, a password not yet hashed, a User-Name rlm_sql escaped, a reply not materialised) is 0 rows,
-- rlm_sql's notfound, and the
-- site asks the rest path, where Python decides and names the refusal exactly as without this path.
-- Reply attributes are not computed here: they are radius_replyattribute's rows, which
-- radius.services writes from radius.attributes (D271).
-- Least privilege (D300): the SQL path's own functions here (radius_sql_authorize_pap,
-- radius_sql_post_auth_batch) are SECURITY DEFINER, owned by the migrating user, with search_path pinned
-- to pg_catalog, public, pg_temp (temporary objects last: they cannot capture a table name); EXECUTE is
-- revoked from PUBLIC (core.sqlfiles.install) and granted only to the role of TRIPLEPLAY_RADIUS_SQL_URL
-- (radius.sqlrole, `tripleplay radius-sql-role`), which has no other right in the database.
-- radius_sql_post_auth is no longer called by the SQL path (the batch is): invoker's rights, no grant.

-- rlm_sql's authorize_reply_query, its only authorize query (no check query: one statement per
-- Access-Request): (id, username, attribute, value, op) rows for the reply list, the product's reply
-- attributes in the NAS vendor's dictionary in radius.attributes' order (D271), then the password's
-- SSHA2-512-Password (D270), which the site moves to the control list for pap.
-- p_username is rlm_sql's escaped %{SQL-User-Name}: a character outside safe_characters became
-- "=XX", and "=" is itself outside them, so a name with "=" is not the login's own: 0 rows.
-- The accept rule is radius.decision.refusal's negation (tested against it on a table of cases,
-- tripleplay/radius/tests/test_sql_path.py); the lookup is radius.selectors.authorize_lookup's.
CREATE OR REPLACE FUNCTION radius_sql_authorize_pap(p_username text, p_nas text, p_time_zone text)
RETURNS TABLE (id bigint, username text, attribute text, value text, op text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_today date := (now() AT TIME ZONE p_time_zone)::date;
    r record;
BEGIN
    IF p_username = '' OR position('=' IN p_username) > 0 THEN
        RETURN;
    END IF;
    -- One query (one cached plan) for the access, each read a join evaluated once (D291): the funds
    -- through the ledger's set-returning read, which the plan inlines (a scalar SQL function's body would
    -- be planned again at every call); the main product as a LATERAL; the enabled NAS's vendor (its
    -- address is unique). The login is unique, and so is its internet login: at most one row.
    SELECT a.id AS account_id, l.password_ssha512 AS hash, a.status AS account_status, c.status AS customer_status,
           f.available_minor AS available,
           EXISTS (SELECT 1 FROM customers_vacationhold v WHERE v.account_id = a.id AND v.status = 'active') AS on_hold,
           s.product_id,
           (SELECT n.vendor FROM radius_nasclient n WHERE n.address = p_nas::inet AND n.enabled) AS vendor
      INTO r
      FROM customers_account a
      JOIN radius_internetlogin l ON l.account_id = a.id
      JOIN customers_customer c ON c.id = a.customer_id
      LEFT JOIN LATERAL ledger_available_funds(a.customer_id) f ON true
      LEFT JOIN LATERAL (
           SELECT ap.product_id FROM customers_accountproduct ap
            WHERE ap.account_id = a.id AND ap.role = 'main' AND ap.start_date <= v_today
              AND (ap.end_date IS NULL OR ap.end_date > v_today) ORDER BY ap.id LIMIT 1) p ON true
      LEFT JOIN radius_internetservice s ON s.product_id = p.product_id
     WHERE a.login = p_username;
    -- No row: no such login. Then radius.decision.refusal's rules, and what the SQL path needs (an
    -- enabled NAS there, the funds row, the one-way password).
    IF NOT FOUND
       OR r.account_status IN ('closed', 'blocked', 'suspended') OR r.customer_status IN ('closed', 'blocked', 'suspended')
       OR r.on_hold OR r.product_id IS NULL OR r.available IS NULL OR r.available <= 0 OR r.hash = ''
       OR r.vendor IS NULL THEN
        RETURN;
    END IF;
    -- The materialised reply in the vendor's dictionary, in order (the unique index's order). None: the
    -- product's reply is not materialised for that vendor (a value rlm_sql would unquote, D271), and
    -- nothing is answered: the rest path does.
    RETURN QUERY SELECT r.account_id, p_username, ra.attribute::text, ra.value::text, ':='::text
      FROM radius_replyattribute ra WHERE ra.product_id = r.product_id AND ra.vendor = r.vendor
     ORDER BY ra.position;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    id := r.account_id;
    username := p_username;
    op := ':=';
    attribute := 'SSHA2-512-Password';
    value := r.hash;
    RETURN NEXT;
END
$$;

-- One accepted login of the SQL path (D273; since D290 the logins reader calls the batch function below,
-- and this one is the reference the batch is tested against):
-- radius.services.record_login_of's UPDATE at the time it was accepted (p_at, Unix seconds), unless a
-- later authentication is recorded already (the rest path records CHAP logins at once), committed
-- without waiting for the WAL flush (D211: the set_config is this statement's transaction's, read at
-- its commit). Returns the rows updated.
CREATE OR REPLACE FUNCTION radius_sql_post_auth(p_username text, p_nas text, p_at bigint)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_rows integer;
    v_at timestamptz := to_timestamp(p_at);
BEGIN
    IF p_username = '' OR position('=' IN p_username) > 0 THEN
        RETURN 0;
    END IF;
    PERFORM set_config('synchronous_commit', 'off', true);
    UPDATE radius_internetlogin
       SET last_auth_at = v_at,
           last_nas_id = (SELECT n.id FROM radius_nasclient n WHERE n.address = p_nas::inet AND n.enabled
                           ORDER BY n.id LIMIT 1)
     WHERE account_id IN (SELECT a.id FROM customers_account a WHERE a.login = p_username)
       AND (last_auth_at IS NULL OR last_auth_at <= v_at);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;

-- The SQL path's accepted logins, many in one statement (D290): tripleplay.radius.logins reads them from
-- FreeRADIUS's file (run/logins/detail) and calls this once per batch, in one transaction committed
-- before the file's entries are removed. Per login only the latest of the batch is written (the
-- greatest p_at, the last in the file among equal ones), and never over a later authentication already
-- recorded, so the result is the one radius_sql_post_auth gives replaying the entries one at a time.
-- Returns the rows updated.
CREATE OR REPLACE FUNCTION radius_sql_post_auth_batch(p_usernames text[], p_nas text[], p_at bigint[])
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_rows integer;
BEGIN
    UPDATE radius_internetlogin l
       SET last_auth_at = b.at,
           last_nas_id = (SELECT n.id FROM radius_nasclient n WHERE n.address = b.nas::inet AND n.enabled
                           ORDER BY n.id LIMIT 1)
      FROM (SELECT DISTINCT ON (a.id) a.id AS account_id, to_timestamp(u.at) AS at, u.nas
              FROM unnest(p_usernames, p_nas, p_at) WITH ORDINALITY AS u(username, nas, at, ord)
              JOIN customers_account a ON a.login = u.username
             WHERE u.username <> '' AND position('=' IN u.username) = 0
             ORDER BY a.id, u.at DESC, u.ord DESC) b
     WHERE l.account_id = b.account_id AND (l.last_auth_at IS NULL OR l.last_auth_at <= b.at);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;
