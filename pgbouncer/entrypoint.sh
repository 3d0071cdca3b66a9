#!/usr/bin/env bash
# ci-db-pgbouncer entrypoint: writes the runtime pieces pgbouncer.ini includes (the target
# database and auth_user's own secret) into a tmpfs-friendly run dir, then execs PgBouncer.
set -Eeuo pipefail

readonly RUN_DIR=/var/run/pgbouncer

# shellcheck source=docker/file-env.sh
. /usr/local/lib/ci-db/file-env.sh

pgbouncer_setup_env() {
	file_env PGBOUNCER_AUTH_PASSWORD
	file_env POSTGRES_DB contextinject
	: "${DB_HOST:=db}" "${DB_PORT:=5432}"
	[[ -n $PGBOUNCER_AUTH_PASSWORD ]] ||
		die "no PGBOUNCER_AUTH_PASSWORD or PGBOUNCER_AUTH_PASSWORD_FILE: PgBouncer cannot look up logins"
	[[ $DB_PORT =~ ^[0-9]+$ ]] || die "DB_PORT='$DB_PORT' is not a port number"
	[[ $DB_HOST =~ ^[A-Za-z0-9._-]+$ ]] || die "DB_HOST='$DB_HOST' is not a host name"
	[[ $POSTGRES_DB =~ ^[A-Za-z0-9_]+$ ]] || die "POSTGRES_DB='$POSTGRES_DB' is not a plain database name"
}

# Quote for PgBouncer's auth_file: "name" "secret", with " doubled.
auth_file_quote() { printf '"%s"' "${1//\"/\"\"}"; }

pgbouncer_write_runtime() {
	mkdir -p "$RUN_DIR"
	umask 077
	printf '* = host=%s port=%s auth_dbname=%s\n' "$DB_HOST" "$DB_PORT" "$POSTGRES_DB" \
		>"$RUN_DIR/databases.ini"
	printf '%s %s\n' "$(auth_file_quote pgbouncer_auth)" "$(auth_file_quote "$PGBOUNCER_AUTH_PASSWORD")" \
		>"$RUN_DIR/userlist.txt"
	# For the healthcheck, which logs in through PgBouncer as pgbouncer_auth.
	local escaped=${PGBOUNCER_AUTH_PASSWORD//\\/\\\\}
	printf '127.0.0.1:6432:%s:pgbouncer_auth:%s\n' "$POSTGRES_DB" "${escaped//:/\\:}" >"$RUN_DIR/pgpass"
	printf '%s\n' "$POSTGRES_DB" >"$RUN_DIR/database"
}

_main() {
	if [[ ${1:-} == pgbouncer ]]; then
		pgbouncer_setup_env
		pgbouncer_write_runtime
		unset PGBOUNCER_AUTH_PASSWORD
	fi
	exec "$@"
}

_main "$@"
