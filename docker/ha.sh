# High availability (CI_DB_HA=patroni, image ci-db:17-ha): sourced by docker-entrypoint.sh.
# Patroni bootstraps and supervises PostgreSQL; this file turns the image's environment into
# Patroni's configuration and starts it. The roles, passwords and the Sqitch plan are applied by
# ci-db-ha-post-bootstrap, which Patroni runs on the node that bootstraps the cluster (the first
# leader) and never on a replica, which copies everything from the leader. After that, the roles
# and passwords are re-applied by ci-db-ha-on-role, Patroni's callback, whenever a member is or
# becomes the leader, from that member's environment.
# shellcheck shell=bash

readonly HA_DIR=/var/lib/postgresql/ha
readonly HA_CONFIG=$HA_DIR/patroni.yml
# What ci-db-ha-post-bootstrap and ci-db-ha-on-role need of this start's environment (secrets
# included): Patroni itself runs without them, so they are not in its /proc/<pid>/environ nor
# in the environment it gives its hooks. Written at every start, for the container's lifetime
# (the callback needs it at every promotion), beside patroni.yml, which holds the superuser's.
readonly HA_ENV_FILE=$HA_DIR/roles.env
# Present while the leader failed to apply its roles and passwords: the healthcheck fails.
readonly HA_ROLES_FAILED=$HA_DIR/roles-failed
# The replication and pg_rewind roles Patroni creates at bootstrap (outside the contract's
# manifest: only Patroni and pg_hba know them).
readonly HA_REPLICATION_ROLE=ci_replicator
readonly HA_REWIND_ROLE=ci_rewind

ha_mode() { [[ ${CI_DB_HA:-} == patroni ]]; }

ha_setup_env() {
	file_env CI_REPLICATOR_PASSWORD
	file_env CI_REWIND_PASSWORD
	file_env CI_DB_HA_API_PASSWORD
	local var
	for var in CI_REPLICATOR_PASSWORD CI_REWIND_PASSWORD CI_DB_HA_API_PASSWORD; do
		[[ -n ${!var} ]] || die "CI_DB_HA=patroni needs $var (or ${var}_FILE)"
	done
	: "${CI_DB_HA_NAME:=$(hostname)}" "${CI_DB_HA_SCOPE:=ci-db}" "${CI_DB_HA_SYNC:=on}"
	[[ -n ${CI_DB_HA_ETCD_HOSTS:-} ]] ||
		die "CI_DB_HA=patroni needs CI_DB_HA_ETCD_HOSTS, e.g. etcd1:2379,etcd2:2379,etcd3:2379"
	[[ $CI_DB_HA_SYNC =~ ^(on|off)$ ]] || die "CI_DB_HA_SYNC='$CI_DB_HA_SYNC' must be on or off"
	[[ $CI_DB_HA_NAME =~ ^[A-Za-z0-9._-]+$ ]] || die "CI_DB_HA_NAME='$CI_DB_HA_NAME' is not a host name"
	: "${CI_DB_HA_ADDRESS:=$CI_DB_HA_NAME}"
	# Not wired into Patroni's configuration yet (docs/ha.md): refuse rather than run without.
	local unsupported
	for unsupported in CI_DB_TLS_CERT CI_DB_TLS_CERT_FILE $(compgen -v PGBACKREST_REPO || true); do
		[[ -z ${!unsupported:-} ]] || die "$unsupported is not supported with CI_DB_HA=patroni yet (docs/ha.md)"
	done
	export CI_DB_HA_NAME CI_DB_HA_SCOPE CI_DB_HA_SYNC CI_DB_HA_ADDRESS
}

