#!/bin/sh
# tests/deb_check.sh - build the Debian package from a copy of the tree
# (dpkg-buildpackage -us -uc -b; the working tree and its build/ folders are
# not touched) and check what it holds: the files, the conffile, runtime
# dependencies found by shlibs, the maintainer scripts, a binary that runs
# and an ini that points into /var/lib/pchat.  Prints check lines and one
# "RESULT suite=deb passed=N failed=M" line for tests/run.sh.  Slow (about
# a minute): tests/run.sh runs it only with PCHAT_TEST_DEB=1.
# Usage: tests/deb_check.sh   (from the repository root)
passed=0; failed=0
check() {   # check "what" command...
	what=$1; shift
	if "$@" >/dev/null 2>&1; then passed=$((passed+1)); else failed=$((failed+1)); echo "FAIL deb: $what"; fi
}
done_() { echo "RESULT suite=deb passed=$passed failed=$failed"; [ "$failed" -eq 0 ]; exit $?; }

for tool in dpkg-buildpackage dh git; do
	command -v $tool >/dev/null 2>&1 || { echo "# $tool missing (make deps installs dpkg-dev, debhelper)"; failed=1; done_; }
done
version=$(dpkg-parsechangelog -S Version 2>/dev/null)
arch=$(dpkg --print-architecture)
tmp=$(mktemp -d /tmp/pchat-deb-XXXXXX)
src=$tmp/pchat-$version
mkdir -p "$src"
# The tree as it is (tracked and new files, without what .gitignore names).
git ls-files -co --exclude-standard | while IFS= read -r f; do
	[ -e "$f" ] && cp -p --parents "$f" "$src/"
done
start=$(date +%s)
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1
rc=$?
echo "# dpkg-buildpackage: exit $rc in $(( $(date +%s) - start )) s (log kept in $tmp/build.log with PCHAT_KEEP=1)"
deb=$tmp/pchat_${version}_${arch}.deb
check "dpkg-buildpackage -us -uc -b makes $deb" test "$rc" -eq 0 -a -f "$deb"
[ -f "$deb" ] || { tail -n 30 "$tmp/build.log"; done_; }

dpkg-deb -c "$deb" >"$tmp/contents"
for f in ./usr/sbin/pchat ./lib/systemd/system/pchat.service ./etc/pchat/pchat.ini \
         ./usr/share/man/man8/pchat.8.gz ./usr/share/man/man5/pchat.ini.5.gz ./usr/share/doc/pchat/README.md.gz; do
	check "package holds $f" grep -q " $f\$" "$tmp/contents"
done
depends=$(dpkg-deb -f "$deb" Depends)
echo "# Depends: $depends"
for d in adduser libmbedtls libmbedx509 libmbedcrypto libsqlite3 libxml2 libinih libc6; do
	check "Depends names $d (shlibs)" sh -c "echo '$depends' | grep -q '$d'"
done
dpkg-deb -e "$deb" "$tmp/control"
check "/etc/pchat/pchat.ini is a conffile" grep -qx /etc/pchat/pchat.ini "$tmp/control/conffiles"
check "postinst creates the pchat system user" grep -q 'adduser --quiet --system --group' "$tmp/control/postinst"
check "postinst makes /var/lib/pchat mode 0750" grep -q 'install -d -o pchat -g pchat -m 0750' "$tmp/control/postinst"
check "postinst registers the unit (debhelper)" grep -q 'deb-systemd-helper' "$tmp/control/postinst"
check "postrm handles purge" grep -q 'purge' "$tmp/control/postrm"
check "maintainer scripts are valid sh" sh -n "$tmp/control/postinst"
check "postrm is valid sh" sh -n "$tmp/control/postrm"
dpkg-deb -x "$deb" "$tmp/root"
check "the packaged binary runs" "$tmp/root/usr/sbin/pchat" --version
check "the packaged binary's --version is the changelog's" \
	sh -c "'$tmp/root/usr/sbin/pchat' --version | grep -qx 'pchat $version (store schema v[0-9]*)'"
check "the packaged ini keeps the store in /var/lib/pchat" grep -qx 'path = /var/lib/pchat/pchat.db' "$tmp/root/etc/pchat/pchat.ini"
# The conffile names only what a site changes; the commented reference is
# documentation, so an upstream comment change prompts nobody.
check "the conffile is short (under 40 lines)" test "$(wc -l <"$tmp/root/etc/pchat/pchat.ini")" -lt 40
check "the conffile loads (pchat check reads it)" sh -c "'$tmp/root/usr/sbin/pchat' -c '$tmp/root/etc/pchat/pchat.ini' check 2>&1 | grep -q 'store.path = /var/lib/pchat/pchat.db'"
ref=$(ls "$tmp"/root/usr/share/doc/pchat/examples/pchat.ini* 2>/dev/null | head -n 1)
check "the full reference is shipped in /usr/share/doc/pchat/examples" test -n "$ref"
check "the reference documents every section and keeps the store in /var/lib/pchat" \
	sh -c "zcat -f '$ref' | grep -qx 'path = /var/lib/pchat/pchat.db' && zcat -f '$ref' | grep -qx 'min_password_length = 8' && zcat -f '$ref' | grep -qx '\[limits\]'"
check "the reference is not a conffile" sh -c "! grep -q examples '$tmp/control/conffiles'"
check "the packaged unit starts /usr/sbin/pchat" grep -qx 'ExecStart=/usr/sbin/pchat -c /etc/pchat/pchat.ini serve' \
	"$tmp/root/lib/systemd/system/pchat.service"
check "the binary is hardened (bindnow)" sh -c "readelf -d '$tmp/root/usr/sbin/pchat' | grep -q 'BIND_NOW'"
check "the binary is hardened (fortify)" sh -c "nm -D '$tmp/root/usr/sbin/pchat' | grep -q '__snprintf_chk'"
# lintian is a test dependency (make deps installs it): missing, it fails.
check "lintian is installed (make deps)" sh -c "command -v lintian"
if command -v lintian >/dev/null 2>&1; then
	lintian --tag-display-limit 0 "$tmp"/*.changes 2>&1 | grep -v 'root privileges' >"$tmp/lintian.log"
	sed 's/^/# lintian: /' "$tmp/lintian.log"
	check "lintian: no error and no warning" sh -c "! grep -q '^[EW]:' '$tmp/lintian.log'"
fi
[ -n "${PCHAT_KEEP:-}" ] || rm -rf "$tmp"
done_
