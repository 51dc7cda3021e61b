#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from what the repository carries.

usage: tests/fuzz/seed.py OUT_DIR
Writes OUT_DIR/{sip,ntlm,xccos,config,chat,soap,rmcommand,http}/NNNN:
- every SIP message of the real client's NTLM sign-in (tests/ntlm_vectors.h,
  pidgin-sipe's own bytes), with a first byte choosing the SIP grammar as
  fuzz_sip expects, every NTLM blob of its gssapi-data, every XCCOS body;
- one XCCOS request per command the chat service dispatches, a group-chat
  post and a reply, written here in the forms the e2e clients send, so each
  handler's elements are in the corpus even where the sign-in has none;
- an HTTP upload and download for the file service's grammar;
- web service requests (sign-in form, session cookie, RMCommand) for fuzz_http;
- the shipped pchat.ini;
- one SOAP request per operation of the file web service, shaped as the
  NextLabs SfBServerEnforcer sources quote AppendChunk and DownloadChunk,
  after the byte fuzz_soap reads as the operation.
- RMCommand documents of each Type, as Lync's room-management page posted
  them (NextLabs SfBServerEnforcer's comments show the attributes).
"""
import base64
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")

ENVELOPE = '<xccos ver="1" envid="%d" xmlns="urn:parlano:xml:ns:xccos">%s</xccos>'
CHAN = "ma-chan://example.org/2f3c9a5e-0c2b-4d8e-9a41-7d6b1c0e5f21"
XCCOS_INNER = [
    '<cmd id="cmd:requri" seqid="1"><data><uri type="channel"/></data></cmd>',
    '<cmd id="cmd:getserverinfo" seqid="1"><data><sib domain="example.org" infoType="123"/></data></cmd>',
    '<cmd id="cmd:getassociations" seqid="1"><data/></cmd>',
    '<cmd id="cmd:chansrch" seqid="1"><data><qib qtype="BYNAME" criteria="dev" extended="false"/></data></cmd>',
    '<cmd id="cmd:chansrch" seqid="1"><data><qib qtype="BYDESC" criteria="&amp;x&#9;" extended="true"/></data></cmd>',
    '<cmd id="cmd:join" seqid="2"><data><chanid key="0" domain="example.org" '
    'value="2f3c9a5e-0c2b-4d8e-9a41-7d6b1c0e5f21"/></data></cmd>',
    '<cmd id="cmd:bjoin" seqid="3"><data><chanid key="0" domain="example.org" '
    'value="2f3c9a5e-0c2b-4d8e-9a41-7d6b1c0e5f21"/></data></cmd>',
    '<cmd id="cmd:part" seqid="4"><data><chanib uri="%s"/></data></cmd>' % CHAN,
    '<cmd id="cmd:bccontext" seqid="5"><data><chanib uri="%s"/><bcq><last cnt="25"/></bcq></data></cmd>' % CHAN,
    '<cmd id="cmd:getinv" seqid="6"><data><inv inviteId="1" domain="example.org"/></data></cmd>',
    '<cmd id="cmd:getfutok" seqid="7"><data><ftdb channelUri="%s" fileUrl="notes.txt"/></data></cmd>' % CHAN,
    '<cmd id="cmd:getfdtok" seqid="8"><data><ftdb channelUri="%s" fileUrl="notes.txt"/></data></cmd>' % CHAN,
    '<grpchat id="grpchat" seqid="9" chanUri="%s" author="sip:alice@example.org" '
    'ts="2024-01-01T00:00:00Z"><chat>a&lt;b &amp; "q" caf\u00e9</chat></grpchat>' % CHAN,
    '<rpl id="rpl:join" seqid="2"><commandid seqid="2" envid="2"/><resp code="200">SUCCESS_OK</resp>'
    '<data><chanib uri="%s" name="dev" description="x"/></data></rpl>' % CHAN,
]
CWA = "http://schemas.microsoft.com/2006/09/rtc/cwa"
RMCOMMAND = [
    '<RMCommand xmlns="%s" Type="CreateRoom" RoomName="testRoom01" RoomDesc="testRoom01 desc" Privacy="Closed" '
    'AddIn="c000f25a-abc9-45fb-b572-f872a6dac75c" CategoryUri="ma-cat://example.org/default" '
    'Managers="alice; " Members="bob; carol; " Notification="inherit"/>' % CWA,
    '<Request><RMCommand xmlns="%s" Type="ModifyRoom" RoomId="%s" RoomName="r &amp; d" Privacy="Open" '
    'Members="" Notification="true"/></Request>' % (CWA, CHAN),
    '<RMCommand xmlns="%s" Type="Landing"/>' % CWA,
]
HTTP = [
    b"\x01PUT /files/0123 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
    b"\x01GET /files/0123?t=abcdef HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
]

WEB = [
    b"GET /PersistentChat/RM/?room=abc%20d&x=%3Cscript%3E HTTP/1.1\r\nHost: x\r\n"
    b"Cookie: a=1; pchat_session=\"0123abcd\"; pchat_pre=ff\r\n\r\n",
    b"POST /PersistentChat/RM/signin HTTP/1.1\r\nHost: x\r\nCookie: pchat_pre=00ff\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 45\r\n\r\n"
    b"pre=00ff&user=alice&password=p%C3%A9+w%26d&&x=",
    b"POST https://h/PersistentChat/RM/Handler/ManagementHandler.ashx HTTP/1.1\r\nHost: h\r\n"
    b"Authorization: NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==\r\nContent-Length: 9\r\n\r\n<RMCommand",
]


def c_strings(header):
    """The messages of tests/ntlm_vectors.h, unescaped, each cut to its
    length field (the generator ends every string with a newline)."""
    for length, vector in re.findall(rb'\{ [01], (\d+),\n(.*?") \},\n', header, re.S):
        data = b"".join(re.findall(rb'^\t  "(.*)"$', vector, re.M))
        yield re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), data)[:int(length)]


def chat_seeds():
    """fuzz_chat's command sequences (tests/fuzz/fuzz_chat.c, run_command):
    per command a byte for the user and dialog, one for the command, one for
    the room, then the fields.  Each command once, then for every user and
    seeded room (18, and 18 = a missing one): join, post, history, part."""
    seeds = [bytes([1, kind, 0, 0, 5, 1, 2, 3, 4, 5]) for kind in range(11)]
    # What fuzz_chat found (UBSan: NULL + 0 in xccos.c): a bjoin of rooms
    # none of which can be joined, a post without formatting.
    seeds += [b"\x02\x9e\x5d\x5d", b"chan%\x00aa\xaa\xaaA"]
    for user in range(4):
        for room in range(19):
            seeds.append(bytes([user, 1, room, user, 5, room, 4, 1, 2, 3, 4,
                                user, 4, room, 0, 25, user, 3, room]))
    return seeds


SOAP_ENVELOPE = ('<?xml version="1.0" encoding="utf-8"?><s:Envelope '
                 'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                 '<%s xmlns="http://www.microsoft.com">%s</%s></s:Body></s:Envelope>')
SOAP_TOKEN = ("<token>3f2900af-52f7-40d6-91df-a211e72b7980</token>"
              "<channelId>2f3c9a5e-0c2b-4d8e-9a41-7d6b1c0e5f21</channelId>")
SOAP_OPS = [  # (fuzz_soap's operation byte, element, parameters)
    (1, "RequestUniqueFilenameWithExtension", SOAP_TOKEN + "<extension>.txt</extension>"),
    (2, "GetMaxFileSizeInKB", ""),
    (3, "GetMaxRequestContentInKB", ""),
    (4, "AppendChunk", SOAP_TOKEN + "<uniqueFilename>a912898f-cf23-476b-a644-0c541d7cfdcf.txt</uniqueFilename>"
        "<fileChunk>U2lwOktpbXRlc3QyLnlhbmdAbHluYy5uZXh0bGFicy5zb2x1dGlvbnMNCg==</fileChunk>"
        "<offset>0</offset><fileLength>43</fileLength>"),
    (5, "GetFileSize", SOAP_TOKEN + "<reposFileName>6d042d7b-50d1-4117-9bf0-5a8c0b11e842.txt</reposFileName>"),
    (6, "DownloadChunk", SOAP_TOKEN + "<reposFileName>6d042d7b-50d1-4117-9bf0-5a8c0b11e842.txt</reposFileName>"
        "<offset>0</offset><bufferSize>43</bufferSize>"),
]


def main():
    out = sys.argv[1]
    seeds = {"sip": [], "ntlm": [], "xccos": [], "config": [], "chat": chat_seeds(),
             "soap": [bytes([op]) + (SOAP_ENVELOPE % (name, params, name)).encode() for op, name, params in SOAP_OPS],
             "rmcommand": [doc.encode() for doc in RMCOMMAND],
             "http": list(WEB)}
    for msg in c_strings(open(os.path.join(ROOT, "tests", "ntlm_vectors.h"), "rb").read()):
        seeds["sip"].append(b"\x00" + msg)
        for gss in re.findall(rb'gssapi-data="([A-Za-z0-9+/=]+)"', msg):
            seeds["ntlm"].append(base64.b64decode(gss))
        body = msg[msg.index(b"\r\n\r\n") + 4:]
        if body.startswith(b"<xccos"):
            seeds["xccos"].append(body)
    for envid, inner in enumerate(XCCOS_INNER, 1):
        seeds["xccos"].append((ENVELOPE % (envid, inner)).encode())
    seeds["sip"].extend(HTTP)
    seeds["config"].append(open(os.path.join(ROOT, "pchat.ini"), "rb").read())
    for kind, items in seeds.items():
        if not items:
            sys.exit("seed.py: no %s seeds (tests/ntlm_vectors.h changed form?)" % kind)
        os.makedirs(os.path.join(out, kind), exist_ok=True)
        for i, data in enumerate(items):
            with open(os.path.join(out, kind, "%04d" % i), "wb") as f:
                f.write(data)
        print("%s: %d seeds" % (kind, len(items)))


main()