# Patroni's configuration as JSON (a subset of YAML), encoded by Perl from the environment so no
# value is pasted into a document by the shell. The DCS part (bootstrap.dcs) is read once, at the
# cluster's bootstrap; later changes go through `cidb ha` (patronictl edit-config).
ha_write_config() {
	mkdir -p "$HA_DIR"
	chmod 0700 "$HA_DIR"
	local -a params=()
	local i
	# The entrypoint's -c pairs (memory, pg_cron's database) as Patroni parameters.
	local -a args=("${MEMORY_ARGS[@]}" "${CRON_ARGS[@]}")
	for ((i = 1; i < ${#args[@]}; i += 2)); do params+=("${args[i]}"); done
	(
		umask 077
		export HA_REPLICATION_ROLE HA_REWIND_ROLE HA_DIR HA_SUPERUSER=$POSTGRES_USER
		perl -MJSON::PP -e '
			my %e = %ENV;
			my %params = map { split /=/, $_, 2 } @ARGV;
			my $sync = $e{CI_DB_HA_SYNC} eq "on" ? JSON::PP::true : JSON::PP::false;
			my $su = $e{HA_SUPERUSER};
			my $cfg = {
			  scope => $e{CI_DB_HA_SCOPE}, namespace => "/ci-db/", name => $e{CI_DB_HA_NAME},
			  log => { level => "INFO", format => "%(asctime)s %(levelname)s: %(message)s" },
			  restapi => {
			    listen => "0.0.0.0:8008", connect_address => "$e{CI_DB_HA_ADDRESS}:8008",
			    # GETs (health checks) are open; switchover, failover, restart, reload, config need it.
			    authentication => { username => "ci_db_ha", password => $e{CI_DB_HA_API_PASSWORD} },
			  },
			  etcd3 => { hosts => [ split /,/, $e{CI_DB_HA_ETCD_HOSTS} ] },
			  bootstrap => {
			    dcs => {
			      # Failover within ~20 s of the death of a leader (20 s is the least ttl Patroni
			      # takes): loop_wait + 2 * retry_timeout <= ttl.
			      ttl => 20, loop_wait => 3, retry_timeout => 5,
			      maximum_lag_on_failover => 1048576,
			      # An etcd outage does not demote a leader every member can still reach.
			      failsafe_mode => JSON::PP::true,
			      synchronous_mode => $sync,
			      postgresql => {
			        use_pg_rewind => JSON::PP::true, use_slots => JSON::PP::true,
			        parameters => { wal_keep_size => "256MB", hot_standby => "on" },
			      },
			    },
			    initdb => [ "data-checksums", { encoding => "UTF8" }, { "locale-provider" => "builtin" },
			      { locale => "C.UTF-8" }, { "auth-local" => "peer" }, { "auth-host" => "scram-sha-256" } ],
			    post_bootstrap => "/usr/local/lib/ci-db/ci-db-ha-post-bootstrap",
			  },
			  postgresql => {
			    listen => "0.0.0.0:5432", connect_address => "$e{CI_DB_HA_ADDRESS}:5432",
			    data_dir => $e{PGDATA}, bin_dir => "/usr/lib/postgresql/$e{PG_MAJOR}/bin",
			    custom_conf => "/etc/postgresql/postgresql.conf",
			    pgpass => "$e{HA_DIR}/pgpass", use_unix_socket => JSON::PP::true,
			    remove_data_directory_on_rewind_failure => JSON::PP::true,
			    remove_data_directory_on_diverged_timelines => JSON::PP::true,
			    # Re-applies the roles and passwords whenever this member is or becomes the leader.
			    callbacks => { on_start => "/usr/local/lib/ci-db/ci-db-ha-on-role",
			      on_role_change => "/usr/local/lib/ci-db/ci-db-ha-on-role" },
			    authentication => {
			      superuser => { username => $su, password => $e{POSTGRES_PASSWORD} },
			      replication => { username => $e{HA_REPLICATION_ROLE}, password => $e{CI_REPLICATOR_PASSWORD} },
			      rewind => { username => $e{HA_REWIND_ROLE}, password => $e{CI_REWIND_PASSWORD} },
			    },
			    parameters => { %params, unix_socket_directories => "/var/run/postgresql" },
			    # The single-server rules (docker_write_hba), plus replication for the replication role
			    # only, and the pg_rewind role into the postgres database only.
			    pg_hba => [
			      "local all $su peer",
			      "local all ci_migrator peer map=ci_db_local",
			      "local all ci_admin peer map=ci_db_local",
			      "local all all scram-sha-256",
			      "host all $su all reject",
			      "host replication $e{HA_REPLICATION_ROLE} all scram-sha-256",
			      "host all $e{HA_REPLICATION_ROLE} all reject",
			      "host postgres $e{HA_REWIND_ROLE} all scram-sha-256",
			      "host all $e{HA_REWIND_ROLE} all reject",
			      "host all all all scram-sha-256",
			    ],
			    pg_ident => [ "ci_db_local postgres ci_migrator", "ci_db_local postgres ci_admin" ],
			  },
			  watchdog => { mode => "off" },
			};
			print JSON::PP->new->canonical->pretty->encode($cfg);
		' -- "${params[@]}" >"$HA_CONFIG.tmp"
	) || die "cannot write Patroni's configuration"
	mv -f "$HA_CONFIG.tmp" "$HA_CONFIG"
}

# The variables ci-db-ha-post-bootstrap and ci-db-ha-on-role read, as `declare` lines they source.
ha_write_env() {
	(
		# Before the file is opened: a redirection of the subshell itself would come first.
		umask 077
		{
			declare -p POSTGRES_USER POSTGRES_DB CI_DB_DEPLOY "${SECRET_VARS[@]}"
			declare -p CI_DB_DEV_SEED 2>/dev/null || true
		} >"$HA_ENV_FILE"
	) || die "cannot write $HA_ENV_FILE"
}

ha_main() {
	ha_setup_env
	docker_create_db_directories
	ha_write_config
	rm -f "$HA_ROLES_FAILED"
	ha_write_env
	printf '%s\n' "$POSTGRES_DB" >"$RUNTIME_DB_FILE"
	unset "${SECRET_VARS[@]}" CI_TEST_PASSWORD CI_REPLICATOR_PASSWORD CI_REWIND_PASSWORD CI_DB_HA_API_PASSWORD
	log "HA mode: starting Patroni as member $CI_DB_HA_NAME of $CI_DB_HA_SCOPE (etcd: $CI_DB_HA_ETCD_HOSTS)"
	exec /usr/bin/tini -- patroni "$HA_CONFIG"
}
