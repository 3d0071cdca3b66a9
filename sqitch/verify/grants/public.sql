-- Verify contextinject:grants/public on pg
BEGIN;

DO $$
BEGIN
    IF EXISTS (
        SELECT FROM pg_catalog.pg_proc AS p, LATERAL pg_catalog.aclexplode(p.proacl) AS a
        WHERE p.pronamespace = 'public'::regnamespace AND a.grantee = 0
          AND p.proowner IN ('ci_owner'::regrole, 'ci_auth_lookup'::regrole)
    ) OR EXISTS (
        SELECT FROM pg_catalog.pg_proc AS p
        WHERE p.pronamespace = 'public'::regnamespace AND p.proacl IS NULL
          AND p.proowner IN ('ci_owner'::regrole, 'ci_auth_lookup'::regrole)
    ) THEN
        RAISE EXCEPTION 'PUBLIC can execute a function of ours';
    END IF;
    IF EXISTS (
        SELECT FROM pg_catalog.pg_type AS t
        WHERE t.typnamespace = 'public'::regnamespace AND t.typowner = 'ci_owner'::regrole
          AND t.typtype = 'e'
          AND (t.typacl IS NULL
               OR EXISTS (SELECT FROM pg_catalog.aclexplode(t.typacl) AS a WHERE a.grantee = 0))
    ) THEN
        RAISE EXCEPTION 'PUBLIC can use a type of ours';
    END IF;
END
$$;

ROLLBACK;
