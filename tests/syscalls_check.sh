#!/bin/sh
# tests/syscalls_check.sh - does pchat.service's SystemCallFilter let every
# feature work?  Runs end-to-end tests (reload, backup, chat, compliance
# export, files) with the server under strace, then checks every system call
# the server made against the unit's filter as systemd expands it
# (systemd-analyze syscall-filter).  Prints "RESULT suite=syscalls ...".
# Usage: tests/syscalls_check.sh BUILD_DIR   (from the repository root;
# BUILD_DIR holds pchat and tests/e2e_*, e.g. build)
b=${1:-build}
real=$(realpath "$b/pchat" 2>/dev/null) || real=$(realpath ./pchat)
for tool in strace systemd-analyze python3; do
	command -v $tool >/dev/null 2>&1 || { echo "# $tool missing"; echo "RESULT suite=syscalls passed=0 failed=1"; exit 1; }
done
tmp=$(mktemp -d /tmp/pchat-sys-XXXXXX)
# The server ("serve") runs under strace; admin commands run as they are.
cat >"$tmp/pchat" <<EOF
#!/bin/sh
[ "\$3" = serve ] || exec "$real" "\$@"
strace -f -qq -o "$tmp/trace.\$\$" "$real" "\$@" &
spid=\$!
trap 'kill -HUP \$(pgrep -P \$spid)' HUP
trap 'kill -TERM \$(pgrep -P \$spid)' TERM
while :; do wait \$spid; rc=\$?; kill -0 \$spid 2>/dev/null || break; done
exit \$rc
EOF
chmod +x "$tmp/pchat"
for t in e2e_ops e2e_chat e2e_compliance e2e_files e2e_status e2e_frontend; do
	[ -x "$b/tests/$t" ] || continue
	"$b/tests/$t" "$tmp/pchat" 2>&1 | grep -E '^(RESULT|FAIL)' | sed "s/^/# under strace: /"
done
python3 - "$tmp" pchat.service <<'EOF'
import glob, re, subprocess, sys
tmp, unit = sys.argv[1], sys.argv[2]
cache = {}
def expand(name):
    if not name.startswith('@'):
        return {name}
    if name not in cache:
        out = subprocess.run(['systemd-analyze', 'syscall-filter', name], capture_output=True, text=True).stdout
        s = set()
        for line in out.splitlines()[1:]:
            t = line.strip()
            if t and not t.startswith('#'):
                s |= expand(t)
        cache[name] = s
    return cache[name]
allowed = None
for line in open(unit):
    m = re.match(r'SystemCallFilter=(~?)(.*)', line.strip())
    if not m:
        continue
    names = set().union(*(expand(n) for n in m.group(2).split()))
    if m.group(1):
        allowed = (allowed if allowed is not None else set()) - names
    else:
        allowed = (allowed or set()) | names
used = set()
for f in glob.glob(tmp + '/trace.*'):
    for line in open(f, errors='replace'):
        m = re.match(r'^\d+\s+([a-z0-9_]+)\(', line)
        if m:
            used.add(m.group(1))
# SQLite calls fchown only when running as root (the service never is) and
# ignores its result.
tolerated = {'fchown'}
bad = sorted(used - allowed - tolerated)
print('# %d system calls made by the server: %s' % (len(used), ' '.join(sorted(used))))
ok = len(used) > 30 and not bad
if bad:
    print('FAIL syscalls outside the unit filter: ' + ' '.join(bad))
print('RESULT suite=syscalls passed=%d failed=%d' % (1 if ok else 0, 0 if ok else 1))
sys.exit(0 if ok else 1)
EOF
rc=$?
[ -n "${PCHAT_KEEP:-}" ] || rm -rf "$tmp"
exit $rc
