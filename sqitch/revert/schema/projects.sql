-- Revert contextinject:schema/projects from pg
BEGIN;
SET LOCAL lock_timeout = '5s';

DROP TABLE public.projects;

COMMIT;
