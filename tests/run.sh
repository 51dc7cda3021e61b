#!/bin/sh
# tests/run.sh BUILD_DIR... - run the unit tests and the end-to-end tests of
# each build folder (plain, then sanitizers), add up the RESULT lines and end
# with "N passed, N failed".  Exit status 0 only when nothing failed.
passed=0; failed=0; broken=""; logdirs=""
for b in "$@"; do
  bin=./pchat; [ "$b" = build ] || bin="$b/pchat"
  # Sanitizer builds: a small quarantine, and RSS allowance for it and the shadow.
  case "$b" in *asan*) export ASAN_OPTIONS=quarantine_size_mb=16:detect_leaks=1 PCHAT_TEST_RSS_SLACK_MB=64 ;;
                  *) unset ASAN_OPTIONS PCHAT_TEST_RSS_SLACK_MB ;; esac
  for t in "$b"/tests/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(FAIL|RESULT|#)' | sed "s|^|[$b] |"
    res=$(printf '%s\n' "$out" | grep '^RESULT' | tail -n 1)
    if [ -z "$res" ]; then broken="$broken $t(rc=$rc)"; failed=$((failed+1)); continue; fi
    p=$(printf '%s' "$res" | sed 's/.*passed=\([0-9]*\).*/\1/'); f=$(printf '%s' "$res" | sed 's/.*failed=\([0-9]*\).*/\1/')
    passed=$((passed+p)); failed=$((failed+f))
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { broken="$broken $t(rc=$rc)"; failed=$((failed+1)); }
  done
  # Every server log of the e2e suites is kept for the logfmt check below.
  rm -rf "$b/logs" && mkdir -p "$b/logs" && export PCHAT_TEST_LOGS="$(cd "$b/logs" && pwd)"
  logdirs="$logdirs $b/logs"
  for t in "$b"/tests/e2e_*; do
    [ -x "$t" ] || continue
    out=$("$t" "$bin" build/sipe/sipe-harness 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(FAIL|RESULT|#)' | sed "s|^|[$b] |"
    res=$(printf '%s\n' "$out" | grep '^RESULT' | tail -n 1)
    if [ -z "$res" ]; then broken="$broken $t(rc=$rc)"; failed=$((failed+1)); printf '%s\n' "$out" | tail -n 20; continue; fi
    p=$(printf '%s' "$res" | sed 's/.*passed=\([0-9]*\).*/\1/'); f=$(printf '%s' "$res" | sed 's/.*failed=\([0-9]*\).*/\1/')
    passed=$((passed+p)); failed=$((failed+f))
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { broken="$broken $t(rc=$rc)"; failed=$((failed+1)); }
  done
  # Fuzz targets: a timed pass each over the seed corpus tests/fuzz/seed.py
  # makes from the repository's own fixtures (the corpus grows across runs).
  for t in "$b"/tests/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t"); kind=${name#fuzz_}; corpus="$b/corpus/$kind"
    [ -d "$corpus" ] || python3 tests/fuzz/seed.py "$b/corpus" >/dev/null
    mkdir -p "$corpus" "$b/findings"
    out=$("$t" -max_total_time="${FUZZ_SECONDS:-10}" -print_final_stats=1 -artifact_prefix="$b/findings/$name-" \
          -close_fd_mask=3 "$corpus" 2>&1); rc=$?
    execs=$(printf '%s\n' "$out" | sed -n 's/^stat::number_of_executed_units: *//p' | tail -n 1)
    if [ "$rc" -eq 0 ]; then
      echo "[$b] RESULT suite=$name passed=1 failed=0 (${execs:-?} executions)"; passed=$((passed+1))
    else
      printf '%s\n' "$out" | tail -n 30
      echo "[$b] RESULT suite=$name passed=0 failed=1 (finding in $b/findings)"; failed=$((failed+1))
    fi
  done
done
# Script suites, once per run, added up like the others.
run_script() {   # run_script LABEL COMMAND...
  label=$1; shift
  out=$("$@" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -E '^(FAIL|RESULT|#)' | sed "s|^|[$label] |"
  res=$(printf '%s\n' "$out" | grep '^RESULT' | tail -n 1)
  if [ -z "$res" ]; then broken="$broken $1(rc=$rc)"; failed=$((failed+1)); return; fi
  passed=$((passed+$(printf '%s' "$res" | sed 's/.*passed=\([0-9]*\).*/\1/')))
  failed=$((failed+$(printf '%s' "$res" | sed 's/.*failed=\([0-9]*\).*/\1/')))
}
# Every line the servers of the e2e suites logged, parsed as strict logfmt.
unset PCHAT_TEST_LOGS
[ -n "$logdirs" ] && run_script logfmt python3 tests/logfmt_check.py $logdirs
# The arm64 cross-build and its unit tests under qemu-user (about 15 s).
[ "${1:-}" = build ] && run_script cross tests/cross_check.sh
# The helpers in contrib/ (a second or two).
[ "${1:-}" = build ] && run_script contrib tests/contrib_check.sh
# Room management in a real browser (headless chromium; about 15 s), with
# the plain build first: screenshots of every page go to build/web-shots.
[ "${1:-}" = build ] && run_script browser python3 tests/web_browser.py ./pchat build/web-shots
# The Debian package (about 6 s): with the plain build first (as `make test`
# calls this), or whenever PCHAT_TEST_DEB=1; never with PCHAT_TEST_DEB=0.
if [ "${PCHAT_TEST_DEB:-}" = 1 ] || { [ "${PCHAT_TEST_DEB:-}" != 0 ] && [ "${1:-}" = build ]; }; then
  run_script deb tests/deb_check.sh
fi
# The unit's system-call filter against what the server calls under strace
# (about 40 s): only with PCHAT_TEST_SYSCALLS=1.
if [ "${PCHAT_TEST_SYSCALLS:-}" = 1 ]; then
  run_script syscalls tests/syscalls_check.sh "${1:-build}"
fi
[ -n "$broken" ] && echo "crashed or exited without a result:$broken"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
