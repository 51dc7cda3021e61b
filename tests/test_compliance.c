/*
 * test_compliance.c - the compliance exporter against a temporary folder and
 * a real store: the Lync XML it writes for a known set of events (parsed
 * back with libxml2: types, senders, contents, the three forms of every
 * time), the Actiance-style XML, batch naming and ordering, byte-identical
 * output for the same events (also after a crash at each step, in a forked
 * child that really _exits), exclusivity of concurrent exporters, `verify`
 * against a changed byte, a removed, renamed or added file and a forged
 * re-chain, an unusable output folder with backoff, and the throughput.
 */
#include "../compliance.c"
#include "../compliance_xml.c"
#include "../buf.c"
#include "../xml_out.c"
#include "../compliance_attach.c"
#include "../durable.c"
#include "../base.c"
#include "../compliance_types.c"
#include "../room_uri.c"
#include "../store.c"
#include "../store_chat.c"
#include "../store_compliance.c"
#include "../store_files.c"
#include "../config.c"
#include "../loop.c"
#include "../log.c"
#include "check.h"
#include "xsd_check.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <sys/wait.h>

static char dir[] = "/tmp/test_compliance.XXXXXX";

/* snprintf for paths and commands; a test that truncates fails its checks. */
static __attribute__((format(printf, 3, 4))) void sf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}
static const char guid_a[] = "11111111-1111-4111-8111-111111111111";
static const char guid_b[] = "22222222-2222-4222-8222-222222222222";
#define T0 1700000000123456LL   /* 2023-11-14T22:13:20.123456Z */

static void path_in(char *buf, size_t len, const char *name)
{
	sf(buf, len, "%s/%s", dir, name);
}

/* A config whose paths live in dir, with extra ini lines. */
static void make_cfg(struct config *cfg, const char *extra)
{
	char ini[1024], err[512];

	sf(ini, sizeof ini, "[server]\ndomain = example.org\n[compliance]\n%s", extra ? extra : "");
	if (config_load_string(cfg, ini, "t.ini", dir, err, sizeof err) < 0)
		printf("# config: %s\n", err);
}

static struct store *open_store(const char *name)
{
	struct store *st = NULL;
	char path[512], err[512];

	path_in(path, sizeof path, name);
	if (store_open(&st, path, err, sizeof err) != STORE_OK)
		printf("# store_open: %s\n", err);
	return st;
}

static int add_ev(struct store *st, const char *type, const char *guid, const char *room, const char *user,
                  int64_t ts, int64_t msg_id, const char *content, size_t clen)
{
	struct store_event e = { .type = type, .room_guid = guid, .room_name = room, .user_uri = user, .ts_us = ts,
	                         .message_id = msg_id, .content = content, .content_len = content ? clen : 0 };

	return store_event_add(st, &e);
}

/* The known set of events of comp-1 (9 of them, seq 1..9 in a new store). */
static const char bad_text[] = "\x01" "bad\xff\xfe utf8 \xe2\x9c\x93 tab\tnl\n<&>";
static int add_known(struct store *st)
{
	const char *hi = "hi <there> & \"you\"";
	int r = 0;

	r |= add_ev(st, "JOIN", guid_a, "Room A", "sip:alice@example.org", T0, 0, NULL, 0);
	r |= add_ev(st, "JOIN", guid_b, "Room B", "sip:bob@example.org", T0 + 1000, 0, NULL, 0);
	r |= add_ev(st, "CHAT", guid_a, "Room A", "sip:alice@example.org", T0 + 2000, 41, hi, strlen(hi));
	r |= add_ev(st, "BACKCHAT", guid_a, "Room A", "sip:bob@example.org", T0 + 3000, 0, NULL, 0);
	r |= add_ev(st, "FILEUPLOAD", guid_b, "Room B", "sip:bob@example.org", T0 + 4000, 0, "report.pdf", 10);
	r |= add_ev(st, "FILEDOWNLOAD", guid_b, "Room B", "sip:alice@example.org", T0 + 5000, 0, "report.pdf", 10);
	r |= add_ev(st, "ADMIN", NULL, NULL, "admin", T0 + 6000, 0, "user add carol", 14);
	r |= add_ev(st, "PART", guid_a, "Room A", "sip:alice@example.org", T0 + 7000, 0, NULL, 0);
	r |= add_ev(st, "CHAT", guid_a, "Room A", "sip:x@other.org", T0 + 1000000, 42, bad_text, sizeof bad_text - 1);
	return r;
}

/* ---- reading the XML back ------------------------------------------------------------ */

struct msg {
	char type[16], content[128], id[24], user_name[64], sender_id[64], email[64], internal[8], uri[64];
	char since[24], iso[40], ticks[24];
	int conv;                   /* index of its Conversation */
};

struct parsed {
	int ok;                     /* well-formed, root as expected */
	int nconv;
	char chan_uri[8][128], chan_name[8][64], first_type[8][16], start[8][24], end[8][24];
	struct msg m[256];
	int n;
	char admin[8][512];         /* the <?pchat-admin ...?> instructions after the root, as written */
	int nadmin;
};

static void attr(xmlNode *n, const char *name, char *out, size_t len)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);

	sf(out, len, "%s", v ? (const char *)v : "(none)");
	xmlFree(v);
}

static xmlNode *child(xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, name))
			return c;
	return NULL;
}

static void read_msg(xmlNode *mn, struct msg *m, int conv)
{
	xmlNode *s = child(mn, "Sender"), *t = child(mn, "DateTimeUTC");

	memset(m, 0, sizeof *m);
	m->conv = conv;
	attr(mn, "type", m->type, sizeof m->type);
	attr(mn, "content", m->content, sizeof m->content);
	attr(mn, "id", m->id, sizeof m->id);
	if (s) {
		attr(s, "UserName", m->user_name, sizeof m->user_name);
		attr(s, "id", m->sender_id, sizeof m->sender_id);
		attr(s, "email", m->email, sizeof m->email);
		attr(s, "internal", m->internal, sizeof m->internal);
		attr(s, "uri", m->uri, sizeof m->uri);
	}
	if (t) {
		attr(t, "since1970", m->since, sizeof m->since);
		attr(t, "string", m->iso, sizeof m->iso);
		attr(t, "long", m->ticks, sizeof m->ticks);
	}
}

/* Parse a Lync-format file into p (appending messages). */
static void parse_lync(const char *path, struct parsed *p)
{
	xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

	p->ok = root && !strcmp((const char *)root->name, "Conversations");
	for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
		xmlNode *ch, *fm, *msgs;
		int k = p->nconv;

		if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "Conversation") != 0 || k >= 8)
			continue;
		ch = child(c, "Channel");
		fm = child(c, "FirstMessage");
		msgs = child(c, "Messages");
		attr(ch, "uri", p->chan_uri[k], sizeof p->chan_uri[k]);
		attr(ch, "name", p->chan_name[k], sizeof p->chan_name[k]);
		attr(fm, "type", p->first_type[k], sizeof p->first_type[k]);
		attr(child(c, "StartTimeUTC"), "since1970", p->start[k], sizeof p->start[k]);
		attr(child(c, "EndTimeUTC"), "since1970", p->end[k], sizeof p->end[k]);
		for (xmlNode *m = msgs ? msgs->children : NULL; m; m = m->next)
			if (m->type == XML_ELEMENT_NODE && !strcmp((const char *)m->name, "Message") && p->n < 256)
				read_msg(m, &p->m[p->n++], k);
		p->nconv++;
	}
	for (xmlNode *c = root ? root->next : NULL; c; c = c->next)
		if (c->type == XML_PI_NODE && !strcmp((const char *)c->name, "pchat-admin") && p->nadmin < 8)
			sf(p->admin[p->nadmin++], sizeof p->admin[0], "%s", c->content ? (const char *)c->content : "");
	xmlFreeDoc(doc);
}

/* Sender/@id as doc/compliance-formats.md defines it, computed here on its
 * own: 1 + (the SHA-256 of the bare URI's first four bytes, big-endian,
 * modulo 2^31 - 1). */
static long long expected_user_id(const char *bare)
{
	unsigned char d[32];

	mbedtls_sha256_ret((const unsigned char *)bare, strlen(bare), d, 0);
	return (long long)((((uint32_t)d[0] << 24) | ((uint32_t)d[1] << 16) | ((uint32_t)d[2] << 8) | d[3]) % 2147483647u) + 1;
}

static int read_file(const char *path, char *buf, size_t len, size_t *got)
{
	FILE *f = fopen(path, "rb");

	*got = 0;
	if (f == NULL)
		return -1;
	*got = fread(buf, 1, len, f);
	fclose(f);
	return 0;
}

static int same_bytes(const char *a, const char *b)
{
	static char x[1 << 20], y[1 << 20];
	size_t nx, ny;

	return read_file(a, x, sizeof x, &nx) == 0 && read_file(b, y, sizeof y, &ny) == 0 && nx == ny && nx > 0 &&
	       memcmp(x, y, nx) == 0;
}

/* Names of the regular, non-hidden files in d, sorted; returns the count. */
static int list_dir(const char *d, char names[][NAME_LEN + 16], int max)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	int n = 0;

	while (dp && (de = readdir(dp)) != NULL)
		if (de->d_name[0] != '.' && n < max)
			sf(names[n++], NAME_LEN + 16, "%s", de->d_name);
	if (dp)
		closedir(dp);
	qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
	return n;
}

static void rm_rf(const char *path)
{
	char cmd[600];

	sf(cmd, sizeof cmd, "rm -rf '%s'", path);
	if (system(cmd) != 0)
		printf("# rm -rf %s failed\n", path);
}

/* Export until nothing waits; returns batches written or -1. */
static int export_all(struct compliance *c)
{
	char path[PATH_MAX + NAME_LEN], err[512];
	int r, n = 0;

	while ((r = compliance_export_one(c, path, sizeof path, err, sizeof err)) != 0) {
		if (r < 0) {
			printf("# export: %s\n", err);
			return -1;
		}
		n += r == 1;
	}
	return n;
}

/* ---- comp-1: the Lync XML of a known set of events ----------------------------------- */

