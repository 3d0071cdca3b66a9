#!/usr/bin/env bash
# ci-db entrypoint: the official postgres image's conventions (POSTGRES_* env, *_FILE secrets,
# /docker-entrypoint-initdb.d run once) plus what an appliance needs on every start: roles
# brought up to date and the Sqitch plan deployed, both against a socket-only server so no
# client sees a half-migrated database.
set -Eeuo pipefail

: "${CI_DB_SHARE:=/usr/share/ci-db}"
: "${PGDATA:=/var/lib/postgresql/data}"
readonly CONFIG_FILE=/etc/postgresql/postgresql.conf
readonly SOCKET_DIR=/var/run/postgresql
readonly RUNTIME_DB_FILE=$SOCKET_DIR/.ci-db-database
# The roles and their password variables (src/cidb/roles.json): read by load_role_manifest.
ROLES_MANIFEST=$CI_DB_SHARE/roles.json
# POSTGRES_PASSWORD first, then each role's password variable from the manifest.
SECRET_VARS=(POSTGRES_PASSWORD)
declare -A ROLE_OF_VAR=()
MEMORY_ARGS=()
CRON_ARGS=()
# Present only in the ci image (Dockerfile target ci, docs/ci.md): a cluster initialised and
# migrated at build, a template database to clone per test, and the ci_test role that clones.
readonly CI_MODE_FILE=$CI_DB_SHARE/ci-mode
# In PGDATA: the sha256 of the Sqitch project last deployed in full, so an unchanged plan is
# not re-checked change by change at every start (ci mode only).
readonly PLAN_MARKER=ci-db-deployed-plan.sha256
# ci mode: set when this start changed the database beyond our init scripts (docker_ci_template).
CI_TEMPLATE_STALE=false

# The image's helpers; beside this script in a checkout, so tests can source it on the host.
CI_DB_LIB=/usr/local/lib/ci-db
[[ -d $CI_DB_LIB ]] || CI_DB_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly CI_DB_LIB
# shellcheck source=docker/file-env.sh
. "$CI_DB_LIB/file-env.sh"
# shellcheck source=docker/tls.sh
. "$CI_DB_LIB/tls.sh"
# shellcheck source=docker/backup.sh
. "$CI_DB_LIB/backup.sh"
# Only in ci-db:17-ha (Dockerfile target ha): CI_DB_HA=patroni hands PostgreSQL to Patroni.
# shellcheck source=docker/ha.sh
if [[ -r $CI_DB_LIB/ha.sh ]]; then . "$CI_DB_LIB/ha.sh"; else ha_mode() { false; }; fi

