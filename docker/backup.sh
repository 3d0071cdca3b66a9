# pgBackRest settings from the environment (sourced by docker-entrypoint.sh and ci-db-backup,
# not run). docs/backup.md is the user's guide.
#
# pgBackRest's own variables configure it (PGBACKREST_REPO1_TYPE=s3, PGBACKREST_REPO1_S3_BUCKET,
# ...), as pgBackRest users expect; its secrets may also come as <NAME>_FILE. A repository is
# configured when any PGBACKREST_REPO<n>_ variable is set: without one nothing changes (no
# archiving, no stanza). Everything is written to one file readable by the postgres user only,
# and the variables are then dropped, so archive_command, docker exec and a backup job all read
# the same settings and no secret sits in the server's environment.

readonly BACKUP_CONFIG_DIR=/etc/pgbackrest
readonly BACKUP_CONFIG=$BACKUP_CONFIG_DIR/pgbackrest.conf
readonly BACKUP_SPOOL=/var/spool/pgbackrest
# On the socket directory: a compose backup job that shares it with the server shares its locks,
# so a scheduled backup and a `cidb backup` never run at once.
readonly BACKUP_LOCK_PATH=/var/run/postgresql/pgbackrest
BACKUP_STANZA=ci-db
ARCHIVE_ARGS=()

# Options whose values are secrets: accepted as <NAME>_FILE too.
readonly BACKUP_SECRET_OPTIONS='CIPHER_PASS S3_KEY S3_KEY_SECRET S3_TOKEN AZURE_KEY SFTP_PRIVATE_KEY_PASSPHRASE'

# Empty variables (compose's ${X:-}) count as unset; <NAME>_FILE secrets are read.
backup_resolve_secret_files() {
	local n name var
	for var in $(compgen -v | grep -E '^PGBACKREST_'); do
		[[ -n ${!var} ]] || unset "$var"
	done
	for n in 1 2 3 4; do
		for name in $BACKUP_SECRET_OPTIONS; do
			var="PGBACKREST_REPO${n}_${name}"
			file_env "$var"
			[[ -n ${!var} ]] || unset "$var"
		done
	done
}

# Not grep -q: it exits at the first match, compgen then dies of SIGPIPE writing the rest, and
# pipefail turns that into 'not configured' (an intermittent "no backup repository" error).
backup_configured() { compgen -v | grep -E '^PGBACKREST_REPO[1-4]_' >/dev/null; }

# The repositories named in the environment (1 2 ...), for messages and checks.
backup_repos() { compgen -v | sed -nE 's/^PGBACKREST_REPO([1-4])_.*/\1/p' | sort -u | tr '\n' ' '; }

# Defaults a repository gets unless its variables say otherwise.
backup_repo_defaults() {
	local n=$1 type_var="PGBACKREST_REPO${1}_TYPE"
	printf 'repo%s-retention-full=%s\n' "$n" "${CI_DB_BACKUP_RETENTION_FULL:-2}"
	printf 'repo%s-retention-diff=%s\n' "$n" "${CI_DB_BACKUP_RETENTION_DIFF:-6}"
	# Small files bundled (one write and sync per bundle, not per file: a full backup of a small
	# database took half the time), and block incremental: an incremental of a big table stores
	# the changed blocks, not the whole 1 GiB segment.
	printf 'repo%s-bundle=y\nrepo%s-block=y\n' "$n" "$n"
	case ${!type_var:-posix} in
	s3) printf 'repo%s-s3-uri-style=path\nrepo%s-path=/ci-db\n' "$n" "$n" ;;
	posix) printf 'repo%s-path=/var/lib/pgbackrest\n' "$n" ;;
	esac
	local cipher_var="PGBACKREST_REPO${n}_CIPHER_PASS"
	[[ -n ${!cipher_var:-} ]] && printf 'repo%s-cipher-type=aes-256-cbc\n' "$n"
	return 0
}

