#!/bin/sh
# tests/cross_check.sh - the Raspberry Pi path: cross-build pchat and the unit
# tests for arm64 with Debian's cross toolchain (gcc-aarch64-linux-gnu and the
# :arm64 -dev packages, which `make deps` installs), then run `pchat
# --version` and every unit test that needs no network under qemu-user.
# Prints RESULT like the C suites.
passed=0; failed=0
check() { if [ "$1" = 0 ]; then passed=$((passed+1)); else failed=$((failed+1)); echo "FAIL $2"; fi; }
B=build/arm64
PC="env PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig pkg-config"
UNITS="test_buf test_sip test_config test_auth test_store test_store_chat test_lockout test_migrate"
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; check $? "cross-0.1 the arm64 cross compiler is installed (make deps)"
command -v qemu-aarch64 >/dev/null 2>&1; check $? "cross-0.2 qemu-user is installed (make deps)"
targets="$B/pchat"
for t in $UNITS; do targets="$targets $B/tests/$t"; done
out=$(make --no-print-directory -j2 B="$B" CC=aarch64-linux-gnu-gcc PKG_CONFIG="$PC" $targets 2>&1); rc=$?
[ $rc -eq 0 ] || printf '%s\n' "$out" | tail -n 15
check $rc "cross-1.1 make CC=aarch64-linux-gnu-gcc PKG_CONFIG=... builds pchat and the unit tests for arm64"
file "$B/pchat" 2>/dev/null | grep -q 'ARM aarch64'; check $? "cross-1.2 the binary is an arm64 ELF"
v=$(qemu-aarch64 "$B/pchat" --version 2>&1); check $? "cross-1.3 it runs under qemu-aarch64 ($v)"
for t in $UNITS; do
	res=$(timeout 600 qemu-aarch64 "$B/tests/$t" 2>&1 | grep '^RESULT' | tail -n 1)
	echo "# arm64 $res"
	case "$res" in *"failed=0"*) check 0 "";; *) check 1 "cross-2 $t under qemu-aarch64: ${res:-no result}";; esac
done
echo "RESULT suite=cross passed=$passed failed=$failed"
[ "$failed" -eq 0 ]
