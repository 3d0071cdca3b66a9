-- Extensions, run by the entrypoint as the superuser on every start (psql variables db and
-- superuser). They live in their own schema, `extensions`, owned by the superuser and writable
-- by nobody else: an extension script runs as the superuser with its target schema in
-- search_path (trusted ones like pg_trgm too), so a schema a non-superuser can write (public:
-- ci_owner creates there) would let that role plant a function or operator the superuser then
-- runs. Everything is schema-qualified: this file must not depend on the caller's search_path.
--
-- All four are created here, not by Sqitch: vector and pg_stat_statements are not trusted, and
-- pg_trgm and uuid-ossp created by the superuser are owned by it rather than by ci_owner. The
-- Sqitch change "extensions" then only checks them (its CREATE ... IF NOT EXISTS are no-ops).
-- ALTER EXTENSION ... UPDATE brings a volume made by an older image to the SQL version of the
-- library this image ships (pgvector 0.8.0 -> 0.8.6).

CREATE SCHEMA IF NOT EXISTS extensions AUTHORIZATION :"superuser";
-- A schema of that name made by someone else (ci_owner may create schemas) becomes ours, and
-- only USAGE is handed out, whatever grants it had.
ALTER SCHEMA extensions OWNER TO :"superuser";
REVOKE ALL ON SCHEMA extensions FROM PUBLIC, ci_owner, ci_migrator, ci_app, ci_readonly, ci_admin,
    pgbouncer_auth, ci_auth_lookup, ci_monitor, ci_partman;
-- ci_monitor: for extensions.pg_stat_statements (the exporters' top queries, cidb top).
GRANT USAGE ON SCHEMA extensions TO ci_owner, ci_migrator, ci_app, ci_readonly, ci_admin, ci_monitor;

-- A volume made before this schema existed has them in public: move them (all four are
-- relocatable; the column types, operator classes and indexes that use them follow by oid).
SELECT pg_catalog.format('ALTER EXTENSION %I SET SCHEMA extensions', e.extname)
FROM pg_catalog.pg_extension AS e
WHERE e.extname IN ('vector', 'pg_trgm', 'uuid-ossp', 'pg_stat_statements')
  AND e.extnamespace <> 'extensions'::pg_catalog.regnamespace
\gexec

CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA extensions;
ALTER EXTENSION vector UPDATE;
ALTER EXTENSION pg_trgm UPDATE;
ALTER EXTENSION "uuid-ossp" UPDATE;
ALTER EXTENSION pg_stat_statements UPDATE;

-- Every role resolves vector, <=>, the trigram operators and uuid_generate_v4() unqualified.
-- Database level, not per role: one place, and no role-level settings to police.
ALTER DATABASE :"db" SET search_path = "$user", public, extensions;

-- pg_partman (the time-partitioned log tables, docs/partitions.md) in its own schema, also the
-- superuser's: its functions run as their caller (ci_owner, from the Sqitch changes and from
-- public.run_partition_maintenance()), which gets USAGE, EXECUTE and its configuration tables,
-- never CREATE there (ALTER EXTENSION ... UPDATE runs as the superuser with that schema first in
-- search_path). Templates are off (create_parent's p_template_table 'false'), so pg_partman
-- never needs to create a table of its own in that schema.
CREATE SCHEMA IF NOT EXISTS partman AUTHORIZATION :"superuser";
ALTER SCHEMA partman OWNER TO :"superuser";
REVOKE ALL ON SCHEMA partman FROM PUBLIC, ci_owner, ci_migrator, ci_app, ci_readonly, ci_admin,
    pgbouncer_auth, ci_auth_lookup, ci_monitor, ci_partman;
CREATE EXTENSION IF NOT EXISTS pg_partman WITH SCHEMA partman;
ALTER EXTENSION pg_partman UPDATE;
GRANT USAGE ON SCHEMA partman TO ci_owner;
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA partman FROM PUBLIC;
GRANT EXECUTE ON ALL ROUTINES IN SCHEMA partman TO ci_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA partman TO ci_owner;
