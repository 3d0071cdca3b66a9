# Shared by the db and pgbouncer entrypoints (sourced, not run): messages and the official
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
