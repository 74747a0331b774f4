-- The ledger's reads for other apps' database functions (the one door: only ledger/ names the money
-- tables, docs/ledger.md), as ledger.selectors is for Python. Plain SQL functions, STABLE, so that
-- PostgreSQL inlines them into the caller's query: one index lookup each, no call overhead.

-- A customer's available funds (balance + credit limit - held), minor units; NULL without a funds row.
CREATE OR REPLACE FUNCTION ledger_available_minor(p_customer bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT f.balance_minor + f.credit_limit_minor - f.held_minor FROM ledger_funds f WHERE f.customer_id = p_customer
$$;

-- What an active hold still holds at ``p_now`` (minor units); NULL when it is not active or has expired.
CREATE OR REPLACE FUNCTION ledger_open_hold_minor(p_hold bigint, p_now timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT h.amount_minor FROM ledger_hold h WHERE h.id = p_hold AND h.status = 'active' AND h.expires_at > p_now
$$;
