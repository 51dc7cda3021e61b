#!/usr/bin/env python3
"""tests/logfmt_check.py DIR... - parse every line of every server log the
end-to-end suites kept (tests/run.sh sets PCHAT_TEST_LOGS) as strict logfmt:
an optional journald priority "<N>", then "ts=... level=..." and key=value
pairs separated by single spaces; a value is a bare token (no space, quote,
'=' or backslash) or a double-quoted string with \\" and \\\\ escapes.  Prints
each bad line (up to 20) and a RESULT line like the C suites.

It also runs contrib/fail2ban-pchat.conf's failregex (fail2ban's <HOST>
made a named group) over every event=auth-failed line: each must match and
yield exactly the line's addr= value, and there must be some."""
import os
import re
import sys

KEY = re.compile(r'[A-Za-z0-9_.\-]+')
BARE = re.compile(r'[^\s"=\\]+')
LEVELS = {"error", "warn", "info", "debug"}


def parse(line):
    """The (key, value) pairs of line, or raise ValueError saying why."""
    i = 0
    m = re.match(r'<[0-7]>', line)
    if m:
        i = m.end()
    pairs = []
    while i < len(line):
        k = KEY.match(line, i)
        if not k or k.end() >= len(line) or line[k.end()] != '=':
            raise ValueError("no key= at column %d" % i)
        i = k.end() + 1
        if i < len(line) and line[i] == '"':
            j, val = i + 1, []
            while j < len(line) and line[j] != '"':
                if line[j] == '\\':
                    if j + 1 >= len(line) or line[j + 1] not in '"\\':
                        raise ValueError("bad escape at column %d" % j)
                    j += 1
                val.append(line[j])
                j += 1
            if j >= len(line):
                raise ValueError("unterminated quote")
            i = j + 1
            value = ''.join(val)
        else:
            b = BARE.match(line, i)
            if not b:
                raise ValueError("empty or bad value at column %d" % i)
            value, i = b.group(0), b.end()
        pairs.append((k.group(0), value))
        if i < len(line):
            if line[i] != ' ' or i + 1 >= len(line) or line[i + 1] == ' ':
                raise ValueError("values must be separated by one space (column %d)" % i)
            i += 1
    if len(pairs) < 3 or pairs[0][0] != 'ts' or pairs[1][0] != 'level' or pairs[1][1] not in LEVELS:
        raise ValueError("must start with ts=, level= and have an event")
    return pairs


def fail2ban_regex():
    """contrib/fail2ban-pchat.conf's failregex, compiled as fail2ban would."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, '..', 'contrib', 'fail2ban-pchat.conf')) as f:
        for line in f:
            if line.startswith('failregex'):
                rx = line.split('=', 1)[1].strip()
                return re.compile(rx.replace('<HOST>', r'(?P<host>[0-9A-Fa-f:.]+)'))
    raise SystemExit("no failregex in contrib/fail2ban-pchat.conf")


def main(dirs):
    lines = bad = files = 0
    ban = fail2ban_regex()
    auth_failed = ban_bad = 0
    shapes = set()      # (event, what is wrong): one example of each
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            files += 1
            with open(os.path.join(d, name), 'rb') as f:
                for raw in f:
                    text = raw.decode('utf-8', 'replace').rstrip('\n')
                    if not text:
                        continue
                    lines += 1
                    if ' event=auth-failed ' in text:
                        auth_failed += 1
                        m = ban.match(text)
                        addr = dict(parse(text)).get('addr') if m else None
                        if not m or m.group('host') != addr:
                            ban_bad += 1
                            if ban_bad <= 5:
                                print("FAIL fail2ban filter %s: %s" % ("no match" if not m else "host %s, addr %s" % (m.group('host'), addr), text[:300]))
                    try:
                        parse(text)
                    except ValueError as e:
                        bad += 1
                        m = re.search(r'event=(\S+)', text)
                        shape = (m.group(1) if m else '?', str(e).split(' at ')[0])
                        if shape not in shapes and len(shapes) < 40:
                            shapes.add(shape)
                            print("FAIL logfmt %s: %s: %s" % (name, e, text[:300]))
    print("# %d log lines in %d server logs, %d not logfmt" % (lines, files, bad))
    print("# %d event=auth-failed lines, %d not matched by the fail2ban filter" % (auth_failed, ban_bad))
    ok = lines > 0 and bad == 0 and auth_failed > 0 and ban_bad == 0
    print("RESULT suite=logfmt passed=%d failed=%d" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
