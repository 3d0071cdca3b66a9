#!/usr/bin/env bash
# ci-db-pgbouncer-exporter: prometheus-pgbouncer-exporter on PgBouncer's console as ci_monitor
# (stats_users: SHOW only). The password comes from CI_MONITOR_PASSWORD[_FILE] and reaches
# libpq through a passfile in the run dir, never in the connection string (argv).
set -Eeuo pipefail

readonly RUN_DIR=/var/run/ci-db-exporter

# shellcheck source=docker/file-env.sh
. /usr/local/lib/ci-db/file-env.sh

exporter_setup_env() {
	file_env CI_MONITOR_PASSWORD
	: "${PGBOUNCER_HOST:=pgbouncer}" "${PGBOUNCER_PORT:=6432}" "${PGBOUNCER_SSLMODE:=disable}"
	[[ -n $CI_MONITOR_PASSWORD ]] ||
		die "no CI_MONITOR_PASSWORD or CI_MONITOR_PASSWORD_FILE: the exporter cannot log in"
	require_host_port PGBOUNCER_HOST PGBOUNCER_PORT
}

# .pgpass: host:port:database:user:password, with : and \ escaped.
exporter_write_passfile() {
	mkdir -p "$RUN_DIR"
	umask 077
	local escaped=${CI_MONITOR_PASSWORD//\\/\\\\}
	printf '*:*:pgbouncer:ci_monitor:%s\n' "${escaped//:/\\:}" >"$RUN_DIR/pgpass"
}

_main() {
	if [[ ${1:-} != prometheus-pgbouncer-exporter ]]; then
		exec "$@"
	fi
	exporter_setup_env
	exporter_write_passfile
	unset CI_MONITOR_PASSWORD
	export PGPASSFILE=$RUN_DIR/pgpass
	exec "$@" "--pgBouncer.connectionString=postgres://ci_monitor@$PGBOUNCER_HOST:$PGBOUNCER_PORT/pgbouncer?sslmode=$PGBOUNCER_SSLMODE"
}

_main "$@"