# PGBACKREST_REPO1_S3_URI_STYLE=path -> repo1-s3-uri-style=path.
backup_env_options() {
	local var value
	while IFS= read -r var; do
		value=${!var}
		[[ $value != *$'\n'* ]] || die "$var holds a line break; pgBackRest options are one line"
		var=${var#PGBACKREST_}
		printf '%s=%s\n' "$(tr 'A-Z_' 'a-z-' <<<"$var")" "$value"
	done < <(compgen -v | grep -E '^PGBACKREST_' | grep -vE '^PGBACKREST_(STANZA|CONFIG.*)$')
}

# The config file: the environment's options, and our defaults for every key it leaves unset
# (pgBackRest rejects a key given twice).
backup_write_config() {
	BACKUP_STANZA=${PGBACKREST_STANZA:-ci-db}
	[[ $BACKUP_STANZA =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] ||
		die "PGBACKREST_STANZA='$BACKUP_STANZA' is not a valid stanza name (letters, digits, - _ .)"
	local env_options defaults n
	env_options=$(backup_env_options)
	defaults=$(
		printf '%s\n' "archive-async=y" "spool-path=$BACKUP_SPOOL" "lock-path=$BACKUP_LOCK_PATH" \
			"log-level-console=info" "log-level-stderr=warn" "log-level-file=off" \
			"process-max=${CI_DB_BACKUP_PROCESSES:-2}" "compress-type=zst" "compress-level=1" \
			"start-fast=y" "archive-timeout=60" "io-timeout=30" "db-timeout=60"
		for n in $(backup_repos); do backup_repo_defaults "$n"; done
	)
	mkdir -p "$BACKUP_CONFIG_DIR" "$BACKUP_LOCK_PATH" "$BACKUP_SPOOL"
	local tmp
	tmp=$(mktemp "$BACKUP_CONFIG_DIR/.pgbackrest.conf.XXXXXX")
	chmod 0600 "$tmp"
	{
		echo "# Written by ci-db from PGBACKREST_* at every start: edits are lost (docs/backup.md)."
		echo "[global]"
		awk -F= 'NR == FNR { set[$1] = 1; next } !($1 in set)' <(printf '%s\n' "$env_options") - <<<"$defaults"
		printf '%s\n' "$env_options"
		echo
		echo "[$BACKUP_STANZA]"
		echo "pg1-path=$PGDATA"
		echo "pg1-socket-path=/var/run/postgresql"
		echo "pg1-port=${PGPORT:-5432}"
		echo "pg1-user=${POSTGRES_USER:-postgres}"
	} >"$tmp"
	mv -f "$tmp" "$BACKUP_CONFIG"
}

# Drops every PGBACKREST_* variable: from here on the config file is the one source.
BACKUP_REPOS=
backup_forget_env() {
	BACKUP_REPOS=$(backup_repos)
	local var
	for var in $(compgen -v | grep -E '^PGBACKREST_'); do unset "$var"; done
}

# The server's archive settings. The start-up server archives too: a segment completed while
# archiving is off is never archived, and a gap in the archive ends every recovery at the gap.
backup_archive_args() {
	ARCHIVE_ARGS=()
	backup_configured || return 0
	local timeout=${CI_DB_ARCHIVE_TIMEOUT:-60s}
	[[ $timeout =~ ^[0-9]+(s|min)?$ ]] ||
		die "CI_DB_ARCHIVE_TIMEOUT='$timeout' is not a duration like 60s or 5min (it bounds the recovery point)"
	ARCHIVE_ARGS=(
		-c archive_mode=on
		-c "archive_command=pgbackrest --stanza=$BACKUP_STANZA archive-push %p"
		-c "archive_timeout=$timeout"
	)
}

# Everything the entrypoint needs before the start-up server: settings resolved, file written.
backup_setup() {
	backup_resolve_secret_files
	if ! backup_configured; then
		rm -f "$BACKUP_CONFIG"
		return 0
	fi
	backup_write_config
	backup_archive_args
	log "backups: pgBackRest stanza '$BACKUP_STANZA', repositories: $(backup_repos)(archive_timeout ${CI_DB_ARCHIVE_TIMEOUT:-60s})"
}

# Idempotent; a repository that cannot be reached must not keep the database down: WAL waits in
# pg_wal (archive_command retries) and `cidb backup-check` shows the failure.
backup_stanza_create() {
	[[ -r $BACKUP_CONFIG ]] || return 0
	pgbackrest --stanza="$BACKUP_STANZA" --log-level-console=warn stanza-create >&2 ||
		log "WARNING: pgBackRest stanza-create failed (see above): archiving will retry, and no" \
			"backup can be taken until the repository answers; run \`cidb backup-check\`"
}
