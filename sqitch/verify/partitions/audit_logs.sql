-- Verify contextinject:partitions/audit_logs on pg
BEGIN;

-- Partitioned on created_at, managed by pg_partman with a retention and a default partition.
SELECT 1 / count(*) FROM partman.part_config
WHERE parent_table = 'public.audit_logs' AND control = 'created_at' AND retention IS NOT NULL
  AND NOT retention_keep_table
  AND pg_catalog.to_regclass('public.audit_logs_default') IS NOT NULL;
SELECT 1 / count(*) FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_constraint AS k ON k.conrelid = c.oid AND k.conname = 'audit_logs_pkey'
WHERE c.oid = 'public.audit_logs'::regclass AND c.relkind = 'p'
  AND c.relrowsecurity AND c.relforcerowsecurity;
-- Every partition: the parent's policy, forced, and no grant to anyone but its owner.
SELECT 1 / (count(*) = 0)::int
FROM pg_catalog.pg_inherits AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = 'public.audit_logs'::regclass
  AND (NOT (c.relrowsecurity AND c.relforcerowsecurity)
       OR EXISTS (SELECT FROM pg_catalog.aclexplode(c.relacl) AS a WHERE a.grantee <> c.relowner)
       OR NOT EXISTS (SELECT FROM pg_catalog.pg_policy AS p
                      WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation'));

ROLLBACK;
