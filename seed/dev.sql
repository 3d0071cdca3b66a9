-- The development seed: the spec's test tenant, its owner, API key and project, plus a second
-- tenant with its own, so tenant isolation can be tried by hand. The one source of this data:
--   * the image's entrypoint runs it as the superuser on EVERY start when CI_DB_DEV_SEED=1
--     (compose.yaml sets it; the image never does), against the socket-only start-up server;
--   * `cidb seed` runs it as ci_admin (BYPASSRLS) against the stack or any --target.
-- psql runs it from this directory: tenant settings come from plan-limits.json beside it.
--
-- Idempotent: every row is inserted only when missing, so a second run adds nothing and leaves
-- hand edits alone. An API key is created only when its tenant has no "Development Key"; only
-- its SHA-256 and display prefix are stored, and the key itself is printed once, after COMMIT.
-- An existing key is never printed again nor rotated: delete it and re-run for a new one.
--
-- Both users sign in with the public development password "testpassword123"; the hashes below
-- are argon2id (argon2-cffi defaults: m=65536 KiB, t=3, p=4), computed once and committed.
\set ON_ERROR_STOP on
\set plan_limits `cat plan-limits.json`

BEGIN;
SET LOCAL lock_timeout = '5s';
-- `cidb seed` during a container's start-up must not insert a second user (users has no unique
-- key on email, so NOT EXISTS alone would race).
SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('ci-db dev seed')) AS locked \gset

INSERT INTO public.tenants (name, slug, plan, region, settings)
SELECT t.name, t.slug, t.plan::public.plan, t.region::public.region,
    (:'plan_limits'::jsonb) -> t.plan
FROM (VALUES
    ('Test Organization', 'test-org', 'pro', 'us'),
    ('Second Organization', 'second-org', 'starter', 'eu')
) AS t (name, slug, plan, region)
ON CONFLICT (slug) DO NOTHING;

INSERT INTO public.users (tenant_id, email, name, role, password_hash, email_verified)
SELECT t.id, u.email, u.name, 'owner', u.password_hash, true
FROM (VALUES
    ('test-org', 'dev@contextinject.ai', 'Dev User',
        '$argon2id$v=19$m=65536,t=3,p=4$M1Tr0yiOFDmzE+NcEexMRA$b9PIR1DfaJhVRR1FWEW2JBvo4OMdMSbglW4IQY2wdhA'),
    ('second-org', 'dev2@contextinject.ai', 'Second Dev User',
        '$argon2id$v=19$m=65536,t=3,p=4$vV29xd44nyKZ5j/MiPt4cw$LvlWXkwuDFAgn+I+FQBY6YD9RUlMZ8nQPL6pDYi4uyo')
) AS u (slug, email, name, password_hash)
JOIN public.tenants AS t ON t.slug = u.slug
WHERE NOT EXISTS (
    SELECT FROM public.users AS x WHERE x.tenant_id = t.id AND x.email = u.email
);

INSERT INTO public.projects (tenant_id, name, description)
SELECT t.id, 'Default Project', p.description
FROM (VALUES
    ('test-org', 'Development test project'),
    ('second-org', 'Development test project of the second tenant')
) AS p (slug, description)
JOIN public.tenants AS t ON t.slug = p.slug
ON CONFLICT (tenant_id, name) DO NOTHING;

-- The key is "ci_test_" + 64 hex digits of 256 random bits. Core PostgreSQL has no
-- gen_random_bytes() without pgcrypto, so the bits come from three gen_random_uuid()s (122 bits
-- of the server's strong random source each) through SHA-256. The CTE is referenced twice, so it
-- is evaluated once: the key printed is the key whose hash is stored.
WITH fresh AS (
    SELECT t.id AS tenant_id, t.slug,
        'ci_test_' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.decode(pg_catalog.replace(
            gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text,
            '-', ''), 'hex')), 'hex') AS raw_key
    FROM public.tenants AS t
    WHERE t.slug IN ('test-org', 'second-org')
      AND NOT EXISTS (
          SELECT FROM public.api_keys AS k
          WHERE k.tenant_id = t.id AND k.name = 'Development Key'
      )
), stored AS (
    INSERT INTO public.api_keys (tenant_id, key_hash, prefix, name, scopes, environment)
    SELECT f.tenant_id,
        pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(f.raw_key, 'UTF8')), 'hex'),
        pg_catalog.left(f.raw_key, 16), 'Development Key',
        '["documents:read", "documents:write", "query", "admin"]', 'test'
    FROM fresh AS f
    RETURNING tenant_id
)
-- One row always (NULL when nothing was created); \gset unsets a variable for a NULL.
SELECT max(f.raw_key) FILTER (WHERE f.slug = 'test-org') AS test_org_key,
    max(f.raw_key) FILTER (WHERE f.slug = 'second-org') AS second_org_key
FROM fresh AS f
JOIN stored AS s USING (tenant_id)
\gset

COMMIT;

\echo 'ci-db seed: tenants test-org and second-org; sign in as dev@contextinject.ai (test-org) or dev2@contextinject.ai (second-org), password testpassword123'
\if :{?test_org_key}
\echo 'ci-db seed: test-org Development Key (shown once, only its SHA-256 is stored):' :test_org_key
\else
\echo 'ci-db seed: test-org already has its Development Key; not shown again (delete it and re-run the seed for a new one)'
\endif
\if :{?second_org_key}
\echo 'ci-db seed: second-org Development Key (shown once, only its SHA-256 is stored):' :second_org_key
\else
\echo 'ci-db seed: second-org already has its Development Key; not shown again (delete it and re-run the seed for a new one)'
\endif