static void test_lync(void)
{
	static struct parsed p;
	struct config cfg;
	struct store *st = open_store("lync.db");
	struct compliance *c;
	struct store_batch last;
	char path[PATH_MAX + NAME_LEN], err[512], want[PATH_MAX + NAME_LEN], sha[STORE_SHA256_HEX], why[100];
	int r;

	make_cfg(&cfg, "output_dir = lync\n");
	if (!CHECK(st != NULL && add_known(st) == STORE_OK, "comp-1.0 a store with the known events"))
		return;
	c = compliance_new(&cfg, st);
	r = compliance_export_one(c, path, sizeof path, err, sizeof err);
	sf(want, sizeof want, "%s/lync/pchat-00000001-1-9.xml", dir);
	CHECK(r == 1 && strcmp(path, want) == 0, "comp-1.1 one batch, named pchat-00000001-1-9.xml");
	parse_lync(path, &p);
	CHECK(p.ok, "comp-1.2 the file is well-formed XML with root Conversations (libxml2)");
	CHECK(p.nconv == 2, "comp-1.3 one Conversation per room (two rooms; the admin event is no Conversation)");
	CHECK(!strcmp(p.chan_uri[0], "ma-chan://example.org/11111111-1111-4111-8111-111111111111") &&
	      !strcmp(p.chan_name[0], "Room A") && !strcmp(p.chan_uri[1], "ma-chan://example.org/22222222-2222-4222-8222-222222222222"),
	      "comp-1.4 Channel uri/name, rooms in order of first event");
	CHECK(!strcmp(p.first_type[0], "JOIN") && !strcmp(p.first_type[1], "JOIN"),
	      "comp-1.5 FirstMessage is each room's first event");
	CHECK(p.n == 8 && p.nadmin == 1, "comp-1.6 eight events are Messages, the ADMIN one a pchat-admin instruction");
	if (p.n == 8) {
		/* Room A: JOIN, CHAT, BACKCHAT, PART, CHAT; room B: JOIN, FILEUPLOAD, FILEDOWNLOAD. */
		static const char *const types[] = { "JOIN", "CHAT", "BACKCHAT", "PART", "CHAT", "JOIN", "FILEUPLOAD",
		                                     "FILEDOWNLOAD" };
		char want_id[24];
		int all = 1;

		for (int i = 0; i < 8; i++)
			all &= !strcmp(p.m[i].type, types[i]);
		CHECK(all, "comp-1.7 types grouped by room, each room in seq order");
		sf(want_id, sizeof want_id, "%lld", expected_user_id("alice@example.org"));
		CHECK(!strcmp(p.m[0].user_name, "alice") && !strcmp(p.m[0].uri, "alice@example.org") &&
		      !strcmp(p.m[0].sender_id, want_id) && !strcmp(p.m[0].email, "alice@example.org") &&
		      !strcmp(p.m[0].internal, "true"), "comp-1.8 Sender of alice's JOIN (id: the number derived from the URI)");
		CHECK(!strcmp(p.m[2].uri, "bob@example.org") && !strcmp(p.m[2].type, "BACKCHAT"), "comp-1.9 bob read the history");
		CHECK(!strcmp(p.m[1].content, "hi <there> & \"you\"") && !strcmp(p.m[1].id, "41") && !strcmp(p.m[0].id, "0"),
		      "comp-1.10 CHAT content round-trips escaped markup; id is the message id (0 for others)");
		CHECK(!strcmp(p.m[0].since, "1700000000123") && !strcmp(p.m[0].iso, "2023-11-14T22:13:20.123Z") &&
		      !strcmp(p.m[0].ticks, "638355968001230000"), "comp-1.11 time: since1970 ms, ISO 8601, .NET ticks");
		{
			long long ms = strtoll(p.m[1].since, NULL, 10);

			CHECK(ms == (T0 + 2000) / 1000 && strtoll(p.m[1].ticks, NULL, 10) == ms * 10000 + 621355968000000000LL &&
			      !strcmp(p.m[1].iso, "2023-11-14T22:13:20.125Z"), "comp-1.12 ticks = ms*10000 + 621355968000000000");
		}
		CHECK(!strcmp(p.m[4].internal, "false") && !strcmp(p.m[4].uri, "x@other.org") &&
		      !strcmp(p.m[4].content, "\xef\xbf\xbd" "bad\xef\xbf\xbd\xef\xbf\xbd utf8 \xe2\x9c\x93 tab\tnl\n<&>"),
		      "comp-1.13 foreign user is external; control bytes and bad UTF-8 become U+FFFD, tab/LF kept");
		CHECK(!strcmp(p.m[6].content, "report.pdf") && !strcmp(p.m[7].content, "report.pdf") &&
		      !strcmp(p.m[7].uri, "alice@example.org"), "comp-1.14 file transfers carry the file name");
		CHECK(!strcmp(p.admin[0], "seq=\"7\" since1970=\"1700000000129\" string=\"2023-11-14T22:13:20.129Z\" uri=\"admin\""
		                          " channel=\"\" name=\"\" content=\"user add carol\""),
		      "comp-1.15 the admin event, after the root element");
		CHECK(!strcmp(p.start[0], "1700000000123") && !strcmp(p.end[0], "1700000001123") &&
		      !strcmp(p.start[1], "1700000000124") && !strcmp(p.end[1], "1700000000128"),
		      "comp-1.16 StartTimeUTC/EndTimeUTC are each room's first and last event");
	}
	CHECK(store_event_count(st) == 0, "comp-1.17 the exported events are gone from the store");
	CHECK(store_batch_last(st, &last) == STORE_OK && last.number == 1 && last.first_seq == 1 && last.last_seq == 9 &&
	      last.events == 9 && file_sha256(AT_FDCWD, path, sha, why, sizeof why) == 0 && !strcmp(last.sha256, sha) &&
	      !strcmp(last.prev_sha256, zero_hash), "comp-1.18 the store recorded the batch with the file's sha256");
	CHECK(compliance_export_one(c, path, sizeof path, err, sizeof err) == 0, "comp-1.19 nothing left: 0");
	compliance_free(c);
	store_close(st);
}

/* ---- comp-2: naming and ordering; comp-4: verify ------------------------------------------ */

