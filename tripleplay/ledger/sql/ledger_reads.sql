-- The ledger's reads for other apps' database functions (the one door: only ledger/ names the money
-- tables, docs/ledger.md), as ledger.selectors is for Python. Plain SQL functions, STABLE. A scalar one
-- whose body reads a table is not inlined: PostgreSQL plans its body again at each execution of the
-- calling statement. A set-returning one called in FROM (LATERAL) is inlined into the caller's plan.

-- A customer's available funds (balance + credit limit - held), minor units; no row without a funds row.
-- Set-returning so that the caller's cached plan holds it (D291): `LEFT JOIN LATERAL
-- ledger_available_funds(c.id) f ON true`, then f.available_minor (NULL without a funds row).
CREATE OR REPLACE FUNCTION ledger_available_funds(p_customer bigint) RETURNS TABLE (available_minor bigint)
LANGUAGE sql STABLE AS $$
    SELECT f.balance_minor + f.credit_limit_minor - f.held_minor FROM ledger_funds f WHERE f.customer_id = p_customer
$$;
