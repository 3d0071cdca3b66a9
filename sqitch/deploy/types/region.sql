-- Deploy contextinject:types/region to pg
-- The spec's regionEnum: fixed by where we run clusters, so a closed set is right.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TYPE public.region AS ENUM ('us', 'eu', 'apac');

COMMIT;
