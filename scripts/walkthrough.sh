# Shared by the scripts that run ExtAuthz against real clients (mqtt-interop.sh, quickstart.sh); sourced,
# not run. Needs NAME (the script's name, for messages) set first. Gives: $work (a scratch directory,
# removed on exit), pids (processes killed on exit), pass/fail (each step's line; fail prints the files
# given after the message and counts), wait_for, and build_extauthz, which builds src/ExtAuthz and sets
# $dll (EXTAUTHZ_ARTIFACTS_PATH=DIR builds into DIR instead of the tree).

work=$(mktemp -d "${TMPDIR:-/tmp}/extauthz-$NAME.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
pass() { echo "PASS  $1"; }
fail() {
  echo "FAIL  $1"
  shift
  local file
  for file in "$@"; do
    sed 's/^/      | /' "$file"
  done
  failures=$((failures + 1))
}

# wait_for FILE PATTERN SECONDS: until FILE has a line matching PATTERN (grep -E).
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -Eq "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# build_extauthz: builds the executable as `dotnet run --project src/ExtAuthz` would; sets $dll.
build_extauthz() {
  local build=(dotnet build src/ExtAuthz -v quiet -nologo)
  [ -n "${EXTAUTHZ_ARTIFACTS_PATH:-}" ] && build+=(--artifacts-path "$EXTAUTHZ_ARTIFACTS_PATH")
  "${build[@]}" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 2; }
  dll=$("${build[@]}" -getProperty:TargetPath 2>/dev/null | tail -n 1)
  [ -f "$dll" ] || { echo "$NAME: built assembly not found ($dll)" >&2; exit 2; }
}
