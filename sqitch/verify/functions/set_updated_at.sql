-- Verify contextinject:functions/set_updated_at on pg
BEGIN;

-- Behaviour, not just presence: an UPDATE that tries to set updated_at gets the transaction time.
-- Everything here is rolled back; a temporary table keeps the probe out of the schema.
CREATE TEMPORARY TABLE set_updated_at_probe (updated_at timestamptz NOT NULL);
CREATE TRIGGER set_updated_at
    BEFORE UPDATE ON pg_temp.set_updated_at_probe
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
INSERT INTO pg_temp.set_updated_at_probe VALUES ('-infinity');
UPDATE pg_temp.set_updated_at_probe SET updated_at = '-infinity';
SELECT 1 / count(*) FROM pg_temp.set_updated_at_probe WHERE updated_at = pg_catalog.now();

ROLLBACK;
