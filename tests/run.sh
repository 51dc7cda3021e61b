#!/bin/sh
# tests/run.sh BUILD_DIR... - run the unit tests and the end-to-end tests of
# each build folder (plain, then sanitizers), add up the RESULT lines and end
# with "N passed, N failed".  Exit status 0 only when nothing failed.
passed=0; failed=0; broken=""
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
done
[ -n "$broken" ] && echo "crashed or exited without a result:$broken"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
