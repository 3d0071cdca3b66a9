#!/usr/bin/env bash
# ci-db-pgbouncer entrypoint: writes the runtime pieces pgbouncer.ini includes (the target
# database, auth_dbname, size overrides, and auth_user's own secret) into the run dir, then runs
# PgBouncer under a small supervisor that bounds a stop to Docker's 10 s.
set -Eeuo pipefail

readonly RUN_DIR=/var/run/pgbouncer
# Size settings a deployment may override (PGBOUNCER_<NAME>): see the formula in pgbouncer.ini.
readonly SIZE_SETTINGS=(default_pool_size reserve_pool_size max_db_connections max_client_conn)

# shellcheck source=docker/file-env.sh
. /usr/local/lib/ci-db/file-env.sh
# shellcheck source=docker/tls.sh
. /usr/local/lib/ci-db/tls.sh

pgbouncer_setup_env() {
	file_env PGBOUNCER_AUTH_PASSWORD
	file_env POSTGRES_DB contextinject
	: "${DB_HOST:=db}" "${DB_PORT:=5432}"
	# Docker sends SIGKILL 10 s after the stop signal; leave time to close after the grace.
	: "${PGBOUNCER_SHUTDOWN_GRACE:=7}"
	[[ -n $PGBOUNCER_AUTH_PASSWORD ]] ||
		die "no PGBOUNCER_AUTH_PASSWORD or PGBOUNCER_AUTH_PASSWORD_FILE: PgBouncer cannot look up logins"
	require_host_port DB_HOST DB_PORT
	# HA (compose.ha.yaml): the replicas' read port, served as <POSTGRES_DB>_ro.
	: "${DB_RO_PORT:=$DB_PORT}"
	[[ -z ${DB_RO_HOST:-} ]] || require_host_port DB_RO_HOST DB_RO_PORT
	[[ $POSTGRES_DB =~ ^[A-Za-z0-9_]+$ ]] || die "POSTGRES_DB='$POSTGRES_DB' is not a plain database name"
	: "${PGBOUNCER_RESET:=full}"
	[[ $PGBOUNCER_RESET == full || $PGBOUNCER_RESET == settings ]] ||
		die "PGBOUNCER_RESET='$PGBOUNCER_RESET' must be full or settings"
	[[ $PGBOUNCER_SHUTDOWN_GRACE =~ ^[0-9]+$ ]] ||
		die "PGBOUNCER_SHUTDOWN_GRACE='$PGBOUNCER_SHUTDOWN_GRACE' is not a number of seconds"
	local setting var
	for setting in "${SIZE_SETTINGS[@]}"; do
		var=PGBOUNCER_${setting^^}
		[[ -z ${!var:-} || ${!var} =~ ^[0-9]+$ ]] || die "$var='${!var}' is not a whole number"
	done
}

# Quote for PgBouncer's auth_file: "name" "secret", with " doubled.
auth_file_quote() { printf '"%s"' "${1//\"/\"\"}"; }

pgbouncer_write_settings() {
	local setting var
	printf 'auth_dbname = %s\n' "$POSTGRES_DB"
	# What the next client must not inherit: session settings always; in full mode also a server
	# connection where a client re-PREPAREd one of PgBouncer's statement names in SQL.
	case $PGBOUNCER_RESET in
	full) printf 'server_reset_query = RESET ALL; SELECT pgbouncer.close_if_prepared_in_sql()\n' ;;
	settings) printf 'server_reset_query = RESET ALL\n' ;;
	esac
	for setting in "${SIZE_SETTINGS[@]}"; do
		var=PGBOUNCER_${setting^^}
		[[ -z ${!var:-} ]] || printf '%s = %s\n' "$setting" "${!var}"
	done
	pgbouncer_tls_settings "$RUN_DIR/tls"
}