static void test_naming_and_verify(void)
{
	static char names[32][NAME_LEN + 16];
	struct config cfg;
	struct store *st = open_store("chain.db");
	struct compliance *c;
	char out[PATH_MAX], a[PATH_MAX + 64], b[PATH_MAX + 64], msg[1024], mtext[MANIFEST_MAX], cmd[2 * PATH_MAX];
	char prev[STORE_SHA256_HEX] = { 0 }, why[100];
	int n, ok = 1;

	make_cfg(&cfg, "output_dir = chain\nmax_batch_events = 3\n");
	path_in(out, sizeof out, "chain");
	for (int i = 1; i <= 10 && st; i++)
		add_ev(st, "CHAT", guid_a, "Room A", "sip:alice@example.org", T0 + i, i, "x", 1);
	c = compliance_new(&cfg, st);
	CHECK(st && c && export_all(c) == 4, "comp-2.1 ten events at 3 per batch: four batches");
	n = list_dir(out, names, 32);
	CHECK(n == 8 && !strcmp(names[0], "pchat-00000001-1-3.xml") && !strcmp(names[1], "pchat-00000001-1-3.xml.manifest") &&
	      !strcmp(names[2], "pchat-00000002-4-6.xml") && !strcmp(names[4], "pchat-00000003-7-9.xml") &&
	      !strcmp(names[6], "pchat-00000004-10-10.xml"), "comp-2.2 names sort in export order, each with a manifest");
	memcpy(prev, zero_hash, sizeof prev);
	for (int i = 0; i + 1 < n; i += 2) {
		char sha[STORE_SHA256_HEX], f1[80], f2[80];

		sf(a, sizeof a, "%s/%s", out, names[i + 1]);
		sf(b, sizeof b, "%s/%s", out, names[i]);
		if (read_small(AT_FDCWD, a, mtext, sizeof mtext) < 0 || file_sha256(AT_FDCWD, b, sha, why, sizeof why) < 0) {
			ok = 0;
			break;
		}
		manifest_field(mtext, "sha256", f1, sizeof f1);
		manifest_field(mtext, "prev_sha256", f2, sizeof f2);
		ok &= !strcmp(f1, sha) && !strcmp(f2, prev);
		memcpy(prev, sha, sizeof prev);
	}
	CHECK(ok, "comp-2.3 each manifest holds its batch's sha256 and the previous one's (the chain)");

	/* verify: intact, then each kind of tampering, each undone after. */
	CHECK(compliance_verify(out, st, msg, sizeof msg) == 0 && strstr(msg, "4 batches") && strstr(msg, "matches the store"),
	      "comp-4.1 verify passes on an intact folder");
	sf(a, sizeof a, "%s/pchat-00000002-4-6.xml", out);
	{
		FILE *f = fopen(a, "r+b");
		int ch;

		if (f && fseek(f, 300, SEEK_SET) == 0 && (ch = fgetc(f)) != EOF) {
			fseek(f, 300, SEEK_SET);
			fputc(ch ^ 1, f);
			fclose(f);
			CHECK(compliance_verify(out, NULL, msg, sizeof msg) == 1 && strstr(msg, "pchat-00000002-4-6.xml: changed"),
			      "comp-4.2 one flipped bit: verify names the changed file");
			f = fopen(a, "r+b");
			fseek(f, 300, SEEK_SET);
			fputc(ch, f);
		}
		if (f)
			fclose(f);
	}
	CHECK(compliance_verify(out, st, msg, sizeof msg) == 0, "comp-4.3 restored: passes again");
	sf(b, sizeof b, "%s/moved.xml", dir);
	CHECK(rename(a, b) == 0 && compliance_verify(out, st, msg, sizeof msg) == 1 &&
	      strstr(msg, "pchat-00000002-4-6.xml: removed"), "comp-4.4 a removed batch file is named");
	rename(b, a);
	sf(cmd, sizeof cmd, "mkdir -p '%s/away' && mv '%s'/pchat-00000003-* '%s/away/'", dir, out, dir);
	CHECK(system(cmd) == 0 && compliance_verify(out, NULL, msg, sizeof msg) == 1 && strstr(msg, "batch 3 is missing"),
	      "comp-4.5 a batch removed with its manifest: the gap is named");
	sf(cmd, sizeof cmd, "mv '%s'/away/* '%s/'", dir, out);
	CHECK(system(cmd) == 0 && compliance_verify(out, st, msg, sizeof msg) == 0, "comp-4.6 put back: passes");
	/* Reorder: swap the contents of batches 2 and 3 under their names. */
	sf(cmd, sizeof cmd, "cd '%s' && mv pchat-00000002-4-6.xml t && mv pchat-00000003-7-9.xml pchat-00000002-4-6.xml"
	         " && mv t pchat-00000003-7-9.xml", out);
	CHECK(system(cmd) == 0 && compliance_verify(out, NULL, msg, sizeof msg) == 1 && strstr(msg, "pchat-00000002-4-6.xml"),
	      "comp-4.7 two batches swapped: the first out of place is named");
	sf(cmd, sizeof cmd, "cd '%s' && mv pchat-00000002-4-6.xml t && mv pchat-00000003-7-9.xml pchat-00000002-4-6.xml"
	         " && mv t pchat-00000003-7-9.xml", out);
	CHECK(system(cmd) == 0 && compliance_verify(out, st, msg, sizeof msg) == 0, "comp-4.8 swapped back: passes");
	/* Rename a batch (file and manifest) to another number. */
	sf(cmd, sizeof cmd, "cd '%s' && mv pchat-00000004-10-10.xml pchat-00000005-10-10.xml &&"
	         " mv pchat-00000004-10-10.xml.manifest pchat-00000005-10-10.xml.manifest", out);
	CHECK(system(cmd) == 0 && compliance_verify(out, NULL, msg, sizeof msg) == 1 && strstr(msg, "pchat-00000005-10-10.xml"),
	      "comp-4.9 a renamed batch is named");
	sf(cmd, sizeof cmd, "cd '%s' && mv pchat-00000005-10-10.xml pchat-00000004-10-10.xml &&"
	         " mv pchat-00000005-10-10.xml.manifest pchat-00000004-10-10.xml.manifest", out);
	CHECK(system(cmd) == 0 && compliance_verify(out, st, msg, sizeof msg) == 0, "comp-4.10 renamed back: passes");
	/* Added files: a batch-like one, and any other. */
	sf(a, sizeof a, "%s/pchat-00000004-10-10.xml", out);
	sf(b, sizeof b, "%s/pchat-00000005-11-11.xml", out);
	sf(cmd, sizeof cmd, "cp '%s' '%s'", a, b);
	CHECK(system(cmd) == 0 && compliance_verify(out, NULL, msg, sizeof msg) == 1 && strstr(msg, "pchat-00000005-11-11.xml"),
	      "comp-4.11 an added batch file is named");
	unlink(b);
	sf(b, sizeof b, "%s/notes.txt", out);
	sf(cmd, sizeof cmd, "echo hi > '%s'", b);
	CHECK(system(cmd) == 0 && compliance_verify(out, NULL, msg, sizeof msg) == 1 && strstr(msg, "notes.txt") &&
	      strstr(msg, "added"), "comp-4.12 any other added file is named");
	unlink(b);
	sf(b, sizeof b, "%s/.pchat-tmp-999999-x", out);
	sf(cmd, sizeof cmd, "echo partial > '%s'", b);
	CHECK(system(cmd) == 0 && compliance_verify(out, st, msg, sizeof msg) == 0, "comp-4.13 a hidden temporary file is ignored");
	unlink(b);
	/* An edited manifest line. */
	sf(a, sizeof a, "%s/pchat-00000003-7-9.xml.manifest", out);
	sf(cmd, sizeof cmd, "cp '%s' '%s/m.bak' && sed -i 's/^first_seq 7/first_seq 6/' '%s'", a, dir, a);
	CHECK(system(cmd) == 0 && compliance_verify(out, NULL, msg, sizeof msg) == 1 &&
	      strstr(msg, "pchat-00000003-7-9.xml.manifest: changed"), "comp-4.14 an edited manifest is named");
	sf(cmd, sizeof cmd, "mv '%s/m.bak' '%s'", dir, a);
	CHECK(system(cmd) == 0 && compliance_verify(out, st, msg, sizeof msg) == 0, "comp-4.15 restored: passes");
	/* The newest batch removed: the chain alone cannot tell, the store can. */
	sf(cmd, sizeof cmd, "mv '%s'/pchat-00000004-* '%s/away/'", out, dir);
	CHECK(system(cmd) == 0 && compliance_verify(out, NULL, msg, sizeof msg) == 0 &&
	      compliance_verify(out, st, msg, sizeof msg) == 1 && strstr(msg, "pchat-00000004-10-10.xml: missing"),
	      "comp-4.16 removing the newest batch is caught against the store");
	sf(cmd, sizeof cmd, "mv '%s'/away/* '%s/'", dir, out);
	CHECK(system(cmd) == 0, "comp-4.17 put back");
	/* A forged re-chain: batch 4 rewritten with a matching manifest. */
	{
		char sha[STORE_SHA256_HEX], mpath[PATH_MAX + 64];
		struct store_batch fb = { .number = 4, .first_seq = 10, .last_seq = 10 };
		int dfd = open(out, O_RDONLY | O_DIRECTORY);
		FILE *f;

		sf(a, sizeof a, "%s/pchat-00000004-10-10.xml", out);
		sf(cmd, sizeof cmd, "cp '%s' '%s/b4.bak' && cp '%s.manifest' '%s/m4.bak' && sed -i 's/content=\"x\"/content=\"y\"/' '%s'",
		         a, dir, a, dir, a);
		if (system(cmd) == 0 && file_sha256(dfd, "pchat-00000004-10-10.xml", sha, why, sizeof why) == 0) {
			sf(mpath, sizeof mpath, "%s.manifest", a);
			read_small(AT_FDCWD, mpath, mtext, sizeof mtext);
			manifest_field(mtext, "prev_sha256", prev, sizeof prev);
			manifest_text(&fb, "pchat-00000004-10-10.xml", sha, prev, mtext, sizeof mtext);
			if ((f = fopen(mpath, "w")) != NULL) {
				fputs(mtext, f);
				fclose(f);
			}
		}
		CHECK(compliance_verify(out, NULL, msg, sizeof msg) == 0 && compliance_verify(out, st, msg, sizeof msg) == 1 &&
		      strstr(msg, "as the store recorded it"), "comp-4.18 a forged newest batch passes the chain, not the store");
		sf(cmd, sizeof cmd, "mv '%s/b4.bak' '%s' && mv '%s/m4.bak' '%s.manifest'", dir, a, dir, a);
		CHECK(system(cmd) == 0 && compliance_verify(out, st, msg, sizeof msg) == 0, "comp-4.19 restored: passes");
		if (dfd >= 0)
			close(dfd);
	}
	/* A re-chain: batch 2 removed, batches 3 and 4 renamed down with fresh,
	 * self-consistent manifests.  Only the hash inside each file tells. */
	{
		static const struct { const char *from, *to; int64_t n, first, last; } mv[] = {
			{ "pchat-00000003-7-9.xml", "pchat-00000002-7-9.xml", 2, 7, 9 },
			{ "pchat-00000004-10-10.xml", "pchat-00000003-10-10.xml", 3, 10, 10 },
		};
		char sha[STORE_SHA256_HEX], p0[STORE_SHA256_HEX], mpath[PATH_MAX + 64];
		FILE *f;

		sf(cmd, sizeof cmd, "rm -rf '%s/orig' && cp -a '%s' '%s/orig' && rm '%s'/pchat-00000002-* '%s'/pchat-0000000[34]-*.manifest",
		   dir, out, dir, out, out);
		sf(a, sizeof a, "%s/pchat-00000001-1-3.xml", out);
		ok = system(cmd) == 0 && file_sha256(AT_FDCWD, a, p0, why, sizeof why) == 0;
		for (int i = 0; i < 2 && ok; i++) {
			struct store_batch fb = { .number = mv[i].n, .first_seq = mv[i].first, .last_seq = mv[i].last };

			sf(a, sizeof a, "%s/%s", out, mv[i].from);
			sf(b, sizeof b, "%s/%s", out, mv[i].to);
			ok &= rename(a, b) == 0 && file_sha256(AT_FDCWD, b, sha, why, sizeof why) == 0;
			manifest_text(&fb, mv[i].to, sha, p0, mtext, sizeof mtext);
			sf(mpath, sizeof mpath, "%s.manifest", b);
			if ((f = fopen(mpath, "w")) != NULL) {
				fputs(mtext, f);
				fclose(f);
			}
			memcpy(p0, sha, sizeof p0);
		}
		CHECK(ok && compliance_verify(out, NULL, msg, sizeof msg) == 1 &&
		      strstr(msg, "pchat-00000002-7-9.xml: events missing between batches"),
		      "comp-4.20 a re-chained folder with forged manifests: caught (the seq gap between batches)");
		sf(cmd, sizeof cmd, "rm -rf '%s' && mv '%s/orig' '%s'", out, dir, out);
		CHECK(system(cmd) == 0 && compliance_verify(out, st, msg, sizeof msg) == 0, "comp-4.21 restored: passes");
	}
	compliance_free(c);
	store_close(st);
}

/* ---- comp-3: determinism, crashes --------------------------------------------------------- */

/* In a child with its own connection: export with a crash at step. */
static int crash_child(const char *dbname, const struct config *cfg, enum export_step step)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct store *st = open_store(dbname);
		struct compliance *c = st ? compliance_new(cfg, st) : NULL;
		char path[PATH_MAX + NAME_LEN], err[512];

		if (c == NULL)
			_exit(1);
		c->crash_at = step;
		compliance_export_one(c, path, sizeof path, err, sizeof err);
		_exit(0);               /* not reached when the step is hit */
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Every CHAT message id in the Lync files of folder d, counted. */
static void count_ids(const char *d, int *count, int max)
{
	static char names[4096][NAME_LEN + 16];
	static struct parsed p;
	char path[PATH_MAX + 64];
	int n = list_dir(d, names, 4096);

	memset(count, 0, (size_t)max * sizeof *count);
	for (int i = 0; i < n; i++) {
		if (strstr(names[i], ".manifest"))
			continue;
		memset(&p, 0, sizeof p);
		sf(path, sizeof path, "%s/%s", d, names[i]);
		parse_lync(path, &p);
		for (int k = 0; k < p.n; k++) {
			long id = strtol(p.m[k].id, NULL, 10);

			if (id > 0 && id < max)
				count[id]++;
		}
	}
}

static void test_determinism(void)
{
	static const char *const steps[] = { "before-write", "after-write", "after-rename", "before-commit" };
	struct config cfg1, cfg2;
	struct store *s1 = open_store("det1.db"), *s2 = open_store("det2.db");
	struct compliance *c1, *c2;
	char p1[PATH_MAX + NAME_LEN], p2[PATH_MAX + NAME_LEN], err[512], d[PATH_MAX], msg[1024];
	int count[64], id = 1;

	make_cfg(&cfg1, "output_dir = det1\n");
	make_cfg(&cfg2, "output_dir = det2\n");
	CHECK(s1 && s2 && add_known(s1) == 0 && add_known(s2) == 0, "comp-3.0 two stores with the same events");
	c1 = compliance_new(&cfg1, s1);
	c2 = compliance_new(&cfg2, s2);
	CHECK(compliance_export_one(c1, p1, sizeof p1, err, sizeof err) == 1 &&
	      compliance_export_one(c2, p2, sizeof p2, err, sizeof err) == 1 && same_bytes(p1, p2),
	      "comp-3.1 same events, same batch: identical bytes");
	compliance_free(c1);
	compliance_free(c2);
	store_close(s1);
	store_close(s2);

	/* A crash at each step, then a normal export: every event exactly once. */
	s1 = open_store("crash.db");
	make_cfg(&cfg1, "output_dir = crash\n");
	path_in(d, sizeof d, "crash");
	c1 = compliance_new(&cfg1, s1);
	for (int k = 0; k < 4; k++) {
		char before[PATH_MAX + NAME_LEN] = "";
		static char keep[1 << 16];
		size_t keep_len = 0;
		int all = 1;

		for (int i = 0; i < 3; i++, id++)
			add_ev(s1, "CHAT", guid_a, "Room A", "sip:alice@example.org", T0 + id, id, "m", 1);
		CHECK(crash_child("crash.db", &cfg1, (enum export_step)(k + 1)) == EXIT_CRASH,
		      k == 0 ? "comp-3.2 crash before-write: the child _exits 9" :
		      k == 1 ? "comp-3.3 crash after-write: the child _exits 9" :
		      k == 2 ? "comp-3.4 crash after-rename: the child _exits 9" : "comp-3.5 crash before-commit: the child _exits 9");
		CHECK(store_event_count(s1) == 3, "comp-3.6 the crash lost no event (all three still in the store)");
		if (k >= 2) {
			/* The batch file is already in place: keep its bytes to compare. */
			struct store_batch b;

			if (store_batch_plan(s1, 100, BATCH_MAX_BYTES, "lync", "example.org", &b) == STORE_OK) {
				char name[NAME_LEN];

				batch_name(&b, name);
				sf(before, sizeof before, "%s/%s", d, name);
				read_file(before, keep, sizeof keep, &keep_len);
			}
		}
		CHECK(compliance_export_one(c1, p1, sizeof p1, err, sizeof err) == 1 && store_event_count(s1) == 0,
		      "comp-3.7 the next export finishes the planned batch");
		if (k >= 2) {
			static char now_bytes[1 << 16];
			size_t now_len = 0;

			read_file(p1, now_bytes, sizeof now_bytes, &now_len);
			CHECK(!strcmp(before, p1) && keep_len > 0 && keep_len == now_len && !memcmp(keep, now_bytes, now_len),
			      "comp-3.8 re-export after a crash past the rename: same name, same bytes");
		}
		count_ids(d, count, 64);
		for (int i = 1; i < id; i++)
			all &= count[i] == 1;
		printf("# crash at %s: %d events, each exported once: %s\n", steps[k], id - 1, all ? "yes" : "NO");
		CHECK(all, "comp-3.9 every event exactly once across the folder");
		CHECK(compliance_verify(d, s1, msg, sizeof msg) == 0, "comp-3.10 verify passes after the crash and the re-export");
	}
	/* The plan fixes the format: a crash, a config change, then the re-export. */
	add_ev(s1, "JOIN", guid_a, "Room A", "sip:alice@example.org", T0, 0, NULL, 0);
	CHECK(crash_child("crash.db", &cfg1, STEP_AFTER_RENAME) == EXIT_CRASH, "comp-3.11 crash after writing a lync batch");
	make_cfg(&cfg1, "output_dir = crash\nformat = actiance\n");
	{
		static struct parsed p;

		memset(&p, 0, sizeof p);
		CHECK(compliance_export_one(c1, p1, sizeof p1, err, sizeof err) == 1, "comp-3.12 re-export after format change");
		parse_lync(p1, &p);
		CHECK(p.ok && p.n == 1, "comp-3.13 the planned batch keeps the format it was planned with (lync)");
	}
	compliance_free(c1);
	store_close(s1);
}

