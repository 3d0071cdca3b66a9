#!/usr/bin/env bash
# Green only when PgBouncer answers AND can reach the database: a query through the pooler
# needs a server connection, which a bare port check would not prove.
set -Eeuo pipefail

readonly RUN_DIR=/var/run/pgbouncer

PGPASSFILE=$RUN_DIR/pgpass PGCONNECT_TIMEOUT=3 \
	psql -X --no-psqlrc -At -h 127.0.0.1 -p 6432 -U pgbouncer_auth -d "$(<"$RUN_DIR/database")" \
	-c 'SELECT 1' >/dev/null
