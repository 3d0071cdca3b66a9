-- See README.md: expect.relation is a pg_partman set on created_at that drops past its retention,
-- with a default partition and its primary key, and each partition is as closed as the parent.
DO $$
DECLARE
    name text := current_setting('expect.relation');
    tab regclass := name::regclass;
    open_partitions text;
BEGIN
    IF NOT EXISTS (
        SELECT FROM partman.part_config
        WHERE parent_table = name AND control = 'created_at'
          AND retention IS NOT NULL AND NOT retention_keep_table
    ) THEN
        RAISE EXCEPTION '%: no pg_partman set on created_at that drops past a retention', tab;
    END IF;
    IF pg_catalog.to_regclass(name || '_default') IS NULL THEN
        RAISE EXCEPTION '%: default partition missing', tab;
    END IF;
    IF NOT EXISTS (
        SELECT FROM pg_catalog.pg_class AS c
        JOIN pg_catalog.pg_constraint AS k
          ON k.conrelid = c.oid AND k.contype = 'p' AND k.conname = c.relname || '_pkey'
        WHERE c.oid = tab AND c.relkind = 'p'
    ) THEN
        RAISE EXCEPTION '%: not partitioned, or its primary key is missing', tab;
    END IF;
    -- A partition is reachable by name: a grant or a missing policy on it bypasses the parent's.
    SELECT pg_catalog.string_agg(c.oid::regclass::text, ', ' ORDER BY c.relname)
    INTO open_partitions
    FROM pg_catalog.pg_inherits AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
    WHERE i.inhparent = tab
      AND (NOT (c.relrowsecurity AND c.relforcerowsecurity)
           OR EXISTS (SELECT FROM pg_catalog.aclexplode(c.relacl) AS a
                      WHERE a.grantee <> c.relowner)
           OR NOT EXISTS (SELECT FROM pg_catalog.pg_policy AS p
                          WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation'));
    IF open_partitions IS NOT NULL THEN
        RAISE EXCEPTION '%: partitions granted to a role or without the forced tenant policy: %',
            tab, open_partitions;
    END IF;
END
$$;