/* ---- comp-5: an unusable output folder; backoff ----------------------------------------- */

static void test_faults(void)
{
	struct config cfg;
	struct store *st = open_store("fault.db");
	struct compliance *c;
	char blocker[PATH_MAX], path[PATH_MAX + NAME_LEN], err[512], msg[1024], d[PATH_MAX];
	int64_t delays[5];
	FILE *f;

	path_in(blocker, sizeof blocker, "blocker");
	f = fopen(blocker, "w");
	if (f)
		fclose(f);
	make_cfg(&cfg, "output_dir = blocker/out\nrun_interval = 5\n");
	for (int i = 1; i <= 5 && st; i++)
		add_ev(st, "CHAT", guid_b, "Room B", "sip:bob@example.org", T0 + i, i, "during the outage", 17);
	c = compliance_new(&cfg, st);
	CHECK(c != NULL && !c->worker_running, "comp-5.0 an exporter (no worker until compliance_start)");
	CHECK(compliance_export_one(c, path, sizeof path, err, sizeof err) == -1 && strstr(err, "output folder"),
	      "comp-5.1 output_dir under a regular file: the export fails with a reason");
	CHECK(store_event_count(st) == 5, "comp-5.2 and the events stay");
	for (int i = 0; i < 5; i++)
		delays[i] = export_round(c);
	CHECK(delays[0] == 1000 && delays[1] == 2000 && delays[2] == 4000 && delays[3] == 5000 && delays[4] == 5000,
	      "comp-5.3 the worker backs off 1 s, 2 s, 4 s, capped at run_interval");
	unlink(blocker);
	CHECK(export_round(c) <= EXPORT_REST_MAX_MS && c->backoff_ms == 0 && store_event_count(st) == 0,
	      "comp-5.4 folder fixed: the next round exports (and goes on after a rest no longer than the batch took)");
	CHECK(export_round(c) == 5000, "comp-5.5 nothing left: back to run_interval");
	CHECK(store_event_count(st) == 0, "comp-5.6 all events exported");
	path_in(d, sizeof d, "blocker/out");
	CHECK(compliance_verify(d, st, msg, sizeof msg) == 0 && strstr(msg, "1 batch (1..1)"), "comp-5.7 once, in one batch");
	compliance_free(c);

	/* output_dir is itself a regular file. */
	make_cfg(&cfg, "output_dir = plainfile\n");
	path_in(d, sizeof d, "plainfile");
	f = fopen(d, "w");
	if (f)
		fclose(f);
	add_ev(st, "JOIN", guid_b, "Room B", "sip:bob@example.org", T0, 0, NULL, 0);
	c = compliance_new(&cfg, st);
	CHECK(compliance_export_one(c, path, sizeof path, err, sizeof err) == -1 && store_event_count(st) == 1,
	      "comp-5.8 output_dir is a file: fails, nothing lost");
	compliance_free(c);

	/* Disabled: nothing captured, no timer. */
	make_cfg(&cfg, "enabled = false\n");
	{
		struct store_room r = { .id = 1 };

		sf(r.guid, sizeof r.guid, "%s", guid_a);
		sf(r.name, sizeof r.name, "Room A");
		CHECK(compliance_record(st, &cfg, "JOIN", &r, "sip:bob@example.org", 0, NULL, 0) == STORE_OK &&
		      store_event_count(st) == 1, "comp-5.9 enabled = false: compliance_record captures nothing");
	}
	c = compliance_new(&cfg, st);
	CHECK(c != NULL && compliance_start(c, err, sizeof err) == 0 && !c->worker_running,
	      "comp-5.10 enabled = false: no export worker");
	compliance_free(c);

	/* Started: a worker thread with its own connection exports in the
	 * background while this thread keeps writing. */
	make_cfg(&cfg, "output_dir = worker\nrun_interval = 1\nmax_batch_events = 2\n[store]\npath = fault.db\n");
	path_in(d, sizeof d, "worker");
	mkdir(d, 0750);         /* the store recorded a batch already: it is not recreated silently */
	c = compliance_new(&cfg, st);
	CHECK(c != NULL && compliance_start(c, err, sizeof err) == 0 && c->worker_running && c->st != st,
	      "comp-5.11 compliance_start: a worker with its own store connection");
	for (int i = 1; i <= 9 && st; i++)
		add_ev(st, "CHAT", guid_b, "Room B", "sip:bob@example.org", T0 + 100 + i, 100 + i, "background", 10);
	for (int waited = 0; waited < 100 && store_event_count(st) > 0; waited++)
		usleep(50000);
	CHECK(store_event_count(st) == 0, "comp-5.12 the worker exported everything within a few seconds");
	compliance_free(c);
	{
		struct compliance_anchor an = { .from_batch = 2 };
		struct store_batch b1;

		/* Batch 1 went to blocker/out above; this folder goes on from 2. */
		CHECK(store_batch_get(st, 1, &b1) == STORE_OK && memcpy(an.from_prev, b1.sha256, sizeof an.from_prev) &&
		      compliance_verify_anchored(d, NULL, &an, msg, sizeof msg) == 0 && strstr(msg, "(2.."),
		      "comp-5.13 the worker's batches verify as the chain's continuation");
	}
	store_close(st);
}

/* ---- comp-6: Actiance-style XML ----------------------------------------------------------- */

static int count_elems(xmlNode *n, const char *name)
{
	int k = 0;

	for (; n; n = n->next) {
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name))
			k++;
		k += count_elems(n->children, name);
	}
	return k;
}

/* The text of n's first child element called name ("" when none). */
static void text_of(xmlNode *n, const char *name, char *out, size_t len)
{
	xmlNode *c = child(n, name);
	xmlChar *v = c ? xmlNodeGetContent(c) : NULL;

	sf(out, len, "%s", v ? (const char *)v : "");
	xmlFree(v);
}

