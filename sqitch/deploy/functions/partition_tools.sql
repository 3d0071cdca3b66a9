-- Deploy contextinject:functions/partition_tools to pg
-- The owner's tools for the time-partitioned log tables (docs/partitions.md), run as ci_owner and
-- granted to nobody:
--   copy_row_security(from, to): RLS enabled/forced and every policy of FROM, on TO;
--   secure_partitions(parent): copy_row_security(parent, child) for each partition, so a
--     partition read directly (by its owner: no other role has a grant on it) is held to the
--     same tenant policy as its parent;
--   rebuild_log_table(table, partitioned, interval, premake, retention): the table rebuilt as a
--     pg_partman range partition set on created_at (or back into a plain table, for the revert)
--     with its rows, keys, foreign keys, indexes, checks, grants and policies, under one ACCESS
--     EXCLUSIVE lock held to the end of the caller's transaction.
-- search_path is pinned: every name is qualified, and the DDL text read back from the catalogs
-- (pg_get_indexdef, pg_get_constraintdef, pg_get_expr) comes out schema-qualified.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE FUNCTION public.copy_row_security(p_from regclass, p_to regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pol record;
BEGIN
    IF (SELECT c.relrowsecurity FROM pg_catalog.pg_class AS c WHERE c.oid = p_from) THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_to);
    END IF;
    IF (SELECT c.relforcerowsecurity FROM pg_catalog.pg_class AS c WHERE c.oid = p_from) THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p_to);
    END IF;
    FOR pol IN
        SELECT p.polname,
            CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS cmd,
            CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END AS kind,
            (SELECT pg_catalog.string_agg(
                    CASE WHEN r.oid = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(a.rolname) END, ', ')
             FROM pg_catalog.unnest(p.polroles) AS r(oid)
             LEFT JOIN pg_catalog.pg_roles AS a ON a.oid = r.oid) AS roles,
            pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual,
            pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS withcheck
        FROM pg_catalog.pg_policy AS p
        WHERE p.polrelid = p_from
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_policy AS q
                          WHERE q.polrelid = p_to AND q.polname = p.polname)
    LOOP
        EXECUTE pg_catalog.format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s',
            pol.polname, p_to, pol.kind, pol.cmd, pol.roles,
            CASE WHEN pol.qual IS NOT NULL THEN pg_catalog.format(' USING (%s)', pol.qual) END,
            CASE WHEN pol.withcheck IS NOT NULL
                THEN pg_catalog.format(' WITH CHECK (%s)', pol.withcheck) END);
    END LOOP;
END
$$;

CREATE FUNCTION public.secure_partitions(p_parent regclass)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    child regclass;
    secured integer := 0;
BEGIN
    FOR child IN
        SELECT i.inhrelid::pg_catalog.regclass FROM pg_catalog.pg_inherits AS i
        WHERE i.inhparent = p_parent ORDER BY 1
    LOOP
        PERFORM public.copy_row_security(p_parent, child);
        -- Partitions are reached through the parent only: nobody holds a grant on one.
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM PUBLIC', child);
        secured := secured + 1;
    END LOOP;
    RETURN secured;
END
$$;

CREATE FUNCTION public.rebuild_log_table(
    p_table regclass,
    p_partitioned boolean,
    p_interval text DEFAULT '1 month',
    p_premake integer DEFAULT 4,
    p_retention text DEFAULT NULL
)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_schema name;
    v_name name;
    v_old regclass;
    v_new regclass;
    v_force boolean;
    v_rows bigint;
    v_copied bigint;
    v_start timestamptz;
    v_ddl text[] := '{}';
    v_drop text[] := '{}';
    v_stmt text;
    r record;
