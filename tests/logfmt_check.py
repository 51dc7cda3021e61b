#!/usr/bin/env python3
"""tests/logfmt_check.py DIR... - parse every line of every server log the
end-to-end suites kept (tests/run.sh sets PCHAT_TEST_LOGS) as strict logfmt:
an optional journald priority "<N>", then "ts=... level=..." and key=value
pairs separated by single spaces; a value is a bare token (no space, quote,
'=' or backslash) or a double-quoted string with \\" and \\\\ escapes.  Prints
each bad line (up to 20) and a RESULT line like the C suites."""
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


def main(dirs):
    lines = bad = files = 0
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
    ok = lines > 0 and bad == 0
    print("RESULT suite=logfmt passed=%d failed=%d" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
