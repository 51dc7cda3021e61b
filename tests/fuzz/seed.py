#!/usr/bin/env python3
"""Seed corpora for the fuzz targets from the real client's wire transcripts.

usage: tests/fuzz/seed.py TRANSCRIPT_DIR OUT_DIR
Writes OUT_DIR/{sip,ntlm,xccos,config}/NNNN: every SIP message (with a first
byte choosing the SIP grammar, as fuzz_sip expects), every NTLM blob from
gssapi-data, every XCCOS body, and the shipped pchat.ini.
"""
import base64
import os
import re
import sys


def messages(log):
    marker = re.compile(rb"^\d\d:\d\d:\d\d (<<< RECV|>>> SEND)\n", re.M)
    for m in marker.finditer(log):
        start = m.end()
        end = log.find(b"\r\n\r\n", start)
        if end < 0:
            continue
        end += 4
        length = re.search(rb"\r\nContent-Length: *(\d+)", log[start:end], re.I)
        yield log[start:end + (int(length.group(1)) if length else 0)], log[end:end + (int(length.group(1)) if length else 0)]


def main():
    src, out = sys.argv[1], sys.argv[2]
    seeds = {"sip": [], "ntlm": [], "xccos": [], "config": []}
    for name in sorted(os.listdir(src)):
        if not name.endswith(".log"):
            continue
        for msg, body in messages(open(os.path.join(src, name), "rb").read()):
            seeds["sip"].append(b"\x00" + msg)
            for gss in re.findall(rb'gssapi-data="([A-Za-z0-9+/=]+)"', msg):
                seeds["ntlm"].append(base64.b64decode(gss))
            if body.startswith(b"<xccos"):
                seeds["xccos"].append(body)
    seeds["sip"].append(b"\x01PUT /files/0123 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    ini = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pchat.ini")
    seeds["config"].append(open(ini, "rb").read())
    for kind, items in seeds.items():
        os.makedirs(os.path.join(out, kind), exist_ok=True)
        for i, data in enumerate(items):
            with open(os.path.join(out, kind, "%04d" % i), "wb") as f:
                f.write(data)
        print("%s: %d seeds" % (kind, len(items)))


main()
