#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what is missing (engine, compose plugin,
# base image, venv), then runs pytest, which builds both images and starts what it needs.
set -Eeuo pipefail

readonly ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly VENV=${CI_DB_VENV:-$ROOT/.venv}

die() { echo "test.sh: $*" >&2; exit 1; }

ensure_python_venv() {
	if [[ ! -x $VENV/bin/python ]]; then
		python3 -m venv "$VENV" 2>/dev/null || {
			apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
			python3 -m venv "$VENV"
		} || die "cannot create a Python venv at $VENV"
	fi
	"$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[test]" ||
		die "pip install of the project failed"
}

# tests/test_top.py drives `cidb top` in a tmux pane.
ensure_tmux() {
	command -v tmux >/dev/null && return 0
	[[ $(id -u) -eq 0 ]] || die "tmux is missing: install it (apt-get install tmux)"
	apt-get update -qq && apt-get install -y -qq tmux >/dev/null || die "apt-get install tmux failed"
}

main() {
	bash "$ROOT/scripts/ensure-engine.sh"
	ensure_tmux
	bash "$ROOT/scripts/ensure-base-image.sh"
	ensure_python_venv
	cd "$ROOT"
	"$VENV/bin/ruff" check src tests
	# Strict typing of the package (settings in pyproject.toml's [tool.mypy]).
	"$VENV/bin/mypy" --strict src
	"$VENV/bin/pytest" "$@"
	# The whole suite (no arguments) ends with the schema, RLS, role and integrity suites once
	# more, against the CI variant (docs/ci.md): the same tests on both images.
	(($# == 0)) || return 0
	CI_DB_TARGET=ci CI_DB_IMAGE=${CI_DB_CI_IMAGE:-ci-db:17-ci} "$VENV/bin/pytest" \
		tests/test_schema.py tests/test_rls.py tests/test_role_abuse.py tests/test_integrity.py
}

main "$@"
