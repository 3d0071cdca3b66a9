-- Deploy contextinject:types/connector_status to pg
-- The spec's connectorStatusEnum: what the sync scheduler decides on.
BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE TYPE public.connector_status AS ENUM ('active', 'paused', 'error', 'disconnected');

COMMIT;