pgbouncer_write_runtime() {
	mkdir -p "$RUN_DIR"
	umask 077
	{
		printf '%s = host=%s port=%s dbname=%s\n' "$POSTGRES_DB" "$DB_HOST" "$DB_PORT" "$POSTGRES_DB"
		[[ -z ${DB_RO_HOST:-} ]] ||
			printf '%s_ro = host=%s port=%s dbname=%s\n' "$POSTGRES_DB" "$DB_RO_HOST" "$DB_RO_PORT" "$POSTGRES_DB"
	} >"$RUN_DIR/databases.ini"
	pgbouncer_write_settings >"$RUN_DIR/settings.ini"
	printf '%s %s\n' "$(auth_file_quote pgbouncer_auth)" "$(auth_file_quote "$PGBOUNCER_AUTH_PASSWORD")" \
		>"$RUN_DIR/userlist.txt"
	# For the healthcheck, which logs in through PgBouncer's socket as pgbouncer_auth (libpq
	# matches a non-default socket directory by its path; "*" saves spelling it twice).
	local escaped=${PGBOUNCER_AUTH_PASSWORD//\\/\\\\}
	printf '*:6432:%s:pgbouncer_auth:%s\n' "$POSTGRES_DB" "${escaped//:/\\:}" >"$RUN_DIR/pgpass"
	printf '%s\n' "$POSTGRES_DB" >"$RUN_DIR/database"
}

# Each client holds a file descriptor: use the hard limit (engines often set a soft 1024).
pgbouncer_raise_fd_limit() {
	ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || log "could not raise the open-files limit ($(ulimit -Sn))"
}

pgbouncer_signal() { kill "-$1" "$PGBOUNCER_PID" 2>/dev/null || true; }

# SIGINT is PgBouncer's safe shutdown: it stops listening but waits for every server connection
# to be released, so one open transaction would hold it until Docker's SIGKILL. After the grace,
# SIGQUIT closes what is left (those transactions roll back on the server).
pgbouncer_stop() {
	log "stopping: waiting up to ${PGBOUNCER_SHUTDOWN_GRACE}s for transactions in flight"
	pgbouncer_signal INT
	local tick
	for ((tick = 0; tick < PGBOUNCER_SHUTDOWN_GRACE * 10; tick++)); do
		kill -0 "$PGBOUNCER_PID" 2>/dev/null || return 0
		sleep 0.1
	done
	log "transactions still open after ${PGBOUNCER_SHUTDOWN_GRACE}s: closing them"
	pgbouncer_signal QUIT
}

# The healthcheck's own login and close lines (pgbouncer_auth over the socket, which only the
# healthcheck uses: pg_hba.conf refuses pgbouncer_auth over TCP), every few seconds, would bury
# the real clients' in `docker compose logs`; everything else passes unchanged.
pgbouncer_log_filter() { grep --line-buffered -v -F '/pgbouncer_auth@unix(' || true; }

# Stay PID 1 so a stop can be bounded; SIGHUP (reload) and SIGUSR1/2 (pause/resume) pass through.
pgbouncer_run() {
	local filter_pid
	exec 3> >(pgbouncer_log_filter >&2)
	filter_pid=$!
	"$@" 2>&3 &
	PGBOUNCER_PID=$!
	exec 3>&-
	trap pgbouncer_stop INT TERM
	trap 'pgbouncer_signal HUP' HUP
	trap 'pgbouncer_signal USR1' USR1
	trap 'pgbouncer_signal USR2' USR2
	# A trapped signal interrupts `wait`; wait again until PgBouncer itself has exited.
	while kill -0 "$PGBOUNCER_PID" 2>/dev/null; do
		wait "$PGBOUNCER_PID" || true
	done
	local status=0
	wait "$PGBOUNCER_PID" || status=$?
	# The filter ends at PgBouncer's last line; wait for it so no line is lost at exit.
	wait "$filter_pid" 2>/dev/null || true
	exit "$status"
}

_main() {
	if [[ ${1:-} == --supervise ]]; then
		shift
		: "${PGBOUNCER_SHUTDOWN_GRACE:=7}"
		pgbouncer_raise_fd_limit
		pgbouncer_run "$@"
	fi
	if [[ ${1:-} != pgbouncer ]]; then
		exec "$@"
	fi
	pgbouncer_setup_env
	pgbouncer_write_runtime
	# This script stays PID 1, and /proc/1/environ keeps the environment a process was started
	# with, whatever it unsets later: start over as a new program without the secrets.
	unset PGBOUNCER_AUTH_PASSWORD
	exec "${BASH_SOURCE[0]}" --supervise "$@"
}

_main "$@"
