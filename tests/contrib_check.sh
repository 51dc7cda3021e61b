#!/bin/sh
# tests/contrib_check.sh - the files in contrib/ do what their comments say:
# the certbot deploy hook copies a lineage's chain and key into place with the
# right owner and modes (no systemd here to reload).  The fail2ban filter is
# checked against real log lines by tests/logfmt_check.py.
passed=0; failed=0
check() { if [ "$1" = 0 ]; then passed=$((passed+1)); else failed=$((failed+1)); echo "FAIL $2"; fi; }
dir=$(mktemp -d /tmp/pchat-contrib-XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/live" "$dir/var"
echo "CHAIN" > "$dir/live/fullchain.pem"; echo "KEY" > "$dir/live/privkey.pem"
user=$(id -un)
RENEWED_LINEAGE="$dir/live" PCHAT_CERT="$dir/var/pchat.crt" PCHAT_KEY="$dir/var/pchat.key" PCHAT_USER="$user" \
  sh contrib/certbot-deploy-hook; check $? "contrib-1.1 the deploy hook runs"
[ "$(cat "$dir/var/pchat.crt" 2>/dev/null)" = CHAIN ] && [ "$(cat "$dir/var/pchat.key" 2>/dev/null)" = KEY ]
check $? "contrib-1.2 it copies the chain and the key where [server] cert and key point"
[ "$(stat -c %a "$dir/var/pchat.key" 2>/dev/null)" = 600 ] && [ "$(stat -c %U "$dir/var/pchat.key" 2>/dev/null)" = "$user" ]
check $? "contrib-1.3 the key is 0600 and the service user's"
[ ! -e "$dir/var/pchat.crt.new" ] && [ ! -e "$dir/var/pchat.key.new" ]
check $? "contrib-1.4 no temporary file is left"
env -u RENEWED_LINEAGE sh contrib/certbot-deploy-hook >/dev/null 2>&1
[ $? -ne 0 ]; check $? "contrib-1.5 without RENEWED_LINEAGE it refuses"
echo "RESULT suite=contrib passed=$passed failed=$failed"
[ "$failed" -eq 0 ]
