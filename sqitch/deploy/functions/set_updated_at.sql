-- Deploy contextinject:functions/set_updated_at to pg
-- One trigger function for every table with updated_at, so the column is true whoever writes the
-- row (app, admin tooling, a hand-run UPDATE) and no client can forget or forge it.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE FUNCTION public.set_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    -- now(), not clock_timestamp(): the same instant as the DEFAULT now() of rows the same
    -- transaction inserted.
    NEW.updated_at := pg_catalog.now();
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION public.set_updated_at() IS
    'BEFORE UPDATE row trigger: stamps NEW.updated_at with the transaction time.';

COMMIT;
