-- Verify contextinject:constraints/metadata_size on pg
BEGIN;

SELECT 1 / (count(*) = 8)::int
FROM pg_catalog.pg_constraint
WHERE contype = 'c' AND conname LIKE '%\_metadata\_size\_check'
  AND connamespace = 'public'::regnamespace
  -- A partition's copy of its parent's check (partitions/*) is not another rule.
  AND conrelid NOT IN (SELECT oid FROM pg_catalog.pg_class WHERE relispartition);

ROLLBACK;