# SECRET_VARS and ROLE_OF_VAR (CI_APP_PASSWORD -> ci_app) from the manifest. Perl is in the
# image for Sqitch, and JSON::PP is part of it.
load_role_manifest() {
	[[ -r $ROLES_MANIFEST ]] || die "the role manifest $ROLES_MANIFEST is missing"
	local pairs var role
	pairs=$(perl -MJSON::PP -0777 -ne '
		for my $r (@{ decode_json($_)->{roles} }) {
			print "$r->{password_env}\t$r->{name}\n" if defined $r->{password_env};
		}' "$ROLES_MANIFEST") || die "cannot read the role manifest $ROLES_MANIFEST"
	SECRET_VARS=(POSTGRES_PASSWORD)
	ROLE_OF_VAR=()
	while IFS=$'\t' read -r var role; do
		[[ -n $var ]] || continue
		SECRET_VARS+=("$var")
		ROLE_OF_VAR[$var]=$role
	done <<<"$pairs"
	# ci_test is the ci image's own role (docker/ci/70-create-test-role.sql), not the contract's.
	if ci_mode; then
		SECRET_VARS+=(CI_TEST_PASSWORD)
		ROLE_OF_VAR[CI_TEST_PASSWORD]=ci_test
	fi
}

ci_mode() { [[ -e $CI_MODE_FILE ]]; }
ci_template_db() { printf '%s_template' "$POSTGRES_DB"; }
# ci mode: where the clones' tablespace lives; a tmpfs there makes a clone a copy in memory.
: "${CI_DB_CLONE_DIR:=/var/lib/postgresql/clones}"

docker_setup_env() {
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB contextinject
	file_env POSTGRES_INITDB_ARGS
	load_role_manifest
	local var
	for var in "${SECRET_VARS[@]}"; do file_env "$var"; done
	[[ -n $POSTGRES_PASSWORD ]] ||
		die "no superuser password: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (refusing to start without one)"
	[[ ${CI_DB_DEV_SEED:-0} =~ ^[01]$ ]] || die "CI_DB_DEV_SEED='$CI_DB_DEV_SEED' must be 0 or 1"
	: "${CI_DB_DEPLOY:=on-start}"
	[[ $CI_DB_DEPLOY =~ ^(on-start|off)$ ]] ||
		die "CI_DB_DEPLOY='$CI_DB_DEPLOY' must be on-start (deploy the plan at every start) or off (a migrate job deploys)"
}

# CI_DB_MEMORY=4GB sizes the memory settings for a container of that size. Command-line
# settings outrank every file, so a later "-c name=value" in the command still wins.
docker_memory_args() {
	local memory=${CI_DB_MEMORY:-}
	[[ -z $memory ]] && return 0
	[[ $memory =~ ^([0-9]+)(MB|GB)$ ]] ||
		die "CI_DB_MEMORY='$memory' is not a size like 512MB or 4GB"
	local mb=${BASH_REMATCH[1]}
	[[ ${BASH_REMATCH[2]} == GB ]] && mb=$((mb * 1024))
	((mb >= 256 && mb <= 1048576)) || die "CI_DB_MEMORY='$memory' is outside 256MB..1024GB"
	# 1/8 for maintenance (the file's 256MB at 2GB): an HNSW build of 1024-dim chunks needs
	# ~4.5 KB a row in memory, or it spills and takes several times as long.
	local maintenance=$((mb / 8)) work=$((mb / 256))
	if ((maintenance > 2048)); then maintenance=2048; fi
	if ((work < 4)); then work=4; fi
	MEMORY_ARGS=(
		-c "shared_buffers=$((mb / 4))MB"
		-c "effective_cache_size=$((mb * 3 / 4))MB"
		-c "maintenance_work_mem=${maintenance}MB"
		-c "work_mem=${work}MB"
	)
}

docker_create_db_directories() {
	mkdir -p "$PGDATA" "$SOCKET_DIR"
	# A socket directory on a volume (compose shares it with the backup job) can keep a lock
	# file from a killed server, whose PID may be alive in this container; PGDATA's own
	# postmaster.pid is what keeps two servers off one cluster.
	rm -f "$SOCKET_DIR"/.s.PGSQL.*.lock
	chmod 0700 "$PGDATA" 2>/dev/null || true
	if [[ $(id -u) -eq 0 ]]; then
		chown -R postgres:postgres "$PGDATA" "$SOCKET_DIR"
	elif [[ ! -w $PGDATA ]]; then
		die "PGDATA=$PGDATA is not writable by uid $(id -u); chown it to 999:999"
	fi
}

docker_init_database_dir() {
	log "initializing a new cluster in $PGDATA (data checksums on)"
	local -a args=(
		--pgdata="$PGDATA" --username="$POSTGRES_USER" --data-checksums
		--encoding=UTF8 --locale-provider=builtin --locale=C.UTF-8
		--auth-local=peer --auth-host=scram-sha-256
	)
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a word list by the official image's contract
	initdb "${args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS >/dev/null
}

# Regenerated on every start so a newer image's rules reach an old volume.
docker_write_hba() {
	cat >"$PGDATA/pg_hba.conf" <<-EOF
		# Written by docker-entrypoint.sh at every start: edits are lost.
		# To replace it, point hba_file at your own file from /etc/postgresql/conf.d.
		# The superuser: socket + peer only, never over TCP.
		local all "$POSTGRES_USER" peer
		# The container's own start-up (Sqitch) and healthcheck act as ci_migrator, and the
		# development seed runs as ci_admin: never as the superuser.
		local all ci_migrator peer map=ci_db_local
		local all ci_admin peer map=ci_db_local
		# pg_cron runs ci_partman's job in a background worker; no client logs in as it.
		local all ci_partman reject
		local all all scram-sha-256
		host all "$POSTGRES_USER" all reject
		host all ci_partman all reject
		host all all all scram-sha-256
	EOF
	printf '# Written by docker-entrypoint.sh at every start.\nci_db_local postgres ci_migrator\nci_db_local postgres ci_admin\n' \
		>"$PGDATA/pg_ident.conf"
}

# pg_cron runs jobs in one database only, and creating the extension elsewhere fails: it is
# the application database, whatever POSTGRES_DB names it (a user's -c after it still wins).
# ci mode: the maintenance database instead, where the extension never exists and pg_cron idles.
# Its launcher stays connected to its database, and the template every clone is copied from is
# a copy of POSTGRES_DB (CREATE DATABASE refuses a source with sessions); a CI database lives
# for one run, and its partitions are made four months ahead.
docker_cron_args() {
	local db=$POSTGRES_DB
	ci_mode && db=postgres
	CRON_ARGS=(-c "cron.database_name=$db")
}

# The user's own "-c name=value" arguments apply to the start-up server too, as in the official
# image: a different shared_preload_libraries, say, changes what the init scripts may create.
temp_server_start() {
	local user_args="" archive_args="" cron_args
	(($# == 0)) || user_args=$(printf '%q ' "$@")
	cron_args=$(printf '%q ' "${CRON_ARGS[@]}")
	((${#ARCHIVE_ARGS[@]} == 0)) || archive_args=$(printf '%q ' "${ARCHIVE_ARGS[@]}")
	pg_ctl -D "$PGDATA" -w -t 600 -l "$PGDATA/ci-db-startup.log" start \
		-o "-c config_file=$CONFIG_FILE ${MEMORY_ARGS[*]} $cron_args$archive_args$user_args -c listen_addresses='' -p ${PGPORT:-5432}" >/dev/null ||
		{ cat "$PGDATA/ci-db-startup.log" >&2; die "the start-up server did not start"; }
}

temp_server_stop() {
	pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	rm -f "$PGDATA/ci-db-startup.log"
}

# Notices ("already exists, skipping") on every start would bury what matters in the log.
# search_path is pinned: ci_owner can create objects in public, and any function, operator or
# cast found there before pg_catalog's would run with the superuser's rights.
readonly PINNED_OPTIONS='-c client_min_messages=warning -c search_path=pg_catalog,pg_temp'
psql_super() {
	PGOPTIONS="$PINNED_OPTIONS ${PSQL_EXTRA_OPTIONS:-}" psql -X -v ON_ERROR_STOP=1 --no-psqlrc -q -h "$SOCKET_DIR" -U "$POSTGRES_USER" "$@"
}

# The user's /docker-entrypoint-initdb.d files keep the default search_path, as in the official
# image: they run once, on a fresh volume, before any other role has ever connected.
psql_init_file() {
	PGOPTIONS='-c client_min_messages=warning' psql -X -v ON_ERROR_STOP=1 --no-psqlrc -q -h "$SOCKET_DIR" -U "$POSTGRES_USER" "$@"
}

docker_create_database() {
	[[ $POSTGRES_DB == postgres ]] && return 0
	psql_super -d postgres --set db="$POSTGRES_DB" <<-'EOSQL'
		CREATE DATABASE :"db";
	EOSQL
}

# The password variables (e.g. CI_APP_PASSWORD, for ci_app in the manifest) that are set and
# differ from what their role already has: one query for every role's verifier, one Perl run.
changed_password_vars() {
	local -a pairs=()
	local var roles=""
	for var in "${SECRET_VARS[@]:1}"; do
		[[ -n ${!var} ]] || continue
		pairs+=("$var=${ROLE_OF_VAR[$var]}")
		roles+="${roles:+,}${ROLE_OF_VAR[$var]}"
	done
	((${#pairs[@]} > 0)) || return 0
	psql_super -d "$POSTGRES_DB" -At -F $'\t' --set roles="$roles" <<-'EOSQL' |
		SELECT rolname, rolpassword FROM pg_catalog.pg_authid
		WHERE rolname OPERATOR(pg_catalog.=) ANY (pg_catalog.string_to_array(:'roles', ','))
	EOSQL
		"$CI_DB_LIB/scram-changed-passwords" "${pairs[@]}"
}

# Our initdb/ scripts are idempotent and run on EVERY start: roles, passwords, extension
# versions and the PgBouncer look-up follow the image and the environment, not the volume's age.
# The manifest reaches SQL as the psql variable roles_manifest; the passwords to (re)set as one
# JSON object (var -> password) in the variable passwords, encoded by Perl from the environment
# (never pasted into a string here). All files in one session: a psql and a backend start per
# file cost more than most files' work.
# DB is the database the grants and settings are for; CONNECT_DB (default DB) is where the
# per-database objects go: the ci template gets them while DB stays the database it copies.
docker_run_own_init() {
	local db=${1:-$POSTGRES_DB}
	local connect_db=${2:-$db}
	local -a changed=() files=()
	local f passwords list=""
	# Roles are the cluster's: for another database than DB they were brought up to date already.
	if [[ $connect_db == "$db" ]]; then
		list=$(changed_password_vars) || die "cannot compare the role passwords with the stored ones"
	fi
	[[ -z $list ]] || mapfile -t changed <<<"$list"
	passwords=$(perl -MJSON::PP -e \
		'print JSON::PP->new->canonical->encode({ map { ($_ => $ENV{$_}) } @ARGV })' \
		"${changed[@]}") || die "cannot encode the role passwords"
	for f in "$CI_DB_SHARE"/initdb/*.sql; do files+=(-f "$f"); done
	# Elsewhere than DB, the login guard's event trigger must not fire: it would put back the
	# state that database recorded last, passwords included, over what this start just set.
	local extra=""
	[[ $connect_db == "$db" ]] || extra='-c event_triggers=off'
	PSQL_EXTRA_OPTIONS=$extra psql_super -d "$connect_db" --set db="$db" --set superuser="$POSTGRES_USER" \
		--set partman_schedule="${CI_DB_PARTITION_MAINTENANCE_SCHEDULE:-7 * * * *}" \
		--set roles_manifest="$(<"$ROLES_MANIFEST")" --set passwords="$passwords" "${files[@]}"
}

# The plan's first deploy creates Sqitch's registry schema, which needs CREATE on the database,
# a privilege ci_owner must not keep (a schema of its own naming could shadow ours). It is lent
# while the socket-only server runs this deploy and nothing else, and taken back whatever the
# outcome (10-create-roles.sql takes it back too, should a start die in between).
deploy_privileges() {
	local verb=$1
	psql_super -d "$POSTGRES_DB" --set db="$POSTGRES_DB" --set verb="$verb" <<-'EOSQL'
		SELECT CASE :'verb'
		    WHEN 'lend' THEN pg_catalog.format('GRANT CREATE ON DATABASE %I TO ci_owner', :'db')
		    ELSE pg_catalog.format('REVOKE CREATE ON DATABASE %I FROM ci_owner', :'db') END
		\gexec
	EOSQL
}

# As ci_migrator over the socket (pg_ident maps the postgres OS user to it), acting as ci_owner.
sqitch_as_migrator() {
	PGHOST=$SOCKET_DIR PGUSER=ci_migrator PGDATABASE=$POSTGRES_DB \
		PGOPTIONS='-c client_min_messages=warning' \
		SQITCH_FULLNAME="ci-db entrypoint" SQITCH_EMAIL="ci-db@localhost" "$@"
}

docker_deploy_schema() {
	log "deploying the Sqitch plan"
	deploy_privileges lend
	local status=0
	# Sqitch holds an advisory lock for the whole run, so two containers never migrate at once.
	sqitch_as_migrator sqitch --chdir "$CI_DB_SHARE/sqitch" deploy --verify --mode change db:pg: >&2 ||
		status=$?
	deploy_privileges take-back
	((status == 0)) || die "schema deploy failed; the database keeps the last good change (see above)"
}

registry_exists() {
	[[ $(psql_super -d "$POSTGRES_DB" -At <<<"SELECT pg_catalog.to_regclass('sqitch.releases') IS NOT NULL") == t ]]
}

# CI_DB_DEPLOY=off: the migrate job deploys over TCP as ci_migrator, which has no CREATE on the
# database for the registry schema. So the registry (and nothing of the plan) is made here, in
# the same lending window as an on-start deploy, and only when it is missing.
docker_prepare_registry() {
	registry_exists && return 0
	log "creating the Sqitch registry for the migrate job (CI_DB_DEPLOY=off: no change deployed)"
	deploy_privileges lend
	local status=0
	(cd "$CI_DB_SHARE/sqitch" && sqitch_as_migrator /usr/local/lib/ci-db/ci-db-sqitch-registry) >&2 ||
		status=$?
	deploy_privileges take-back
	((status == 0)) || die "creating the Sqitch registry failed (see above)"
}

# The Sqitch project's files (plan and scripts), hashed in a stable order.
plan_digest() {
	(cd "$CI_DB_SHARE/sqitch" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

# ci mode: the image deployed its plan at build; when the plan in the image is still the one
# recorded then, the start skips Sqitch (about a second of Perl start-up and per-change checks).
docker_ci_deploy() {
	local digest
	digest=$(plan_digest)
	if [[ -r $PGDATA/$PLAN_MARKER && $(<"$PGDATA/$PLAN_MARKER") == "$digest" ]]; then
		log "ci mode: the plan deployed at build is the image's plan; not re-deploying"
		return 0
	fi
	docker_deploy_schema
	CI_TEMPLATE_STALE=true
	printf '%s\n' "$digest" >"$PGDATA/$PLAN_MARKER"
}

# ci mode: the template every test database is cloned from, an exact copy of the database as
# this start left it (roles' state recorded by the login guard, the seed and init files if any).
# A clone's login guard must hold this start's passwords, not the build's. When this start
# changed the database only by our init scripts (no deploy, seed or init file of the user's),
# the template gets the same scripts in place: remaking it costs a copy and a removal of some
# 500 files, about 0.4 s of a 1 s start. No login role may connect to it: a session there would
# block every clone.
docker_ci_template() {
	local tmpl
	tmpl=$(ci_template_db)
	if ! $CI_TEMPLATE_STALE && [[ $(psql_super -d postgres -At --set tmpl="$tmpl" \
		<<<"SELECT count(*) FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) :'tmpl' AND datistemplate") == 1 ]]; then
		docker_run_own_init "$POSTGRES_DB" "$tmpl"
		return 0
	fi
	psql_super -d postgres --set db="$POSTGRES_DB" --set tmpl="$tmpl" <<-'EOSQL'
		SELECT pg_catalog.format('ALTER DATABASE %I IS_TEMPLATE false', :'tmpl'),
		    pg_catalog.format('DROP DATABASE %I', :'tmpl')
		FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) :'tmpl'
		\gexec
		SELECT pg_catalog.format('CREATE DATABASE %I TEMPLATE %I STRATEGY FILE_COPY', :'tmpl', :'db'),
		    pg_catalog.format('ALTER DATABASE %I IS_TEMPLATE true', :'tmpl'),
		    pg_catalog.format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'tmpl')
		\gexec
	EOSQL
}

# ci mode: the clones (cidb.clones) go to the tablespace ci_clones in CI_DB_CLONE_DIR. With a
# tmpfs mounted there a clone costs some 30 ms instead of 0.2-0.7 s of file creation on the
# container's disk (docs/ci.md). Made afresh at every start: a tmpfs forgets its files, so the
# clones of an earlier start are dropped first (a start is a new CI job's database).
docker_ci_clone_tablespace() {
	# A subdirectory: a tmpfs' root belongs to root, and PostgreSQL must own the location.
	local location=$CI_DB_CLONE_DIR/ci-db
	mkdir -p "$location" ||
		die "cannot create $location for the clones' tablespace: CI_DB_CLONE_DIR=$CI_DB_CLONE_DIR must be writable by uid $(id -u) (a tmpfs: --tmpfs $CI_DB_CLONE_DIR:uid=999,gid=999)"
	psql_super -d postgres --set location="$location" <<-'EOSQL'
		SELECT pg_catalog.format('DROP DATABASE %I', datname) FROM pg_catalog.pg_database
		WHERE pg_catalog.starts_with(datname, 'cidb_test_')
		\gexec
		SET client_min_messages = error;
		DROP TABLESPACE IF EXISTS ci_clones;
		CREATE TABLESPACE ci_clones LOCATION :'location';
		GRANT CREATE ON TABLESPACE ci_clones TO ci_test;
	EOSQL
}

docker_schema_at_start() {
	case $CI_DB_DEPLOY in
	on-start) if ci_mode; then docker_ci_deploy; else docker_deploy_schema; fi ;;
	off)
		docker_prepare_registry
		log "CI_DB_DEPLOY=off: not deploying the plan; run the migrate job (ci-db-migrate)"
		# The seed needs the schema, which the job may not have deployed yet.
		if [[ ${CI_DB_DEV_SEED:-0} == 1 ]]; then
			log "CI_DB_DEV_SEED=1 is ignored with CI_DB_DEPLOY=off; run \`cidb seed\` after the migrate job"
		fi
		;;
	esac
}

# CI_DB_DEV_SEED=1 (compose.yaml sets it, the image never does): the development tenants, users
# and API keys, on every start (idempotent; an existing key is neither printed nor rotated).
# Before the user's init files, so those can build on the seed.
docker_load_dev_seed() {
	[[ ${CI_DB_DEV_SEED:-0} == 1 ]] || return 0
	log "loading the development seed"
	# dev.sql reads plan-limits.json beside it; its lines (a new key, once) go to the log.
	# As ci_admin, not the superuser: a trigger ci_migrator planted on a seeded table runs with
	# the rights of the role that fires it.
	(cd "$CI_DB_SHARE/seed" && PGOPTIONS=$PINNED_OPTIONS psql -X -v ON_ERROR_STOP=1 --no-psqlrc -q \
		-h "$SOCKET_DIR" -U ci_admin -d "$POSTGRES_DB" -f dev.sql) >&2 ||
		die "the development seed failed (see above)"
	CI_TEMPLATE_STALE=true
}

# The official image's /docker-entrypoint-initdb.d contract: *.sh sourced or run, *.sql and
# *.sql.gz fed to psql, once, on first init.
docker_process_init_files() {
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		[[ -e $f ]] || continue
		CI_TEMPLATE_STALE=true
		case "$f" in
		*.sh)
			if [[ -x $f ]]; then
				log "running $f"
				"$f"
			else
				log "sourcing $f"
				# shellcheck disable=SC1090
				. "$f"
			fi
			;;
		*.sql) log "running $f" && psql_init_file -d "$POSTGRES_DB" -f "$f" ;;
		*.sql.gz) log "running $f" && gunzip -c "$f" | psql_init_file -d "$POSTGRES_DB" ;;
		*) log "ignoring $f" ;;
		esac
	done
}

drop_privileges() {
	if [[ $(id -u) -eq 0 ]]; then
		docker_create_db_directories
		exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
	fi
}

_main() {
	[[ ${1:-} == -* ]] && set -- postgres "$@"
	[[ ${1:-} == postgres ]] || exec "$@"
	drop_privileges "$@"

	docker_setup_env
	docker_memory_args
	docker_cron_args
	if [[ -n ${CI_DB_HA:-} ]] && ! ha_mode; then
		die "CI_DB_HA='$CI_DB_HA': only CI_DB_HA=patroni exists, in the image ci-db:17-ha (Dockerfile target ha)"
	fi
	ha_mode && ha_main
	docker_tls_args
	backup_setup
	docker_create_db_directories
	local fresh=false
	if [[ ! -s $PGDATA/PG_VERSION ]]; then
		fresh=true
		docker_init_database_dir
	fi
	docker_write_hba
	printf '%s\n' "$POSTGRES_DB" >"$RUNTIME_DB_FILE"

	temp_server_start "${@:2}"
	backup_stanza_create
	$fresh && docker_create_database
	docker_run_own_init
	docker_schema_at_start
	[[ $CI_DB_DEPLOY == on-start ]] && docker_load_dev_seed
	# The ci image's cluster is made at build: the user's init files run at a container's first
	# start instead (the marker lives in the container's own PGDATA).
	if ci_mode && [[ ${CI_DB_PREPARE_ONLY:-0} != 1 && ! -e $PGDATA/ci-db-init-files-done ]]; then
		docker_process_init_files
		: >"$PGDATA/ci-db-init-files-done"
	elif ! ci_mode; then
		$fresh && docker_process_init_files
	fi
	if ci_mode && [[ $CI_DB_DEPLOY == on-start ]]; then
		docker_ci_template
		[[ ${CI_DB_PREPARE_ONLY:-0} == 1 ]] || docker_ci_clone_tablespace
	fi
	# The ci image's build runs this script to initialise and migrate its cluster, then stops
	# here; the superuser keeps no password (it is socket and peer only anyway).
	if ci_mode && [[ ${CI_DB_PREPARE_ONLY:-0} == 1 ]]; then
		psql_super -d postgres --set su="$POSTGRES_USER" <<<'ALTER ROLE :"su" PASSWORD NULL'
		temp_server_stop
		log "prepared $PGDATA (CI_DB_PREPARE_ONLY=1): not starting PostgreSQL"
		return 0
	fi
	temp_server_stop
	# CI_TEST_PASSWORD too outside ci mode: compose passes it to either image.
	unset "${SECRET_VARS[@]}" CI_TEST_PASSWORD
	backup_forget_env

	log "ready: starting PostgreSQL"
	# tini, not the postmaster, as PID 1: it reaps the orphans of archive_command (pgBackRest's
	# async archive-push daemon), whose non-zero exit the postmaster would take for a crashed
	# backend and restart the server (pgbackrest/pgbackrest#2016). Started here, not as the
	# image's ENTRYPOINT: a process keeps the environment it was started with in
	# /proc/<pid>/environ, and only from here on is it free of secrets. It passes SIGINT on.
	exec /usr/bin/tini -- "$1" -c "config_file=$CONFIG_FILE" "${MEMORY_ARGS[@]}" "${CRON_ARGS[@]}" "${TLS_ARGS[@]}" \
		"${ARCHIVE_ARGS[@]}" "${@:2}"
}

if ! (return 0 2>/dev/null); then
	_main "$@"
fi