/* The element children of conv as "Name(LoginName)" words, one string. */
static void conv_shape(xmlNode *conv, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (xmlNode *c = conv ? conv->children : NULL; c; c = c->next) {
		char login[64];
		int n;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		text_of(c, "LoginName", login, sizeof login);
		n = snprintf(out + used, len - used, "%s%s%s%s", used ? " " : "", (const char *)c->name, login[0] ? ":" : "",
		             login);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

static void test_actiance(void)
{
	struct config cfg;
	struct store *st = open_store("act.db");
	struct compliance *c;
	char path[PATH_MAX + NAME_LEN], err[512], shape[1024], v[128], v2[128];
	xmlDoc *doc = NULL;
	xmlNode *root, *conv[3] = { NULL };
	int k = 0, balanced = 1;

	make_cfg(&cfg, "output_dir = act\nformat = actiance\n");
	CHECK(st && add_known(st) == 0, "comp-6.0 the known events");
	c = compliance_new(&cfg, st);
	CHECK(compliance_export_one(c, path, sizeof path, err, sizeof err) == 1, "comp-6.1 exported");
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	CHECK(root && !strcmp((const char *)root->name, "FileDump"), "comp-6.2 well-formed, root FileDump");
	for (xmlNode *n = root ? root->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && k < 3)
			conv[k++] = n;
	CHECK(k == 3 && count_elems(root, "Conversation") == 3 && count_elems(root, "FileTransfer") == 0 &&
	      count_elems(root, "Event") == 0 && count_elems(root, "MessageID") == 0 && count_elems(root, "Direction") == 0,
	      "comp-6.3 three Conversations; no FileTransfer, Event, MessageID or Direction");
	conv_shape(conv[0], shape, sizeof shape);
	CHECK(!strcmp(shape, "RoomID StartTimeUTC ParticipantEntered:bob@example.org ParticipantEntered:x@other.org"
	                     " ParticipantEntered:alice@example.org Message:alice@example.org Message:bob@example.org"
	                     " ParticipantLeft:alice@example.org Message:x@other.org ParticipantLeft:bob@example.org"
	                     " ParticipantLeft:x@other.org EndTimeUTC"),
	      "comp-6.4 room A: roster entered at the start, JOIN/PART and messages in order, roster left at the end");
	if (!strstr(shape, "RoomID"))
		printf("# room A: %s\n", shape);
	conv_shape(conv[1], shape, sizeof shape);
	CHECK(!strcmp(shape, "RoomID StartTimeUTC ParticipantEntered:alice@example.org ParticipantEntered:bob@example.org"
	                     " FileTransferStarted:bob@example.org FileTransferEnded:bob@example.org"
	                     " FileTransferStarted:alice@example.org FileTransferEnded:alice@example.org"
	                     " ParticipantLeft:bob@example.org ParticipantLeft:alice@example.org EndTimeUTC"),
	      "comp-6.5 room B: an upload and a download as FileTransferStarted + FileTransferEnded");
	conv_shape(conv[2], shape, sizeof shape);
	CHECK(!strcmp(shape, "RoomID StartTimeUTC ParticipantEntered:admin Message:admin ParticipantLeft:admin EndTimeUTC"),
	      "comp-6.6 the room-less admin event: a Message in a Conversation of its own");
	for (int i = 0; i < k; i++) {
		/* Everyone who entered a conversation leaves it once more than... exactly as often. */
		for (xmlNode *a = conv[i]->children; a; a = a->next) {
			char who[64], other[64];
			int in = 0, out = 0;

			if (a->type != XML_ELEMENT_NODE || strcmp((const char *)a->name, "ParticipantEntered") != 0)
				continue;
			text_of(a, "LoginName", who, sizeof who);
			for (xmlNode *x = conv[i]->children; x; x = x->next) {
				if (x->type != XML_ELEMENT_NODE)
					continue;
				text_of(x, "LoginName", other, sizeof other);
				in += !strcmp(other, who) && !strcmp((const char *)x->name, "ParticipantEntered");
				out += !strcmp(other, who) && !strcmp((const char *)x->name, "ParticipantLeft");
			}
			balanced &= in == out;
		}
	}
	CHECK(balanced, "comp-6.7 in each Conversation every user leaves as often as they enter");
	if (k == 3) {
		xmlNode *pe = child(conv[0], "ParticipantEntered"), *msg = child(conv[0], "Message"), *fe;
		xmlNode *bc = msg ? msg->next : NULL;

		while (bc && bc->type != XML_ELEMENT_NODE)
			bc = bc->next;
		text_of(conv[0], "RoomID", v, sizeof v);
		attr(conv[0], "Perspective", v2, sizeof v2);
		CHECK(!strcmp(v, "ma-chan://example.org/11111111-1111-4111-8111-111111111111") && !strcmp(v2, "Room A"),
		      "comp-6.8 RoomID is the channel URI, Perspective the room's name");
		text_of(conv[0], "StartTimeUTC", v, sizeof v);
		text_of(conv[0], "EndTimeUTC", v2, sizeof v2);
		CHECK(!strcmp(v, "1700000000123") && !strcmp(v2, "1700000001123"), "comp-6.9 Start/EndTimeUTC in milliseconds");
		text_of(pe, "DateTimeUTC", v, sizeof v);
		text_of(pe, "CorporateEmailID", v2, sizeof v2);
		CHECK(!strcmp(v, "1700000000123") && !strcmp(v2, "bob@example.org"),
		      "comp-6.10 the start roster's entry: at StartTimeUTC, with CorporateEmailID");
		text_of(pe, "UserType", v, sizeof v);
		text_of(pe, "InternalFlag", v2, sizeof v2);
		CHECK(!strcmp(v, "user") && !strcmp(v2, "true"), "comp-6.11 UserType user, InternalFlag");
		text_of(msg, "MessageId", v, sizeof v);
		text_of(msg, "Content", v2, sizeof v2);
		CHECK(!strcmp(v, "41") && !strcmp(v2, "hi <there> & \"you\""), "comp-6.12 Message: MessageId and Content");
		text_of(msg, "DateTimeUTC", v, sizeof v);
		CHECK(!strcmp(v, "1700000000125"), "comp-6.13 DateTimeUTC in milliseconds since 1970");
		text_of(bc, "MessageId", v, sizeof v);
		CHECK(!strcmp(v, "pchat-backchat-4"), "comp-6.14 a history read is a Message with MessageId pchat-backchat-SEQ");
		text_of(child(conv[2], "Message"), "MessageId", v, sizeof v);
		text_of(child(conv[2], "Message"), "Content", v2, sizeof v2);
		CHECK(!strcmp(v, "pchat-admin-7") && !strcmp(v2, "user add carol"), "comp-6.15 the admin event's Message");
		fe = child(conv[1], "FileTransferEnded");
		text_of(fe, "UserFileName", v, sizeof v);
		text_of(fe, "Status", v2, sizeof v2);
		CHECK(!strcmp(v, "report.pdf") && !strcmp(v2, "Completed"), "comp-6.16 FileTransferEnded: UserFileName, Status");
	}
	xmlFreeDoc(doc);
	compliance_free(c);
	store_close(st);
	{
		/* The same events in another store: the same bytes, roster and all. */
		struct store *st2 = open_store("act2.db");
		char path2[PATH_MAX + NAME_LEN];

		make_cfg(&cfg, "output_dir = act2\nformat = actiance\n");
		c = st2 && add_known(st2) == 0 ? compliance_new(&cfg, st2) : NULL;
		CHECK(c && compliance_export_one(c, path2, sizeof path2, err, sizeof err) == 1 && same_bytes(path, path2),
		      "comp-6.21 same events in another store: byte-identical Actiance batch");
		compliance_free(c);
		store_close(st2);
	}
}

/* ---- comp-12: what Microsoft's schema cannot hold ---------------------------------------- */

static void test_lync_limits(void)
{
	static struct parsed p1, p2;
	struct config cfg;
	struct store *st = open_store("limits.db");
	struct compliance *c;
	char path[PATH_MAX + NAME_LEN], msg[1024], d[PATH_MAX], why[400], want[24], cmd[PATH_MAX + 200];
	struct xsd_check x;
	int r = 0;

	xsd_init(&x);
	make_cfg(&cfg, "output_dir = limits\nmax_batch_events = 6\n");
	path_in(d, sizeof d, "limits");
	/* Batch 1: message ids at and past the end of xs:int, admin events in a room and not. */
	r |= add_ev(st, "CHAT", guid_a, "Room A", "sip:alice@example.org", T0, 2147483647LL, "max", 3);
	r |= add_ev(st, "CHAT", guid_a, "Room A", "sip:alice@example.org", T0 + 1, 2147483648LL, "past", 4);
	r |= add_ev(st, "CHAT", guid_a, "Room A", "sip:bob@example.org", T0 + 2, (1LL << 40) + 5, "far", 3);
	r |= add_ev(st, "ADMIN", guid_a, "Room A", "admin", T0 + 3, 0, "room set <x> ?>\"", 16);
	r |= add_ev(st, "ADMIN", guid_b, "Room B", "sip:root@example.org", T0 + 4, 0, "room add", 8);
	r |= add_ev(st, "ADMIN", NULL, NULL, "admin", T0 + 5, 0, "user del dave", 13);
	/* Batch 2: the same users again. */
	r |= add_ev(st, "JOIN", guid_b, "Room B", "sip:bob@example.org", T0 + 6, 0, NULL, 0);
	r |= add_ev(st, "CHAT", guid_b, "Room B", "sip:alice@example.org", T0 + 7, 7, "again", 5);
	c = compliance_new(&cfg, st);
	CHECK(r == 0 && c && export_all(c) == 2, "comp-12.0 two batches");
	sf(path, sizeof path, "%s/pchat-00000001-1-6.xml", d);
	parse_lync(path, &p1);
	CHECK(xsd_validate(&x, path, why, sizeof why) == 0, "comp-12.1 batch 1 validates against Microsoft's schema");
	if (why[0])
		printf("# %s\n", why);
	CHECK(p1.nconv == 1 && p1.n == 3 && !strcmp(p1.m[0].id, "2147483647") && !strcmp(p1.m[1].id, "1") &&
	      !strcmp(p1.m[2].id, "517"), "comp-12.2 message ids past 2^31-1 wrap: ((id - 1) mod (2^31 - 1)) + 1 (2^31 -> 1, 2^40+5 -> 517)");
	CHECK(p1.nadmin == 3 && strstr(p1.admin[0], "seq=\"4\"") && strstr(p1.admin[0], "content=\"room set &lt;x&gt; ?&gt;&quot;\"") &&
	      strstr(p1.admin[1], "uri=\"root@example.org\" channel=\"ma-chan://example.org/22222222-2222-4222-8222-222222222222\"") &&
	      strstr(p1.admin[2], "seq=\"6\""),
	      "comp-12.3 three ADMIN events, in seq order, escaped so \"?>\" cannot end the instruction early");
	CHECK(p1.n + p1.nadmin == 6, "comp-12.4 every event of batch 1 once: 3 Messages + 3 instructions = its 6 events");
	sf(path, sizeof path, "%s/pchat-00000002-7-8.xml", d);
	parse_lync(path, &p2);
	sf(want, sizeof want, "%lld", expected_user_id("bob@example.org"));
	CHECK(p2.n == 2 && !strcmp(p2.m[0].sender_id, want) && !strcmp(p1.m[2].sender_id, want) &&
	      !strcmp(p2.m[1].sender_id, p1.m[0].sender_id) && strcmp(p1.m[0].sender_id, p1.m[2].sender_id) != 0,
	      "comp-12.5 Sender/@id: the same user has the same number in both batches, two users two numbers");
	CHECK(compliance_verify(d, st, msg, sizeof msg) == 0, "comp-12.6 verify passes");
	sf(path, sizeof path, "%s/pchat-00000001-1-6.xml", d);
	sf(cmd, sizeof cmd, "sed -i 's/user del dave/user del dan /' '%s'", path);
	CHECK(system(cmd) == 0 && compliance_verify(d, NULL, msg, sizeof msg) == 1 && strstr(msg, "pchat-00000001-1-6.xml: changed"),
	      "comp-12.7 an ADMIN instruction changed: verify fails (the batch's hash covers it)");
	sf(cmd, sizeof cmd, "sed -i 's/user del dan /user del dave/' '%s'", path);
	CHECK(system(cmd) == 0 && compliance_verify(d, st, msg, sizeof msg) == 0, "comp-12.8 restored: passes");
	compliance_free(c);
	store_close(st);
	xsd_free(&x);
}

/* ---- comp-7: concurrent exporters -------------------------------------------------------- */

static void test_concurrent(void)
{
	struct config cfg;
	struct store *st = open_store("conc.db");
	char d[PATH_MAX], msg[1024];
	static int count[512];
	pid_t kids[4];
	int all = 1, clean = 1;

	make_cfg(&cfg, "output_dir = conc\nmax_batch_events = 7\n");
	path_in(d, sizeof d, "conc");
	if (st) {
		store_begin(st);
		for (int i = 1; i <= 300; i++)
			add_ev(st, "CHAT", guid_a, "Room A", "sip:alice@example.org", T0 + i, i, "race", 4);
		store_commit(st);
	}
	fflush(NULL);
	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			struct store *cs = open_store("conc.db");
			struct compliance *c = cs ? compliance_new(&cfg, cs) : NULL;
			int r = c ? export_all(c) : -1;

			compliance_free(c);
			store_close(cs);
			_exit(r < 0 ? 1 : 0);
		}
	}
	for (int k = 0; k < 4; k++) {
		int status = 1;

		waitpid(kids[k], &status, 0);
		clean &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	CHECK(clean, "comp-7.1 four exporters at once all succeed");
	count_ids(d, count, 512);
	for (int i = 1; i <= 300; i++)
		all &= count[i] == 1;
	CHECK(all && store_event_count(st) == 0, "comp-7.2 every event in exactly one file");
	CHECK(compliance_verify(d, st, msg, sizeof msg) == 0 && strstr(msg, "43 batches"), "comp-7.3 verify: one chain of 43 batches");
	store_close(st);
}

/* ---- comp-9: attachments (compliance_attach.c) ------------------------------------------- */

/* A complete file in room_id holding data (n bytes; data NULL: zeros). */
static int64_t add_file(struct store *st, int64_t room_id, const char *name, const unsigned char *data, size_t n)
{
	static const unsigned char zeros[65536];
	mbedtls_sha256_context sha;
	unsigned char d[32];
	char hex[STORE_SHA256_HEX];
	int64_t id = 0;

	if (store_file_create(st, room_id, name, "sip:bob@example.org", n, &id) != STORE_OK ||
	    (data && n && store_file_write(st, id, 0, data, n) != STORE_OK))
		return -1;
	/* The store takes only the bytes written (no reserved zeros). */
	for (size_t off = 0; !data && off < n; off += sizeof zeros)
		if (store_file_write(st, id, off, zeros, n - off < sizeof zeros ? n - off : sizeof zeros) != STORE_OK)
			return -1;
	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	if (data)
		mbedtls_sha256_update_ret(&sha, data, n);
	for (size_t off = 0; !data && off < n; off += sizeof zeros)
		mbedtls_sha256_update_ret(&sha, zeros, n - off < sizeof zeros ? n - off : sizeof zeros);
	mbedtls_sha256_finish_ret(&sha, d);
	mbedtls_sha256_free(&sha);
	hex_encode(d, 32, hex);
	return store_file_complete(st, id, hex) == STORE_OK ? id : -1;
}

static int add_upload(struct store *st, const struct store_room *r, int64_t file_id, const char *name)
{
	return add_ev(st, "FILEUPLOAD", r->guid, r->name, "sip:bob@example.org", T0 + file_id, file_id, name, strlen(name));
}

/* comp-6.17: an upload's FileName is its archived copy, as the manifest names it. */
static void test_actiance_files(void)
{
	struct config cfg;
	struct store *st = open_store("actfiles.db");
	struct store_category cat;
	struct store_room room;
	struct compliance *c = NULL;
	char path[PATH_MAX + NAME_LEN], err[512], d[PATH_MAX], msg[1024], want[128], v[128], v2[128], login[64];
	xmlDoc *doc = NULL;
	xmlNode *root, *conv;
	int64_t id;

	make_cfg(&cfg, "output_dir = actfiles\nformat = actiance\n");
	path_in(d, sizeof d, "actfiles");
	memset(&room, 0, sizeof room);
	sf(room.name, sizeof room.name, "Files");
	if (!CHECK(st && store_category_get(st, "default", &cat) == STORE_OK && (room.category_id = cat.id) > 0 &&
	           store_room_add(st, &room) == STORE_OK && (id = add_file(st, room.id, "q 3.txt", (const unsigned char *)"q3", 2)) > 0 &&
	           add_upload(st, &room, id, "q 3.txt") == STORE_OK &&
	           add_ev(st, "FILEDOWNLOAD", room.guid, room.name, "sip:alice@example.org", T0 + 50, id, "q 3.txt", 7) == STORE_OK,
	           "comp-6.17 a room, a file, its upload and a download"))
		goto out;
	c = compliance_new(&cfg, st);
	CHECK(compliance_export_one(c, path, sizeof path, err, sizeof err) == 1 && compliance_verify(d, st, msg, sizeof msg) == 0,
	      "comp-6.18 exported in actiance format with its attachment; verify passes");
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	conv = child(root, "Conversation");
	sf(want, sizeof want, "pchat-00000001-1-2.ATTACH/%lld-q_3.txt", (long long)id);
	text_of(child(conv, "FileTransferStarted"), "FileName", v, sizeof v);
	CHECK(!strcmp(v, want), "comp-6.19 an upload's FileName is the archived copy's path in the batch's .ATTACH folder");
	text_of(child(conv, "FileTransferEnded"), "FileName", v, sizeof v);
	{
		xmlNode *dl = child(conv, "FileTransferEnded");

		for (dl = dl ? dl->next : NULL; dl && (dl->type != XML_ELEMENT_NODE || strcmp((const char *)dl->name,
		     "FileTransferEnded") != 0); dl = dl->next)
			;
		text_of(dl, "FileName", v2, sizeof v2);
		text_of(dl, "LoginName", login, sizeof login);
	}
	CHECK(!strcmp(v, want) && !strcmp(v2, "q 3.txt") && !strcmp(login, "alice@example.org"),
	      "comp-6.20 the download's FileName is the file's name (uploads and downloads stay apart)");
	xmlFreeDoc(doc);
out:
	compliance_free(c);
	store_close(st);
}

static void sha_of(const void *p, size_t n, char hex[STORE_SHA256_HEX])
{
	unsigned char d[32];

	mbedtls_sha256_ret(p, n, d, 0);
	hex_encode(d, 32, hex);
}

static void test_attach_names(void)
{
	static const struct { int line; const char *name, *want; } cases[] = {
		{ __LINE__, "report.pdf", "7-report.pdf" },
		{ __LINE__, "a b&c<d>.txt", "7-a_b_c_d_.txt" },
		{ __LINE__, "\xe5\xa0\xb1\xe5\x91\x8a.txt", "7-______.txt" },   /* UTF-8: every byte made '_' */
		{ __LINE__, "..", "7-.." },
		{ __LINE__, "-x", "7--x" },
		{ __LINE__, "tab\there", "7-tab_here" },
	};
	char got[AT_NAME_MAX], long_name[300], want[AT_NAME_MAX];
	int ok = 1;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		at_file_name(7, cases[i].name, got);
		if (strcmp(got, cases[i].want) != 0 || !at_name_ok(7, got)) {
			printf("# line %d: \"%s\" -> \"%s\", want \"%s\"\n", cases[i].line, cases[i].name, got, cases[i].want);
			ok = 0;
		}
	}
	CHECK(ok, "comp-9.1 attachment names: ID-NAME with bytes outside [A-Za-z0-9._-] made '_'");
	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	at_file_name(123456789, long_name, got);
	sf(want, sizeof want, "123456789-%.*s", AT_SAFE_MAX, long_name);
	CHECK(!strcmp(got, want) && at_name_ok(123456789, got), "comp-9.2 a long name is cut to 100 bytes");
	memcpy(long_name + 200, ".pdf", 5);     /* 200 x's and an extension */
	at_file_name(42, long_name, got);
	sf(want, sizeof want, "42-%.*s.pdf", AT_SAFE_MAX - 4, long_name);
	CHECK(!strcmp(got, want) && at_name_ok(42, got), "comp-9.2b a long name keeps its extension when cut");
	CHECK(!at_name_ok(7, "8-x") && !at_name_ok(7, "7-") && !at_name_ok(7, "7-a b") && !at_name_ok(7, "07-a") &&
	      !at_name_ok(7, "7x") && !at_name_ok(7, "7-a/b"), "comp-9.3 verify refuses names the exporter cannot make");
}

