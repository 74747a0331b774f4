-- tripleplay.ppv.services.authorize when it approves with a hold, in one round trip; NULL (nothing
-- written) otherwise, and the Python path, the reference, answers the call. The hold itself is the
-- ledger's (ledger/sql/ledger_place_hold.sql: the funds row's conditional UPDATE, the hold row, its
-- audit event); this function decides and writes the purchase row with its stored answer. Answers are
-- built as Python builds them (tests: tripleplay/ppv/tests/test_db_hot_path.py).
CREATE OR REPLACE FUNCTION ppv_authorize_approve(
    p_platform bigint, p_tx text, p_sub text, p_event text, p_price bigint, p_currency text,
    p_now timestamptz, p_today date, p_expires timestamptz, p_expires_iso text, p_request jsonb,
    p_actor_kind text, p_actor_ref text, p_actor_name text
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_price bigint;
    v_currency text;
    v_title text;
    v_owner text := '';
    v_event_id bigint;
    v_held record;
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
    -- An assignment, not SELECT ... INTO: PL/pgSQL evaluates it as a simple expression, without a
    -- query executor of its own (half the cost of the nested call).
    v_held := ledger_place_hold(r.customer_id, r.account_id, v_price, v_currency, 'ppv:' || p_platform || ':' || p_tx,
                                p_tx, 'PPV: ' || v_title, p_now, p_expires, p_actor_kind, p_actor_ref, p_actor_name);
    v_hold := v_held.o_hold;
    IF v_hold IS NULL THEN
        RETURN NULL;  -- the funds do not cover it: the Python path declines
    END IF;
    v_answer := jsonb_build_object(
        'result', 'approved', 'code', 'ok', 'message', 'approved: funds held until confirmed or cancelled',
        'transaction_id', p_tx, 'authorization_id', NULL, 'subscriber', p_sub, 'event_id', p_event,
        'amount_minor', v_price, 'currency', v_currency, 'available_minor', v_held.o_available, 'expires_at', p_expires_iso);
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
