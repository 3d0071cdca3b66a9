-- The ci image only (Dockerfile target ci): ci_test, the role a test suite logs in as to clone
-- and drop its own databases. CREATEDB and nothing else: not superuser, no BYPASSRLS, member of
-- no role, owns nothing but the clones it makes. Its password is CI_TEST_PASSWORD at every
-- start; without one it cannot log in. Run by the entrypoint as the superuser, after the roles.
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET password_encryption = 'scram-sha-256';

SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'ci_test') AS missing
\gset
\if :missing
CREATE ROLE ci_test;
\endif
ALTER ROLE ci_test LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
ALTER ROLE ci_test RESET ALL;

\if :{?passwords}
\else
\set passwords '{}'
\endif
SELECT pg_catalog.format('ALTER ROLE ci_test PASSWORD %L',
    pg_catalog.jsonb_extract_path_text(:'passwords'::pg_catalog.jsonb, 'CI_TEST_PASSWORD'))
WHERE pg_catalog.jsonb_extract_path_text(:'passwords'::pg_catalog.jsonb, 'CI_TEST_PASSWORD') IS NOT NULL
\gexec

-- CREATE DATABASE is issued from a session in some database: this one.
GRANT CONNECT ON DATABASE :"db" TO ci_test;