static void test_attachments(void)
{
	static unsigned char big[200000], back[200001];
	static char text[1 << 16], want[1 << 16];
	struct config cfg;
	struct store *st = open_store("attach.db");
	struct store_category cat;
	struct store_room room;
	struct store_file f;
	struct compliance *c = NULL;
	char path[PATH_MAX + NAME_LEN], err[512], d[PATH_MAX], msg[1024], a[PATH_MAX + 200], b[PATH_MAX + 200];
	char sha_small[STORE_SHA256_HEX], sha_big[STORE_SHA256_HEX], note[COMPLIANCE_ATTACH_NOTE_MAX];
	const char *base = "pchat-00000001-1-5";
	int64_t f1, f2, f3;
	size_t n;
	int kept = -1;

	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (unsigned char)(i * 7 + (i >> 9));
	make_cfg(&cfg, "output_dir = attach\n");
	path_in(d, sizeof d, "attach");
	memset(&room, 0, sizeof room);
	sf(room.name, sizeof room.name, "Files");
	if (!CHECK(st && store_category_get(st, "default", &cat) == STORE_OK && (room.category_id = cat.id) > 0 &&
	           store_room_add(st, &room) == STORE_OK, "comp-9.4 a store with a room"))
		goto out;
	f1 = add_file(st, room.id, "small one.txt", (const unsigned char *)"0123456789", 10);
	f2 = add_file(st, room.id, "big.bin", big, sizeof big);
	f3 = add_file(st, room.id, "gone.bin", (const unsigned char *)"x", 1);
	CHECK(f1 > 0 && f2 > f1 && f3 > f2 && store_file_del(st, f3) == STORE_OK, "comp-9.5 three files, the third deleted");
	/* Events out of id order, one file named twice, one event from before file ids (0). */
	CHECK(add_upload(st, &room, f2, "big.bin") == 0 && add_upload(st, &room, f1, "small one.txt") == 0 &&
	      add_upload(st, &room, f3, "gone.bin") == 0 && add_upload(st, &room, 0, "old.bin") == 0 &&
	      add_upload(st, &room, f1, "small one.txt") == 0, "comp-9.6 five FILEUPLOAD events");
	c = compliance_new(&cfg, st);
	CHECK(c && compliance_export_one(c, path, sizeof path, err, sizeof err) == 1, "comp-9.7 export");
	sha_of("0123456789", 10, sha_small);
	sha_of(big, sizeof big, sha_big);
	sf(want, sizeof want, "attachment 0 missing\n"
	   "attachment %lld %s.ATTACH/%lld-small_one.txt 10 %s\n"
	   "attachment %lld %s.ATTACH/%lld-big.bin %zu %s\n"
	   "attachment %lld missing\n", (long long)f1, base, (long long)f1, sha_small, (long long)f2, base, (long long)f2,
	   sizeof big, sha_big, (long long)f3);
	sf(a, sizeof a, "%s/%s.xml.manifest", d, base);
	read_file(a, text, sizeof text - 1, &n);
	text[n] = '\0';
	CHECK(n > strlen(want) && !strcmp(text + n - strlen(want), want),
	      "comp-9.8 the manifest ends with one line per file, in id order: present with size and sha256, or missing");
	compliance_attach_note(want, note);
	sf(b, sizeof b, "%s/%s.xml", d, base);
	read_file(b, text, sizeof text - 1, &n);
	text[n] = '\0';
	CHECK(strstr(text, "-->\n<!-- pchat compliance attachments: 4 files (2 missing), manifest lines sha256 ") &&
	      strstr(text, note) == strchr(strchr(text, '\n') + 1, '\n') + 1, "comp-9.9 the batch file's third line is the note");
	sf(a, sizeof a, "%s/%s.ATTACH/%lld-big.bin", d, base, (long long)f2);
	read_file(a, (char *)back, sizeof back, &n);
	CHECK(n == sizeof big && !memcmp(back, big, n), "comp-9.10 the big file's bytes (several 64 KiB pieces)");
	sf(a, sizeof a, "%s/%s.ATTACH/%lld-small_one.txt", d, base, (long long)f1);
	read_file(a, (char *)back, sizeof back, &n);
	CHECK(n == 10 && !memcmp(back, "0123456789", 10), "comp-9.11 the small file's bytes");
	CHECK(compliance_verify(d, st, msg, sizeof msg) == 0 && strstr(msg, "2 attachments"), "comp-9.12 verify passes");

	/* What verify catches beyond changed/removed/added bytes (e2e_attach has those). */
	sf(a, sizeof a, "%s/%s.xml.manifest", d, base);
	read_file(a, text, sizeof text - 1, &n);
	text[n] = '\0';
	{
		static char forged[1 << 16];
		char *line = strstr(text, "attachment 0 missing\n");
		FILE *fp;

		/* Uppercase hex: the same hash, but not a line pchat writes. */
		memcpy(forged, text, n + 1);
		for (char *p = strstr(forged, sha_small); p && p < strstr(forged, sha_small) + 64; p++)
			*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
		if ((fp = fopen(a, "wb")) != NULL) {
			fwrite(forged, 1, n, fp);
			fclose(fp);
		}
		CHECK(compliance_verify(d, st, msg, sizeof msg) == 1 && strstr(msg, ".manifest: changed (attachment line 2"),
		      "comp-9.13 a non-canonical attachment line is named");
		/* The missing line dropped: the note in the batch file tells. */
		memcpy(forged, text, (size_t)(line - text));
		memcpy(forged + (line - text), line + 21, n - (size_t)(line - text) - 21 + 1);
		if ((fp = fopen(a, "wb")) != NULL) {
			fwrite(forged, 1, n - 21, fp);
			fclose(fp);
		}
		CHECK(compliance_verify(d, st, msg, sizeof msg) == 1 && strstr(msg, "attachment lines are not the ones"),
		      "comp-9.14 a manifest line removed: the batch file's note catches it");
		if ((fp = fopen(a, "wb")) != NULL) {
			fwrite(text, 1, n, fp);
			fclose(fp);
		}
	}
	sf(a, sizeof a, "%s/%s.ATTACH/%lld-big.bin", d, base, (long long)f2);
	path_in(b, sizeof b, "big.keep");     /* outside the output folder */
	CHECK(rename(a, b) == 0 && mkdir(a, 0700) == 0 && compliance_verify(d, st, msg, sizeof msg) == 1 &&
	      strstr(msg, "big.bin: not a regular file"), "comp-9.15 an attachment replaced by a folder is named");
	rmdir(a);
	rename(b, a);
	sf(a, sizeof a, "%s/pchat-00000002-6-9.ATTACH", d);
	CHECK(mkdir(a, 0700) == 0 && compliance_verify(d, st, msg, sizeof msg) == 1 &&
	      strstr(msg, "pchat-00000002-6-9.ATTACH: attachments of a batch that is not there"),
	      "comp-9.16 an attachment folder of no batch is named");
	rmdir(a);
	CHECK(compliance_verify(d, st, msg, sizeof msg) == 0, "comp-9.17 all restored: verify passes");

	/* Retention: a file deleted while its upload waits keeps its bytes. */
	f1 = add_file(st, room.id, "late.bin", (const unsigned char *)"late", 4);
	CHECK(add_upload(st, &room, f1, "late.bin") == 0 && store_begin(st) == STORE_OK &&
	      store_file_retire(st, f1, &kept) == STORE_OK && store_commit(st) == STORE_OK && kept == 1,
	      "comp-9.18 retire while its FILEUPLOAD waits: kept");
	CHECK(store_file_get(st, f1, &f) == STORE_E_NOTFOUND && store_file_latest(st, room.id, "late.bin", &f) == STORE_E_NOTFOUND &&
	      store_file_find(st, f1, &f) == STORE_OK && f.deleted && store_file_read(st, f1, 0, back, 4) == STORE_OK &&
	      !memcmp(back, "late", 4), "comp-9.19 hidden from get and latest; the exporter still finds its bytes");
	/* A crash past the attachments, a stray file and a dead exporter's
	 * temporary file in the folder, then the re-export. */
	CHECK(crash_child("attach.db", &cfg, STEP_BEFORE_COMMIT) == EXIT_CRASH, "comp-9.20 an export crashes before commit");
	sf(a, sizeof a, "%s/pchat-00000002-6-6.ATTACH/%lld-late.bin", d, (long long)f1);
	read_file(a, (char *)back, sizeof back, &n);
	CHECK(n == 4 && !memcmp(back, "late", 4), "comp-9.21 its attachment was written before the crash");
	sf(b, sizeof b, "%s/pchat-00000002-6-6.ATTACH/99999-stray.bin", d);
	{
		FILE *fp = fopen(b, "wb");

		if (fp)
			fclose(fp);
		sf(b, sizeof b, "%s/pchat-00000002-6-6.ATTACH/" DURABLE_TMP_PREFIX "999999999-x", d);
		if ((fp = fopen(b, "wb")) != NULL)
			fclose(fp);
	}
	CHECK(compliance_export_one(c, path, sizeof path, err, sizeof err) == 1, "comp-9.22 the re-export");
	sf(b, sizeof b, "%s/pchat-00000002-6-6.ATTACH", d);
	{
		static char names[8][NAME_LEN + 16];
		DIR *dp = opendir(b);
		struct dirent *de;
		int all = 0;

		while (dp && (de = readdir(dp)) != NULL)
			all += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
		if (dp)
			closedir(dp);
		CHECK(list_dir(b, names, 8) == 2 && all == 2,
		      "comp-9.23 the dead exporter's temporary file removed; the stray left in place (never delete in the archive)");
	}
	sf(b, sizeof b, "%s/pchat-00000002-6-6.ATTACH/99999-stray.bin", d);
	CHECK(compliance_verify(d, st, msg, sizeof msg) == 1 && strstr(msg, "99999-stray.bin"), "comp-9.23b verify names the stray");
	unlink(b);      /* what an admin does after looking */
	read_file(a, (char *)back, sizeof back, &n);
	CHECK(n == 4 && !memcmp(back, "late", 4) && store_file_find(st, f1, &f) == STORE_E_NOTFOUND &&
	      store_file_read(st, f1, 0, back, 1) == STORE_E_NOTFOUND,
	      "comp-9.24 once the batch is committed, the deleted file is gone from the store");
	f2 = add_file(st, room.id, "plain.bin", (const unsigned char *)"p", 1);
	CHECK(store_begin(st) == STORE_OK && store_file_retire(st, f2, &kept) == STORE_OK && store_commit(st) == STORE_OK &&
	      kept == 0 && store_file_find(st, f2, &f) == STORE_E_NOTFOUND, "comp-9.25 retire without a waiting upload deletes");
	CHECK(compliance_verify(d, st, msg, sizeof msg) == 0, "comp-9.26 verify passes");

	/* The plan counts an upload's file size against the batch's bytes. */
	f1 = add_file(st, room.id, "z1.bin", NULL, 17u << 20);
	f2 = add_file(st, room.id, "z2.bin", NULL, 17u << 20);
	CHECK(f1 > 0 && f2 > 0 && add_upload(st, &room, f1, "z1.bin") == 0 && add_upload(st, &room, f2, "z2.bin") == 0 &&
	      export_all(c) == 2, "comp-9.27 two uploads of 17 MiB go out in two batches (32 MiB per batch)");
	CHECK(compliance_verify(d, st, msg, sizeof msg) == 0 && strstr(msg, "5 attachments"), "comp-9.28 verify passes");
out:
	compliance_free(c);
	store_close(st);
}

