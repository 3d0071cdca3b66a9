# Shared by the db and pgbouncer entrypoints (sourced after file-env.sh, not run): TLS from a
# certificate and key given as PEM text (<PREFIX>_CERT, <PREFIX>_KEY) or as secret files
# (<PREFIX>_CERT_FILE, <PREFIX>_KEY_FILE). Both or neither; neither leaves TLS off.

# Copies, not the mounted secrets themselves: PostgreSQL refuses a key that its own user does not
# own with mode 0600, and a secret mount is usually root's and 0444. The run dirs are writable
# (tmpfs) even with a read-only root file system, and never part of the image or the volume.

# tls_load PREFIX: the pair from the environment; 0 when both are set, 1 when neither.
tls_load() {
	local cert_var="${1}_CERT" key_var="${1}_KEY"
	file_env "$cert_var"
	file_env "$key_var"
	if [[ -n ${!cert_var} && -z ${!key_var} ]]; then
		die "$cert_var (or ${cert_var}_FILE) is set but $key_var (or ${key_var}_FILE) is not; set both or neither"
	elif [[ -z ${!cert_var} && -n ${!key_var} ]]; then
		die "$key_var (or ${key_var}_FILE) is set but $cert_var (or ${cert_var}_FILE) is not; set both or neither"
	fi
	[[ -n ${!cert_var} ]]
}

# tls_write FILE CONTENT: readable by this user only.
tls_write() {
	(umask 077 && printf '%s\n' "$2" >"$1") || die "cannot write $1 (is its directory writable?)"
}

# tls_check_pair PREFIX CERT KEY: the files parse, and the key is the certificate's. Checked here
# so a bad secret stops the start with the variable to fix, before anything touches the volume.
tls_check_pair() {
	local prefix=$1 cert=$2 key=$3 cert_pub key_pub
	# Both images get openssl through postgresql-common -> ssl-cert; test_tls.py checks it is there.
	command -v openssl >/dev/null || die "openssl is missing from the image; ${prefix}_CERT cannot be checked"
	cert_pub=$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null) ||
		die "${prefix}_CERT (or ${prefix}_CERT_FILE) is not a PEM certificate"
	# -passin pass: fails on an encrypted key instead of prompting: no server can type a passphrase.
	key_pub=$(openssl pkey -in "$key" -passin pass: -pubout 2>/dev/null) ||
		die "${prefix}_KEY (or ${prefix}_KEY_FILE) is not an unencrypted PEM private key"
	[[ $cert_pub == "$key_pub" ]] ||
		die "${prefix}_KEY does not belong to the certificate in ${prefix}_CERT; set the matching pair"
	openssl x509 -in "$cert" -noout -checkend 0 >/dev/null ||
		log "warning: the certificate in ${prefix}_CERT has expired; verifying clients will refuse it"
}

# tls_install PREFIX DIR: DIR/tls.crt and DIR/tls.key from the environment; 1 when none is given.
# The key's text leaves the environment here, so the server never inherits it.
tls_install() {
	local prefix=$1 dir=$2
	tls_load "$prefix" || return 1
	mkdir -p "$dir" && chmod 0700 "$dir" || die "cannot create $dir for ${prefix}_CERT and ${prefix}_KEY"
	local cert_var="${prefix}_CERT" key_var="${prefix}_KEY"
	tls_write "$dir/tls.crt" "${!cert_var}"
	tls_write "$dir/tls.key" "${!key_var}"
	unset "$cert_var" "$key_var"
	tls_check_pair "$prefix" "$dir/tls.crt" "$dir/tls.key"
}

# db: CI_DB_TLS_CERT/KEY[_FILE] -> TLS_ARGS for the final server (the start-up server listens on
# the socket only, so it needs none). Without them ssl stays off (postgresql.conf's default).
docker_tls_args() {
	TLS_ARGS=()
	local dir=/var/run/postgresql/tls
	tls_install CI_DB_TLS "$dir" || return 0
	log "TLS on: certificate from CI_DB_TLS_CERT"
	TLS_ARGS=(-c ssl=on -c "ssl_cert_file=$dir/tls.crt" -c "ssl_key_file=$dir/tls.key")
}

# pgbouncer: settings.ini lines. Clients: TLS offered with PGBOUNCER_TLS_CERT/KEY[_FILE], else
# off. Server side: pgbouncer.ini prefers TLS; PGBOUNCER_SERVER_TLS_CA[_FILE] makes it
# verify-full against that CA (the db's certificate must then name DB_HOST).
pgbouncer_tls_settings() {
	local dir=$1
	if tls_install PGBOUNCER_TLS "$dir"; then
		log "client TLS on: certificate from PGBOUNCER_TLS_CERT"
		printf 'client_tls_sslmode = prefer\nclient_tls_cert_file = %s\nclient_tls_key_file = %s\n' \
			"$dir/tls.crt" "$dir/tls.key"
		# PgBouncer's TLS set-up fails without a readable CA file, and its default
		# (/etc/ssl/certs/ca-certificates.crt) is not in the image. prefer never asks clients for
		# a certificate, so this file verifies nothing; it only has to load.
		printf 'client_tls_ca_file = %s\n' "$dir/tls.crt"
	fi
	file_env PGBOUNCER_SERVER_TLS_CA
	[[ -n $PGBOUNCER_SERVER_TLS_CA ]] || return 0
	mkdir -p "$dir" && chmod 0700 "$dir" || die "cannot create $dir for PGBOUNCER_SERVER_TLS_CA"
	tls_write "$dir/server-ca.crt" "$PGBOUNCER_SERVER_TLS_CA"
	openssl x509 -in "$dir/server-ca.crt" -noout 2>/dev/null ||
		die "PGBOUNCER_SERVER_TLS_CA (or PGBOUNCER_SERVER_TLS_CA_FILE) is not a PEM certificate"
	printf 'server_tls_sslmode = verify-full\nserver_tls_ca_file = %s\n' "$dir/server-ca.crt"
}