BEGIN
    SELECT n.nspname, c.relname, c.relforcerowsecurity INTO v_schema, v_name, v_force
    FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.oid = p_table;
    -- Writes (and reads) of the table wait from here to the caller's COMMIT.
    EXECUTE pg_catalog.format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', p_table);

    -- Keys: a partitioned table's must include the partition key, so created_at is appended
    -- (and taken off again on the way back). Foreign keys and indexes as they are.
    FOR r IN
        SELECT con.conname, con.contype, pg_catalog.pg_get_constraintdef(con.oid) AS def,
            ARRAY(SELECT a.attname FROM pg_catalog.unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_catalog.pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                  WHERE a.attname <> 'created_at' ORDER BY k.ord) AS cols
        FROM pg_catalog.pg_constraint AS con
        WHERE con.conrelid = p_table AND con.contype IN ('p', 'u', 'f')
        ORDER BY con.contype DESC, con.conname
    LOOP
        IF r.contype = 'f' THEN
            v_ddl := v_ddl || pg_catalog.format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s',
                v_schema, v_name, r.conname, r.def);
        ELSE
            IF p_partitioned THEN
                r.cols := r.cols || 'created_at'::name;
            END IF;
            v_ddl := v_ddl || pg_catalog.format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s (%s)',
                v_schema, v_name, r.conname,
                CASE r.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END,
                (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest(r.cols) AS c));
            v_drop := v_drop || pg_catalog.format('ALTER TABLE %I.%I DROP CONSTRAINT %I',
                v_schema, v_name || '_rebuilt', r.conname);
        END IF;
    END LOOP;
    FOR r IN
        SELECT i.indexrelid::pg_catalog.regclass AS idx, pg_catalog.pg_get_indexdef(i.indexrelid) AS def
        FROM pg_catalog.pg_index AS i
        WHERE i.indrelid = p_table
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint AS con WHERE con.conindid = i.indexrelid
                          AND con.conrelid = p_table)
        ORDER BY 1
    LOOP
        v_ddl := v_ddl || r.def;
        v_drop := v_drop || pg_catalog.format('DROP INDEX %s', r.idx);
    END LOOP;
    -- Grants, table and column level, as they are (never to a partition).
    FOR r IN
        SELECT a.privilege_type, a.grantee FROM pg_catalog.pg_class AS c,
            pg_catalog.aclexplode(c.relacl) AS a
        WHERE c.oid = p_table AND a.grantee <> c.relowner
    LOOP
        v_ddl := v_ddl || pg_catalog.format('GRANT %s ON TABLE %I.%I TO %s', r.privilege_type,
            v_schema, v_name,
            CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r.grantee)) END);
    END LOOP;
    FOR r IN
        SELECT att.attname, a.privilege_type, a.grantee
        FROM pg_catalog.pg_attribute AS att, pg_catalog.aclexplode(att.attacl) AS a
        WHERE att.attrelid = p_table AND att.attnum > 0 AND NOT att.attisdropped
    LOOP
        v_ddl := v_ddl || pg_catalog.format('GRANT %s (%I) ON TABLE %I.%I TO %s', r.privilege_type,
            r.attname, v_schema, v_name,
            CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r.grantee)) END);
    END LOOP;

    -- The old table steps aside: its name, and the names of its keys and indexes, go to the new.
    EXECUTE pg_catalog.format('ALTER TABLE %s RENAME TO %I', p_table, v_name || '_rebuilt');
    v_old := p_table;
    FOREACH v_stmt IN ARRAY v_drop LOOP
        EXECUTE v_stmt;
    END LOOP;
    EXECUTE pg_catalog.format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
        ' INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION)%s',
        v_schema, v_name, v_old, CASE WHEN p_partitioned THEN ' PARTITION BY RANGE (created_at)' END);
    v_new := pg_catalog.format('%I.%I', v_schema, v_name)::pg_catalog.regclass;
    FOREACH v_stmt IN ARRAY v_ddl LOOP
        EXECUTE v_stmt;
    END LOOP;

    -- The owner reads every row only while the policy is not forced on it.
    EXECUTE pg_catalog.format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', v_old);
    IF p_partitioned THEN
        -- Partitions from the oldest month with rows, but none before the retention cut-off
        -- (older rows go to the default partition, where the check reports them; none is lost).
        EXECUTE pg_catalog.format('SELECT min(created_at) FROM %s', v_old) INTO v_start;
        IF v_start IS NOT NULL AND p_retention IS NOT NULL THEN
            v_start := GREATEST(v_start, pg_catalog.now() - p_retention::interval);
        END IF;
        PERFORM partman.create_parent(
            p_parent_table := pg_catalog.format('%I.%I', v_schema, v_name),
            p_control := 'created_at',
            p_interval := p_interval,
            p_premake := p_premake,
            p_start_partition := pg_catalog.date_trunc('month', v_start)::text,
            p_default_table := false,
            p_template_table := 'false',
            p_jobmon := false);
        -- The default partition (rows outside the premade range) made here: pg_partman 5.2.4's
        -- create_parent with p_default_table and without a template table raises.
        EXECUTE pg_catalog.format('CREATE TABLE %I.%I PARTITION OF %s DEFAULT',
            v_schema, v_name || '_default', v_new);
        UPDATE partman.part_config
        SET retention = p_retention,
            retention_keep_table = false,
            infinite_time_partitions = true
        WHERE parent_table = pg_catalog.format('%I.%I', v_schema, v_name);
    ELSE
        DELETE FROM partman.part_config
        WHERE parent_table = pg_catalog.format('%I.%I', v_schema, v_name);
    END IF;

    EXECUTE pg_catalog.format('SELECT count(*) FROM %s', v_old) INTO v_rows;
    EXECUTE pg_catalog.format('INSERT INTO %s SELECT * FROM %s', v_new, v_old);
    GET DIAGNOSTICS v_copied = ROW_COUNT;
    IF v_copied <> v_rows THEN
        RAISE EXCEPTION 'rebuilding %: copied % rows of %', v_new, v_copied, v_rows;
    END IF;
    IF v_force THEN
        EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', v_old);
    END IF;
    PERFORM public.copy_row_security(v_old, v_new);
    PERFORM public.secure_partitions(v_new);
    EXECUTE pg_catalog.format('DROP TABLE %s', v_old);
    RETURN v_copied;
END
$$;

-- Per-schema default privileges cannot take back the global EXECUTE for PUBLIC: revoked here.
REVOKE EXECUTE ON FUNCTION public.copy_row_security(regclass, regclass),
    public.secure_partitions(regclass),
    public.rebuild_log_table(regclass, boolean, text, integer, text) FROM PUBLIC;

COMMIT;