/* ---- comp-10: two exporters and a file deletion ------------------------------------------ */

/* What the second exporter does while the first holds its snapshot: export
 * the same batch to the end, then delete the uploaded file (its bytes go,
 * since its upload event is exported now). */
struct race {
	const struct config *cfg;
	int64_t file_id;
	int a_rc, kept, runs;
};

static void race_other_exporter(void *arg)
{
	struct race *r = arg;
	struct store *sa;
	struct compliance *ca;
	char path[PATH_MAX + NAME_LEN], err[512];

	if (r->runs++ > 0)
		return;
	sa = open_store("race.db");
	ca = sa ? compliance_new(r->cfg, sa) : NULL;
	r->a_rc = ca ? compliance_export_one(ca, path, sizeof path, err, sizeof err) : -1;
	if (r->a_rc < 0)
		printf("# other exporter: %s\n", err);
	if (sa && store_begin(sa) == STORE_OK && store_file_retire(sa, r->file_id, &r->kept) == STORE_OK)
		store_commit(sa);
	compliance_free(ca);
	store_close(sa);
}

static void test_export_race(void)
{
	struct config cfg;
	struct store *st = open_store("race.db");
	struct store_category cat;
	struct store_room room;
	struct store_file f;
	struct compliance *c = NULL;
	struct race r = { .kept = -1 };
	char path[PATH_MAX + NAME_LEN], err[512], d[PATH_MAX], msg[1024], a[PATH_MAX + 200], man[PATH_MAX + 200];
	char before[4096], after[4096], buf[64];
	size_t n = 0;
	int rc;

	make_cfg(&cfg, "output_dir = race\n");
	path_in(d, sizeof d, "race");
	memset(&room, 0, sizeof room);
	sf(room.name, sizeof room.name, "Race");
	if (!CHECK(st && store_category_get(st, "default", &cat) == STORE_OK && (room.category_id = cat.id) > 0 &&
	           store_room_add(st, &room) == STORE_OK, "comp-10.1 a store with a room"))
		goto out;
	r.cfg = &cfg;
	r.file_id = add_file(st, room.id, "only copy.txt", (const unsigned char *)"the only copy", 13);
	CHECK(r.file_id > 0 && add_upload(st, &room, r.file_id, "only copy.txt") == 0 &&
	      add_ev(st, "CHAT", room.guid, room.name, "sip:bob@example.org", T0 + 100, 7, "hello", 5) == 0,
	      "comp-10.2 an upload and a post wait for export");
	c = compliance_new(&cfg, st);
	if (!CHECK(c != NULL, "comp-10.3 exporter"))
		goto out;
	c->after_read = race_other_exporter;
	c->after_read_arg = &r;
	rc = compliance_export_one(c, path, sizeof path, err, sizeof err);
	if (rc < 0)
		printf("# export: %s\n", err);
	CHECK(r.runs == 1 && r.a_rc == 1 && r.kept == 0 && store_file_find(st, r.file_id, &f) == STORE_E_NOTFOUND,
	      "comp-10.4 meanwhile the other exporter finished the batch and the file's bytes left the store");
	CHECK(rc == 2, "comp-10.5 the late exporter sees the batch finished by the other (no error, nothing rewritten)");
	sf(a, sizeof a, "%s/pchat-00000001-1-2.ATTACH/%lld-only_copy.txt", d, (long long)r.file_id);
	read_file(a, buf, sizeof buf, &n);
	CHECK(n == 13 && !memcmp(buf, "the only copy", 13), "comp-10.6 the archived file is still there, whole");
	sf(man, sizeof man, "%s/pchat-00000001-1-2.xml.manifest", d);
	read_file(man, before, sizeof before - 1, &n);
	before[n] = '\0';
	CHECK(strstr(before, "attachment") && !strstr(before, "missing"), "comp-10.7 its manifest lists it as present");
	CHECK(compliance_verify(d, st, msg, sizeof msg) == 0, "comp-10.8 verify passes");
	if (msg[0] && !strstr(msg, "ok"))
		printf("# verify: %s\n", msg);
	/* A retry of the same batch (a crash before commit, say) over names that
	 * exist: identical bytes are accepted, nothing is replaced. */
	CHECK(compliance_export_one(c, path, sizeof path, err, sizeof err) == 0, "comp-10.9 nothing left to export");
	read_file(man, after, sizeof after - 1, &n);
	after[n] = '\0';
	CHECK(!strcmp(before, after), "comp-10.10 the manifest is unchanged");
out:
	compliance_free(c);
	store_close(st);
}

/* Two exporter processes in a loop for a while, and uploads deleted as soon
 * as they are exported: every archived attachment stays, verify passes. */
