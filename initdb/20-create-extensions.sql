-- Extensions only a superuser may create (neither vector nor pg_stat_statements is trusted),
-- run by the entrypoint on every start. ALTER EXTENSION ... UPDATE brings a volume made by an
-- older image to the SQL version of the library this image ships (pgvector 0.8.0 -> 0.8.6).
-- The Sqitch change "extensions" then verifies them and owns the trusted ones itself.
CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA public;
ALTER EXTENSION vector UPDATE;
ALTER EXTENSION pg_stat_statements UPDATE;
