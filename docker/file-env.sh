# Shared by the entrypoints (db, pgbouncer, exporters; sourced, not run): messages and the official
# image's file_env convention.

die() {
	echo "ci-db: error: $*" >&2
	exit 1
}
log() { echo "ci-db: $*" >&2; }

# file_env VAR [DEFAULT]: VAR from itself or from the file named by VAR_FILE, never both.
file_env() {
	local var=$1 file_var="${1}_FILE" default=${2:-}
	local value=${!var:-} file=${!file_var:-}
	[[ -n $value && -n $file ]] && die "both $var and $file_var are set; set only one"
	if [[ -n $file ]]; then
		[[ -f $file && -r $file ]] || die "$file_var=$file is not a readable file"
		value=$(<"$file")
	fi
	export "$var=${value:-$default}"
	unset "$file_var"
}

# require_host_port HOST_VAR PORT_VAR: both plain enough to paste into a connection string.
require_host_port() {
	[[ ${!2} =~ ^[0-9]+$ ]] || die "$2='${!2}' is not a port number"
	[[ ${!1} =~ ^[A-Za-z0-9._-]+$ ]] || die "$1='${!1}' is not a host name"
}
