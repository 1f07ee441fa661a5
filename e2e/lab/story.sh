# Helpers for the lab's story (sourced by guest.sh): headings, the commands a user
# would type with their output, and checks that wait for a condition and stop the
# lab with the evidence when it does not come.

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# run CMD...: shows the command as typed, then its output, indented.
run() {
  printf '$ %s\n' "$*"
  "$@" 2>&1 | sed 's/^/  /'
  return "${PIPESTATUS[0]}"
}

# show TEXT CMD...: like run, for a pipeline the user would type as TEXT.
show() {
  local text=$1
  shift
  printf '$ %s\n' "$text"
  "$@" 2>&1 | sed 's/^/  /'
}

# check SECONDS DESCRIPTION CMD...: waits until CMD succeeds.
# The bounds only detect a stuck lab (the guest is emulated and CI machines are
# shared): the times that matter are printed, and measured by make bench.
check() {
  local t=$1 what=$2 s
  shift 2
  s=$(now)
  while ! "$@" >/dev/null 2>&1; do
    if awk -v a="$s" -v b="$(now)" -v t="$t" 'BEGIN { exit !(b - a > t) }'; then
      printf '\033[31m✘ %s (not within %s s)\033[0m\n' "$what" "$t"
      printf '  the check was: %s\n' "$*"
      "$@" 2>&1 | tail -20 | sed 's/^/  | /' || true
      type diagnose >/dev/null 2>&1 && diagnose
      exit 1
    fi
    sleep 0.3
  done
  printf '\033[32m✔\033[0m %s (%s s)\n' "$what" "$(elapsed "$s")"
}

# fail DESCRIPTION: stops the lab.
fail() {
  printf '\033[31m✘ %s\033[0m\n' "$*"
  type diagnose >/dev/null 2>&1 && diagnose
  exit 1
}

# figure NAME VALUE UNIT: a measured figure, printed and kept for the report.
figure() {
  printf '\033[1m⏱ %s: %s %s\033[0m\n' "$1" "$2" "$3"
  echo "$1: $2 $3" >>"$LAB_OUT/figures.txt"
}
