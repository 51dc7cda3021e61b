/*
 * xccos.c - see xccos.h.
 *
 * Bodies are parsed by libxml2 from memory with an explicit length, network
 * access off and entity substitution off (no XML_PARSE_NOENT, no
 * XML_PARSE_HUGE); a document with a DTD is refused before and after
 * parsing, so no entity can expand.  The SIP layer has already capped the
 * body size.  Every identifier echoed back into XML is checked to be a
 * short token first.
 */
#include "xccos.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define XCCOS_NS "urn:parlano:xml:ns:xccos"

struct xccos {
	const struct config *cfg;
	struct store *store;
	struct sip_callbacks cb;
	uint64_t next_envid;
};

struct xccos_req {
	struct xccos *x;
	struct sip_dialog *d;
	const struct xccos_envelope *env;
	xmlNodePtr node;        /* the cmd element */
};

/* Identifiers we echo must be short tokens: digits, letters, ':' '-' '_' '.'. */
static int token_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		char c = *s;

		if (n >= max || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		                  c == ':' || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

static int copy_attr(xmlNodePtr n, const char *name, char *out, size_t outlen)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	int ok;

	out[0] = '\0';
	if (v == NULL)
		return 0;
	ok = token_ok((const char *)v, outlen - 1);
	if (ok)
		snprintf(out, outlen, "%s", (const char *)v);
	xmlFree(v);
	return ok ? 0 : -1;
}

static xmlDocPtr xccos_read(const char *body, size_t len)
{
	xmlDocPtr doc;

	/* A DTD is never legitimate here; refusing it up front means no
	 * entity declaration is ever processed. */
	if (len > 0x7fffffff || memmem(body, len, "<!DOCTYPE", 9) || memmem(body, len, "<!ENTITY", 8))
		return NULL;
	doc = xmlReadMemory(body, (int)len, NULL, "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc && (doc->intSubset || doc->extSubset)) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

static xmlNodePtr first_element(xmlNodePtr n)
{
	for (; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

/* Fill env from doc; returns the command element or NULL. */
static xmlNodePtr envelope_of(xmlDocPtr doc, struct xccos_envelope *env)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), cmd;

	memset(env, 0, sizeof *env);
	if (root == NULL || strcmp((const char *)root->name, "xccos") != 0)
		return NULL;
	if (copy_attr(root, "envid", env->envid, sizeof env->envid) < 0)
		return NULL;
	cmd = first_element(root->children);
	if (cmd == NULL || strlen((const char *)cmd->name) >= sizeof env->kind)
		return NULL;
	snprintf(env->kind, sizeof env->kind, "%s", (const char *)cmd->name);
	if (copy_attr(cmd, "id", env->id, sizeof env->id) < 0 ||
	    copy_attr(cmd, "seqid", env->seqid, sizeof env->seqid) < 0)
		return NULL;
	return cmd;
}

int xccos_parse_envelope(const char *body, size_t len, struct xccos_envelope *out)
{
	xmlDocPtr doc = xccos_read(body, len);
	int rc;

	if (doc == NULL)
		return -1;
	rc = envelope_of(doc, out) ? 0 : -1;
	xmlFreeDoc(doc);
	return rc;
}

/* Send <rpl id="rpl:NAME"> answering env with resp code/text and data. */
static void xccos_reply(struct xccos_req *q, const char *name, int code, const char *text, const char *data)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	if (buf_printf(&b, "<xccos ver=\"1\" envid=\"%llu\" xmlns=\"" XCCOS_NS "\"><rpl id=\"rpl:%s\" seqid=\"%s\">"
	                   "<commandid seqid=\"%s\" envid=\"%s\"/><resp code=\"%d\">%s</resp><data>%s</data></rpl></xccos>",
	               (unsigned long long)++q->x->next_envid, name, q->env->seqid[0] ? q->env->seqid : "1",
	               q->env->seqid[0] ? q->env->seqid : "1", q->env->envid, code, text, data ? data : "") == 0)
		sip_dialog_send_info(q->d, (const char *)buf_head(&b), b.len);
	buf_free(&b);
}

/* cmd:requri - the lookup service names the channel service (xccos.md §1). */
static void xccos_do_requri(struct xccos_req *q)
{
	char data[CONFIG_STR_MAX + 32];

	snprintf(data, sizeof data, "<uib uri=\"%s\"/>", q->x->cfg->channel_uri);
	xccos_reply(q, "requri", 200, "SUCCESS_OK", data);
}

enum { XC_ANY_DIALOG = 0, XC_CHANNEL_ONLY = 1 };

struct xccos_cmd {
	const char *name;           /* without "cmd:" */
	void (*run)(struct xccos_req *q);
	unsigned flags;
};

static const struct xccos_cmd xccos_cmds[] = {
	{ "requri", xccos_do_requri, XC_ANY_DIALOG },
	{ NULL, NULL, 0 }
};

static void xccos_dispatch(struct xccos_req *q)
{
	const char *name = q->env->id;
	const struct xccos_cmd *c;

	if (strcmp(q->env->kind, "cmd") != 0 || strncmp(name, "cmd:", 4) != 0) {
		xccos_reply(q, q->env->kind[0] && token_ok(q->env->kind, 15) ? q->env->kind : "unknown", 501,
		            "NOT_IMPLEMENTED", NULL);
		return;
	}
	name += 4;
	for (c = xccos_cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			break;
	if (c->name == NULL) {
		/* Never silence: the client would wait forever (gotcha 20). */
		xccos_reply(q, name, 501, "NOT_IMPLEMENTED", NULL);
		return;
	}
	if ((c->flags & XC_CHANNEL_ONLY) && sip_dialog_role(q->d) != SIP_DIALOG_CHANNEL) {
		xccos_reply(q, name, 403, "NOT_ON_THIS_SERVICE", NULL);
		return;
	}
	c->run(q);
}

static void xccos_on_info(void *arg, struct sip_dialog *d, const char *body, size_t len)
{
	struct xccos *x = arg;
	struct xccos_envelope env;
	struct xccos_req q = { x, d, &env, NULL };
	xmlDocPtr doc = xccos_read(body, len);

	if (doc == NULL || (q.node = envelope_of(doc, &env)) == NULL) {
		log_info("dialog=%llu event=xccos-malformed user=%s bytes=%zu", (unsigned long long)sip_dialog_id(d),
		         sip_dialog_user(d), len);
		memset(&env, 0, sizeof env);
		xccos_reply(&q, "unknown", 400, "BAD_REQUEST", NULL);
		xmlFreeDoc(doc);
		return;
	}
	log_debug("dialog=%llu event=xccos kind=%s id=%s", (unsigned long long)sip_dialog_id(d), env.kind, env.id);
	xccos_dispatch(&q);
	xmlFreeDoc(doc);
}

static void xccos_on_dialog_open(void *arg, struct sip_dialog *d)
{
	(void)arg;
	(void)d;
}

static void xccos_on_dialog_close(void *arg, struct sip_dialog *d)
{
	(void)arg;
	(void)d;
}

struct xccos *xccos_new(const struct config *cfg, struct store *st)
{
	struct xccos *x = calloc(1, sizeof *x);

	if (x == NULL)
		return NULL;
	x->cfg = cfg;
	x->store = st;
	x->cb.on_dialog_open = xccos_on_dialog_open;
	x->cb.on_info = xccos_on_info;
	x->cb.on_dialog_close = xccos_on_dialog_close;
	x->cb.arg = x;
	return x;
}

void xccos_free(struct xccos *x)
{
	free(x);
}

const struct sip_callbacks *xccos_callbacks(struct xccos *x)
{
	return &x->cb;
}