static void test_export_race_loop(void)
{
	struct config cfg;
	struct store *st = open_store("raceloop.db");
	struct store_category cat;
	struct store_room room;
	struct store_file f;
	struct compliance *c = NULL;
	char d[PATH_MAX], msg[1024];
	int64_t ids[400];
	int nids = 0, clean = 1, gone = 0;
	pid_t kids[2];
	int64_t until;
	struct timespec ts;

	make_cfg(&cfg, "output_dir = raceloop\nmax_batch_events = 3\n");
	path_in(d, sizeof d, "raceloop");
	memset(&room, 0, sizeof room);
	sf(room.name, sizeof room.name, "Loop");
	if (!CHECK(st && store_category_get(st, "default", &cat) == STORE_OK && (room.category_id = cat.id) > 0 &&
	           store_room_add(st, &room) == STORE_OK, "comp-10.11 a store with a room"))
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	until = ts.tv_sec + 4;
	fflush(NULL);
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			struct store *cs = open_store("raceloop.db");
			struct compliance *cc = cs ? compliance_new(&cfg, cs) : NULL;
			struct timespec now;
			int bad = cc == NULL;

			do {
				bad |= export_all(cc) < 0;
				clock_gettime(CLOCK_MONOTONIC, &now);
			} while (!bad && now.tv_sec < until + 1);
			compliance_free(cc);
			store_close(cs);
			_exit(bad);
		}
	}
	/* The parent: uploads, each deleted at once (its bytes are kept until
	 * the batch holding its upload is finished, then go in that commit:
	 * exactly when a second exporter may still be writing the batch). */
	do {
		char name[32];
		int kept;

		sf(name, sizeof name, "f%d.txt", nids);
		if (nids < (int)(sizeof ids / sizeof ids[0])) {
			ids[nids] = add_file(st, room.id, name, (const unsigned char *)name, strlen(name));
			if (ids[nids] > 0 && add_upload(st, &room, ids[nids], name) == 0 && store_begin(st) == STORE_OK) {
				if (store_file_retire(st, ids[nids], &kept) == STORE_OK && store_commit(st) == STORE_OK)
					nids++;
				else
					store_rollback(st);
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
	} while (ts.tv_sec < until);
	for (int k = 0; k < 2; k++) {
		int status = 1;

		waitpid(kids[k], &status, 0);
		clean &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	c = compliance_new(&cfg, st);
	CHECK(clean && c && export_all(c) >= 0 && store_event_count(st) == 0, "comp-10.12 both exporters ran clean to the end");
	CHECK(compliance_verify(d, st, msg, sizeof msg) == 0, "comp-10.13 verify passes after the race");
	if (!strstr(msg, "ok"))
		printf("# verify: %s\n", msg);
	for (int i = 0; i < nids; i++)
		gone += store_file_find(st, ids[i], &f) == STORE_E_NOTFOUND;
	printf("# %d uploads, %d of them gone from the store once exported\n", nids, gone);
	CHECK(nids > 20 && gone == nids,
	      "comp-10.14 the race really ran (uploads exported and deleted meanwhile)");
out:
	compliance_free(c);
	store_close(st);
}

/* ---- comp-11: a copy checked without the store: anchors ----------------------------------- */

static void sha_line(const char *manifest, char out[STORE_SHA256_HEX])
{
	char text[1024];
	size_t n = 0;

	out[0] = '\0';
	if (read_file(manifest, text, sizeof text - 1, &n) == 0) {
		text[n] = '\0';
		manifest_field(text, "sha256", out, STORE_SHA256_HEX);
	}
}

static void test_anchor(void)
{
	struct config cfg;
	struct store *st = open_store("anchor.db");
	struct compliance *c = NULL;
	struct compliance_anchor an;
	char d[PATH_MAX], copy[PATH_MAX], cmd[3 * PATH_MAX], msg[1024], m[PATH_MAX + 64], h3[STORE_SHA256_HEX],
	    h4[STORE_SHA256_HEX], h1[STORE_SHA256_HEX];
	FILE *f;

	make_cfg(&cfg, "output_dir = anchor\nmax_batch_events = 3\n");
	path_in(d, sizeof d, "anchor");
	path_in(copy, sizeof copy, "anchor-copy");
	if (st) {
		store_begin(st);
		for (int i = 1; i <= 12; i++)
			add_ev(st, "CHAT", guid_a, "Room A", "sip:alice@example.org", T0 + i, i, "anchored", 8);
		store_commit(st);
	}
	c = st ? compliance_new(&cfg, st) : NULL;
	if (!CHECK(c && export_all(c) == 4, "comp-11.1 four batches exported"))
		goto out;
	sf(m, sizeof m, "%s/pchat-00000001-1-3.xml.manifest", d);
	sha_line(m, h1);
	sf(m, sizeof m, "%s/pchat-00000003-7-9.xml.manifest", d);
	sha_line(m, h3);
	sf(m, sizeof m, "%s/pchat-00000004-10-12.xml.manifest", d);
	sha_line(m, h4);
	CHECK(compliance_verify(d, NULL, msg, sizeof msg) == 0 && strstr(msg, "not proven without the store"),
	      "comp-11.2 a copy verified alone says what it cannot prove");
	/* The newest batch removed from a copy: the chain alone cannot tell. */
	sf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s' && rm '%s'/pchat-00000004-*", copy, d, copy, copy);
	memset(&an, 0, sizeof an);
	an.head_batch = 4;
	memcpy(an.head_sha, h4, sizeof an.head_sha);
	CHECK(system(cmd) == 0 && compliance_verify(copy, NULL, msg, sizeof msg) == 0, "comp-11.3 newest batch removed: the chain alone passes");
	CHECK(compliance_verify_anchored(copy, NULL, &an, msg, sizeof msg) == 1 && strstr(msg, "batch 4, the known chain head"),
	      "comp-11.4 ... the known head catches it");
	/* A forged newest batch, re-chained with a consistent manifest. */
	sf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s' && sed -i 's/anchored/forged!!/' '%s'/pchat-00000004-10-12.xml",
	   copy, d, copy, copy);
	if (system(cmd) == 0) {
		struct store_batch fb = { .number = 4, .first_seq = 10, .last_seq = 12 };
		char sha[STORE_SHA256_HEX], why[200], text[MANIFEST_MAX], path[PATH_MAX + 64];

		sf(path, sizeof path, "%s/pchat-00000004-10-12.xml", copy);
		file_sha256(AT_FDCWD, path, sha, why, sizeof why);
		manifest_text(&fb, "pchat-00000004-10-12.xml", sha, h3, text, sizeof text);
		sf(m, sizeof m, "%s.manifest", path);
		if ((f = fopen(m, "w")) != NULL) {
			fputs(text, f);
			fclose(f);
		}
	}
	CHECK(compliance_verify(copy, NULL, msg, sizeof msg) == 0, "comp-11.5 a forged suffix re-chained: the chain alone passes");
	CHECK(compliance_verify_anchored(copy, NULL, &an, msg, sizeof msg) == 1 && strstr(msg, "re-chained"),
	      "comp-11.6 ... the known head catches it");
	CHECK(compliance_verify_anchored(d, NULL, &an, msg, sizeof msg) == 0 && strstr(msg, "match the known head"),
	      "comp-11.7 the real archive passes with the head");
	/* Rotation: batch 1 moved to cold storage. */
	sf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s' && rm '%s'/pchat-00000001-*", copy, d, copy, copy);
	CHECK(system(cmd) == 0 && compliance_verify(copy, NULL, msg, sizeof msg) == 1 && strstr(msg, "--from"),
	      "comp-11.8 batch 1 moved away: verify says how to start later");
	memset(&an, 0, sizeof an);
	an.from_batch = 2;
	memcpy(an.from_prev, h1, sizeof an.from_prev);
	CHECK(compliance_verify_anchored(copy, NULL, &an, msg, sizeof msg) == 0 && strstr(msg, "(2..4)") &&
	      strstr(msg, "before 2 not checked"), "comp-11.9 --from 2:SHA(batch 1) verifies the rest");
	memset(an.from_prev, 'a', 64);
	CHECK(compliance_verify_anchored(copy, NULL, &an, msg, sizeof msg) == 1 && strstr(msg, "hash chain broken"),
	      "comp-11.10 --from with a wrong predecessor hash fails");
	/* The output folder gone while the store recorded batches there: refused,
	 * not silently recreated; created by hand, the export goes on. */
	sf(cmd, sizeof cmd, "mv '%s' '%s.away'", d, d);
	add_ev(st, "CHAT", guid_a, "Room A", "sip:alice@example.org", T0 + 20, 20, "later", 5);
	{
		char path[PATH_MAX + NAME_LEN], err[512];

		CHECK(system(cmd) == 0 && compliance_export_one(c, path, sizeof path, err, sizeof err) == -1 &&
		      strstr(err, "is missing, but the store recorded 4 batches") && access(d, F_OK) != 0,
		      "comp-11.12 a missing output folder with recorded batches: refused, not recreated");
		sf(cmd, sizeof cmd, "rmdir '%s' 2>/dev/null; mv '%s.away' '%s'", d, d, d);
		CHECK(system(cmd) == 0 && compliance_export_one(c, path, sizeof path, err, sizeof err) == 1,
		      "comp-11.13 put back: the export goes on");
	}
	/* A hidden file that is not the exporter's: a warning in the ok line. */
	sf(m, sizeof m, "%s/.DS_Store", d);
	if ((f = fopen(m, "w")) != NULL)
		fclose(f);
	CHECK(compliance_verify(d, st, msg, sizeof msg) == 0 && strstr(msg, "warning: hidden file .../.DS_Store"),
	      "comp-11.11 an unexpected dot-file is named as a warning");
	unlink(m);
out:
	compliance_free(c);
	store_close(st);
}

/* ---- comp-8: throughput -------------------------------------------------------------------- */

static void test_throughput(void)
{
	struct config cfg;
	struct store *st = open_store("perf.db");
	struct compliance *c;
	struct timespec t0, t1;
	char text[120], d[PATH_MAX], msg[1024];
	const int n = 100000;
	double secs;
	int batches;

	make_cfg(&cfg, "output_dir = perf\n");
	path_in(d, sizeof d, "perf");
	memset(text, 'a', sizeof text);
	if (st) {
		store_begin(st);
		for (int i = 1; i <= n; i++)
			add_ev(st, "CHAT", i % 2 ? guid_a : guid_b, i % 2 ? "Room A" : "Room B",
			       i % 3 ? "sip:alice@example.org" : "sip:bob@example.org", T0 + i * 1000LL, i, text, 100);
		store_commit(st);
	}
	c = compliance_new(&cfg, st);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	batches = export_all(c);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(batches == 10 && store_event_count(st) == 0, "comp-8.1 100,000 events in 10 batches of 10,000");
	printf("# export throughput: %.0f events/s (%d events, 100-byte messages, %d batches, %.3f s, lync, fsync on)\n",
	       n / (secs > 0 ? secs : 1e-9), n, batches, secs);
	CHECK(compliance_verify(d, st, msg, sizeof msg) == 0, "comp-8.2 verify passes");
	compliance_free(c);
	store_close(st);
}

int main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	log_set_level(LOG_ERROR);
	xmlInitParser();
	test_lync();
	test_naming_and_verify();
	test_determinism();
	test_faults();
	test_actiance();
	test_lync_limits();
	test_actiance_files();
	test_concurrent();
	test_export_race();
	test_export_race_loop();
	test_anchor();
	test_attach_names();
	test_attachments();
	test_throughput();
	{
		struct xsd_check x;

		xsd_init(&x);
		xsd_check_tree(&x, dir);
		printf("# %d batch files validated against their format's schema\n", x.files);
		CHECK(x.loaded && x.files >= 20 && x.bad == 0,
		      "comp-13.1 every batch file this suite wrote validates against its format's schema (xmlSchemaValidateDoc)");
		if (x.bad)
			printf("# %d invalid, the first: %s\n", x.bad, x.first_bad);
		xsd_free(&x);
	}
	xmlCleanupParser();
	rm_rf(dir);
	return check_done("compliance");
}
