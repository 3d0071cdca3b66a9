#!/usr/bin/env bash
# Green only when PgBouncer answers AND can reach the database: a query through the pooler
# needs a server connection, which a bare port check would not prove.
set -Eeuo pipefail

readonly RUN_DIR=/var/run/pgbouncer
# Below Docker's 5 s check timeout: with the db down the query would otherwise wait for a server
# connection (query_wait_timeout) and Docker would report a timeout instead of our message.
readonly LIMIT_S=4

check_database_through_pooler() {
	local answer
	answer=$(PGPASSFILE=$RUN_DIR/pgpass PGCONNECT_TIMEOUT=3 timeout "$LIMIT_S" \
		psql -X --no-psqlrc -v ON_ERROR_STOP=1 -At -h "$RUN_DIR" -p 6432 -U pgbouncer_auth \
		-d "$(<"$RUN_DIR/database")" -c 'SELECT 1') || {
		echo "pgbouncer-healthcheck: no answer from the database through PgBouncer within ${LIMIT_S}s" >&2
		return 1
	}
	[[ $answer == 1 ]] || {
		echo "pgbouncer-healthcheck: unexpected answer: $answer" >&2
		return 1
	}
}

check_database_through_pooler
