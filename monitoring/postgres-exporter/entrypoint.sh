#!/usr/bin/env bash
# ci-db-postgres-exporter: prometheus-postgres-exporter as ci_monitor (pg_monitor, no table
# access). The password comes from CI_MONITOR_PASSWORD or CI_MONITOR_PASSWORD_FILE and reaches
# the exporter as a file in the run dir (DATA_SOURCE_PASS_FILE), never in argv or its environ.
set -Eeuo pipefail

readonly RUN_DIR=/var/run/ci-db-exporter

# shellcheck source=docker/file-env.sh
. /usr/local/lib/ci-db/file-env.sh

exporter_setup_env() {
	file_env CI_MONITOR_PASSWORD
	file_env POSTGRES_DB contextinject
	: "${DB_HOST:=db}" "${DB_PORT:=5432}" "${DB_SSLMODE:=disable}"
	[[ -n $CI_MONITOR_PASSWORD ]] ||
		die "no CI_MONITOR_PASSWORD or CI_MONITOR_PASSWORD_FILE: the exporter cannot log in"
	require_host_port DB_HOST DB_PORT
	[[ $POSTGRES_DB =~ ^[A-Za-z0-9_]+$ ]] || die "POSTGRES_DB='$POSTGRES_DB' is not a plain database name"
}

exporter_write_password() {
	mkdir -p "$RUN_DIR"
	umask 077
	printf '%s' "$CI_MONITOR_PASSWORD" >"$RUN_DIR/password"
}

_main() {
	if [[ ${1:-} != prometheus-postgres-exporter ]]; then
		exec "$@"
	fi
	exporter_setup_env
	exporter_write_password
	export DATA_SOURCE_URI="$DB_HOST:$DB_PORT/$POSTGRES_DB?sslmode=$DB_SSLMODE&application_name=ci-db-postgres-exporter"
	export DATA_SOURCE_USER=ci_monitor DATA_SOURCE_PASS_FILE=$RUN_DIR/password
	unset CI_MONITOR_PASSWORD
	exec "$@"
}

_main "$@"
