/*
 * files_soap.c - see files_soap.h.
 *
 * A request is framed like any on the [files] listener (files.c's
 * request_head), then its body, capped by [files] max_request_kb (what
 * GetMaxRequestContentInKB announces), is gathered and parsed whole: it is
 * one chunk, never the file.  Handlers go check, act, answer; the rules are
 * files.c's (files_transfer_allowed, files_upload_limits, the store steps)
 * so this door adds none of its own beyond the chunk order.
 *
 * A Lync upload is many requests on one token: the first AppendChunk
 * (offset 0) checks the limits and creates the file's row at fileLength,
 * each AppendChunk must start where the last ended (offset = bytes so far;
 * out of order or overlapping is a fault and changes nothing), and the one
 * that reaches fileLength completes the row and records FILEUPLOAD in the
 * same pass, which commits before the answer leaves.  The token carries the
 * upload between requests; [files] token_ttl bounds the gap between chunks,
 * upload_deadline and upload_min_rate the whole upload, and a token that
 * goes (expired, voided, or the store failing) takes its row with it.  A
 * download token records FILEDOWNLOAD on its first use and is spent by the
 * DownloadChunk that reaches the end of the file.
 */
#include "files_soap.h"
#include "base.h"
#include "files_internal.h"
#include "log.h"
#include "xml_out.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <mbedtls/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef PCHAT_VERSION
#define PCHAT_VERSION "0.1"
#endif
#define SOAP_ENV_NS "http://schemas.xmlsoap.org/soap/envelope/"
#define SOAP_ACTION_PREFIX "http://www.microsoft.com/"
#define SOAP_NUMBER_MAX 9007199254740991LL  /* 2^53 - 1: any file size we take */

static const char *const op_names[] = {
	[SOAP_OP_NONE] = "",
	[SOAP_OP_UNIQUE_NAME] = "RequestUniqueFilenameWithExtension",
	[SOAP_OP_MAX_FILE] = "GetMaxFileSizeInKB",
	[SOAP_OP_MAX_REQUEST] = "GetMaxRequestContentInKB",
	[SOAP_OP_APPEND] = "AppendChunk",
	[SOAP_OP_FILE_SIZE] = "GetFileSize",
	[SOAP_OP_DOWNLOAD] = "DownloadChunk",
};

const char *files_soap_op_name(enum files_soap_op op)
{
	return op <= SOAP_OP_DOWNLOAD ? op_names[op] : "";
}

enum files_soap_op files_soap_action(const char *value, size_t len)
{
	size_t plen = strlen(SOAP_ACTION_PREFIX);

	if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
		value++;
		len -= 2;
	}
	if (len <= plen || strncasecmp(value, SOAP_ACTION_PREFIX, plen) != 0)
		return SOAP_OP_NONE;
	for (int op = SOAP_OP_UNIQUE_NAME; op <= SOAP_OP_DOWNLOAD; op++)
		if (strlen(op_names[op]) == len - plen && memcmp(value + plen, op_names[op], len - plen) == 0)
			return (enum files_soap_op)op;
	return SOAP_OP_NONE;
}

/* ---- the body parser ------------------------------------------------------------ */

static int ns_is(const xmlNode *n, const char *href)
{
	return n->ns != NULL && n->ns->href != NULL && strcmp((const char *)n->ns->href, href) == 0;
}

/* The operations' namespace, with or without the trailing slash .asmx adds
 * to SOAPAction. */
static int ns_is_ops(const xmlNode *n)
{
	return ns_is(n, FILES_SOAP_NS) || ns_is(n, FILES_SOAP_NS "/");
}

static const xmlNode *first_element(const xmlNode *n)
{
	for (; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

/* A parameter's text into out (1 .. cap-1 bytes); -1 if longer. */
static int param_text(const xmlNode *n, char *out, size_t cap)
{
	xmlChar *v = xmlNodeGetContent(n);
	size_t len = v ? strlen((const char *)v) : 0;
	int ok = v != NULL && len < cap;

	if (ok)
		memcpy(out, v, len + 1);
	xmlFree(v);
	return ok ? 0 : -1;
}

/* A non-negative decimal up to 2^53 - 1, no sign, no spaces. */
static int param_number(const xmlNode *n, int64_t *out)
{
	char text[24];
	int64_t v = 0;

	if (param_text(n, text, sizeof text) < 0 || text[0] == '\0')
		return -1;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9' || v > (SOAP_NUMBER_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return 0;
}

static int param_chunk(const xmlNode *n, struct files_soap_req *req)
{
	xmlChar *v = xmlNodeGetContent(n);
	size_t len = v ? strlen((const char *)v) : 0, cap = len / 4 * 3 + 3, got = 0;
	int rc = -1;

	if (v == NULL || (req->chunk = malloc(cap)) == NULL)
		goto out;
	if (mbedtls_base64_decode(req->chunk, cap, &got, v, len) != 0)
		goto out;
	req->chunk_len = got;
	rc = 0;
out:
	xmlFree(v);
	return rc;
}

/* One parameter element of the operation; unknown ones are ignored. */
static int parse_param(const xmlNode *n, struct files_soap_req *req, unsigned *seen, const char **why)
{
	static const char *const names[] = { "token", "channelId", "uniqueFilename", "reposFileName", "extension",
	                                     "offset", "fileLength", "bufferSize", "fileChunk" };
	const char *name = (const char *)n->name;
	size_t i;
	int rc;

	for (i = 0; i < sizeof names / sizeof names[0] && strcmp(name, names[i]) != 0; i++)
		;
	if (i == sizeof names / sizeof names[0])
		return 0;
	if (*seen & (1u << i)) {
		*why = "ERR_BAD_REQUEST: a parameter appears twice";
		return -1;
	}
	*seen |= 1u << i;
	switch (i) {
	case 0: rc = param_text(n, req->token, sizeof req->token); break;
	case 1: rc = param_text(n, req->channel, sizeof req->channel); break;
	case 2:
	case 3: rc = param_text(n, req->file, sizeof req->file); break;
	case 4: rc = param_text(n, req->extension, sizeof req->extension); break;
	case 5: rc = param_number(n, &req->offset); break;
	case 6: rc = param_number(n, &req->file_length); break;
	case 7: rc = param_number(n, &req->buffer_size); break;
	default: rc = param_chunk(n, req); break;
	}
	if (rc < 0)
		*why = i == 8 ? "ERR_BAD_REQUEST: fileChunk is not base64"
		     : i >= 5 ? "ERR_BAD_REQUEST: a number parameter is not a non-negative integer"
		              : "ERR_BAD_REQUEST: a parameter is too long";
	return rc;
}

void files_soap_req_free(struct files_soap_req *req)
{
	free(req->chunk);
	req->chunk = NULL;
	req->chunk_len = 0;
}

int files_soap_parse(enum files_soap_op op, const char *body, size_t len, struct files_soap_req *req,
                     const char **why)
{
	const xmlNode *env, *soap_body, *call;
	xmlDocPtr doc = NULL;
	unsigned seen = 0;
	int rc = -1;

	memset(req, 0, sizeof *req);
	req->op = op;
	req->offset = req->file_length = req->buffer_size = -1;
	*why = "ERR_BAD_REQUEST: not a SOAP 1.1 envelope";
	/* A DTD is never legitimate here; refused before any is processed. */
	if (op == SOAP_OP_NONE || len > 0x7fffffff || memmem(body, len, "<!DOCTYPE", 9) || memmem(body, len, "<!ENTITY", 8))
		return -1;
	doc = xmlReadMemory(body, (int)len, NULL, "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL || doc->intSubset || doc->extSubset)
		goto out;
	env = xmlDocGetRootElement(doc);
	if (env == NULL || strcmp((const char *)env->name, "Envelope") != 0 || !ns_is(env, SOAP_ENV_NS))
		goto out;
	for (soap_body = first_element(env->children); soap_body; soap_body = first_element(soap_body->next))
		if (strcmp((const char *)soap_body->name, "Body") == 0 && ns_is(soap_body, SOAP_ENV_NS))
			break;
	call = soap_body ? first_element(soap_body->children) : NULL;
	if (call == NULL || strcmp((const char *)call->name, op_names[op]) != 0 || !ns_is_ops(call)) {
		*why = "ERR_BAD_REQUEST: the Body does not hold the operation SOAPAction names";
		goto out;
	}
	for (const xmlNode *n = first_element(call->children); n; n = first_element(n->next))
		if (ns_is_ops(n) && parse_param(n, req, &seen, why) < 0)
			goto out;
	rc = 0;
out:
	if (rc < 0)
		files_soap_req_free(req);
	xmlFreeDoc(doc);
	return rc;
}

/* ---- names ---------------------------------------------------------------------- */

/* A file name's extension worth keeping: 1..10 letters and digits after the
 * last dot, lower-cased; "" otherwise. */
static void extension_of(const char *name, char out[12])
{
	const char *dot = strrchr(name, '.');
	size_t n = 0;

	out[0] = '\0';
	if (dot == NULL || dot[1] == '\0' || strlen(dot + 1) > 10)
		return;
	for (const char *p = dot + 1; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) {
			out[0] = '\0';
			return;
		}
		out[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	}
	out[n] = '\0';
}

static void repos_from(const char guid[BASE_GUID_LEN + 1], const char *ext, char out[FILES_REPOS_MAX])
{
	snprintf(out, FILES_REPOS_MAX, ext[0] ? "%s.%s" : "%s", guid, ext);
}

/* Derived from what the row already holds, so the store needs no new
 * column: a GUID from SHA-256 of the file's id and creation time, and the
 * name's extension.  Repeatable, and distinct per file. */
void files_repos_name(const struct store_file *sf, char out[FILES_REPOS_MAX])
{
	unsigned char digest[32], in[16];
	char hex[33], guid[BASE_GUID_LEN + 1], ext[12];

	for (int i = 0; i < 8; i++) {
		in[i] = (unsigned char)((uint64_t)sf->id >> (8 * i));
		in[8 + i] = (unsigned char)((uint64_t)sf->created_us >> (8 * i));
	}
	mbedtls_sha256_ret(in, sizeof in, digest, 0);
	digest[6] = (unsigned char)((digest[6] & 0x0f) | 0x40);    /* shaped as a version 4 GUID */
	digest[8] = (unsigned char)((digest[8] & 0x3f) | 0x80);
	hex_encode(digest, 16, hex);
	snprintf(guid, sizeof guid, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	extension_of(sf->name, ext);
	repos_from(guid, ext, out);
}

/* What a client may name its upload when the server did not: a GUID (any
 * case of hex) and an optional extension, nothing a path could use. */
static int repos_shaped(const char *s)
{
	size_t n = strlen(s);
	char ext[12];

	if (n < BASE_GUID_LEN || (n > BASE_GUID_LEN && s[BASE_GUID_LEN] != '.'))
		return 0;
	for (size_t i = 0; i < BASE_GUID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		                           (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	}
	if (n == BASE_GUID_LEN)
		return 1;
	extension_of(s, ext);
	return ext[0] != '\0' && strlen(ext) == n - BASE_GUID_LEN - 1;
}

/* ---- answers -------------------------------------------------------------------- */

static void soap_send(struct conn *c, struct files_conn *fc, int code, const struct buf *body)
{
	char head[256];
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %s\r\n"
	                 "Server: pchat/" PCHAT_VERSION "\r\n"
	                 "Content-Type: text/xml; charset=utf-8\r\n"
	                 "Content-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n",
	                 code == 200 ? "200 OK" : "500 Internal Server Error", body->len);

	fc->state = FC_DONE;
	if (n < 0 || (size_t)n >= sizeof head || conn_send(c, head, (size_t)n) < 0 ||
	    conn_send(c, buf_head(body), body->len) < 0) {
		conn_kill(c, "SOAP answer does not fit the output queue");
		return;
	}
	conn_close(c, "SOAP answer sent");
}

static void envelope_open(struct xml_out *o)
{
	xo_str(o, "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
	          "<soap:Envelope xmlns:soap=\"" SOAP_ENV_NS "\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
	          " xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body>");
}

/* Every error, as the .asmx service gave it: HTTP 500 with a soap:Fault.
 * client = the request was wrong (soap:Client), else soap:Server. */
static void soap_fault(struct conn *c, struct files_conn *fc, int client, const char *text)
{
	struct xml_out o;

	log_info("conn=%llu event=file-soap-fault op=%s reason=\"%s\"", (unsigned long long)c->id, fc->soap_action, text);
	xo_init(&o, 4096);
	envelope_open(&o);
	xo_fmt(&o, "<soap:Fault><faultcode>soap:%s</faultcode><faultstring>", client ? "Client" : "Server");
	xo_esc(&o, text, strlen(text), 0);
	xo_str(&o, "</faultstring><detail/></soap:Fault></soap:Body></soap:Envelope>");
	if (o.failed)
		conn_kill(c, "SOAP fault too long");
	else
		soap_send(c, fc, 500, &o.b);
	buf_free(&o.b);
}

/* <OPResponse xmlns=NS><OPResult>result</OPResult></OPResponse>; result is
 * already XML-safe (numbers, GUID names, base64). */
static void soap_result(struct conn *c, struct files_conn *fc, enum files_soap_op op, const char *result, size_t len)
{
	const char *name = files_soap_op_name(op);
	struct xml_out o;

	xo_init(&o, len + 1024);
	envelope_open(&o);
	xo_fmt(&o, "<%sResponse xmlns=\"" FILES_SOAP_NS "\"><%sResult>", name, name);
	xo_raw(&o, result, len);
	xo_fmt(&o, "</%sResult></%sResponse></soap:Body></soap:Envelope>", name, name);
	if (o.failed)
		conn_kill(c, "SOAP answer too long");
	else
		soap_send(c, fc, 200, &o.b);
	buf_free(&o.b);
}

static void soap_number(struct conn *c, struct files_conn *fc, enum files_soap_op op, uint64_t v)
{
	char text[24];
	int n = snprintf(text, sizeof text, "%llu", (unsigned long long)v);

	soap_result(c, fc, op, text, (size_t)n);
}

/* ---- operations ------------------------------------------------------------------- */

/* The token of a request, for the direction the operation needs, in the
 * room channelId names, with the rules checked again now.  NULL after a
 * fault.  A token the rules no longer allow is void. */
static struct files_token *soap_token(struct files *f, struct conn *c, struct files_conn *fc,
                                      const struct files_soap_req *req, int upload)
{
	struct files_token *t = files_token_find(f, req->token, strlen(req->token));
	struct store_room r;
	const char *why;
	int status, rc;

	if (t == NULL) {
		soap_fault(c, fc, 1, "ERR_BAD_TOKEN: token unknown, already used or expired; ask for a new one");
		return NULL;
	}
	if (t->upload != upload) {
		soap_fault(c, fc, 1, upload ? "ERR_BAD_TOKEN: this is a download token" : "ERR_BAD_TOKEN: this is an upload token");
		return NULL;
	}
	if ((rc = store_room_get_id(f->store, t->room_id, &r)) != STORE_OK && rc != STORE_E_NOTFOUND) {
		soap_fault(c, fc, 0, "ERR_STORE: the store cannot be read now; try again");
		return NULL;
	}
	if (rc == STORE_OK && strcasecmp(r.guid, req->channel) != 0) {
		soap_fault(c, fc, 1, "ERR_NO_SUCH_CHANNEL: channelId is not the token's room");
		return NULL;
	}
	if ((status = files_transfer_allowed(f, t->user, t->room_id, upload, &why)) == 503) {
		soap_fault(c, fc, 0, "ERR_STORE: the store cannot be read now; try again");
		return NULL;
	}
	if (status != 0) {
		log_info("conn=%llu event=file-token-void user=%s room=%lld reason=\"%s\"", (unsigned long long)c->id,
		         t->user, (long long)t->room_id, why);
		files_token_drop(f, t, why);
		soap_fault(c, fc, 1, "ERR_NO_PERMISSION: you may no longer transfer files in this room");
		return NULL;
	}
	conn_set_authenticated(c, 1);   /* the token is the credential: no sign-in deadline now */
	return t;
}

static void op_unique_name(struct files *f, struct conn *c, struct files_conn *fc, const struct files_soap_req *req)
{
	struct files_token *t = soap_token(f, c, fc, req, 1);
	char guid[BASE_GUID_LEN + 1], ext[12];

	if (t == NULL)
		return;
	if (t->started) {
		soap_fault(c, fc, 1, "ERR_BAD_REQUEST: this token's upload has begun");
		return;
	}
	if (guid_v4(guid) < 0) {
		soap_fault(c, fc, 0, "ERR_INTERNAL: no random bytes");
		return;
	}
	/* The extension the client asks for, else the one of the name the token
	 * was issued for. */
	if (req->extension[0]) {
		char dotted[sizeof req->extension + 1];

		snprintf(dotted, sizeof dotted, "%s%s", req->extension[0] == '.' ? "" : ".", req->extension);
		extension_of(dotted, ext);
	} else {
		extension_of(t->name, ext);
	}
	repos_from(guid, ext, t->repos);
	soap_result(c, fc, req->op, t->repos, strlen(t->repos));
}

/* The first chunk: the size and the limits, then the row. */
static int append_begin(struct files *f, struct conn *c, struct files_conn *fc, struct files_token *t,
                        const struct files_soap_req *req)
{
	uint64_t max = f->cfg->files_max_file_kb * 1024;
	char text[200];
	int status, rc;

	if ((uint64_t)req->file_length > max) {
		snprintf(text, sizeof text, "ERR_FILE_TOO_LARGE: the limit is %llu KiB (%llu bytes)",
		         (unsigned long long)f->cfg->files_max_file_kb, (unsigned long long)max);
		soap_fault(c, fc, 1, text);
		return -1;
	}
	if ((status = files_upload_limits(f, t->user, t->room_id, (uint64_t)req->file_length, text, sizeof text)) != 0) {
		soap_fault(c, fc, status != 503, text);
		return -1;
	}
	if ((rc = files_upload_create(f, t->room_id, t->name, t->user, (uint64_t)req->file_length, &t->file_id)) != STORE_OK) {
		soap_fault(c, fc, 0, rc == STORE_E_NOTFOUND ? "ERR_NO_SUCH_CHANNEL: the room no longer exists"
		                                            : "ERR_STORE: cannot store the file now");
		return -1;
	}
	t->started = 1;
	t->started_ms = loop_now(f->loop);
	t->size = (uint64_t)req->file_length;
	t->done = 0;
	mbedtls_sha256_init(&t->sha);
	mbedtls_sha256_starts_ret(&t->sha, 0);
	log_info("conn=%llu event=file-upload-start file=%lld room=%lld user=%s size=%llu via=soap",
	         (unsigned long long)c->id, (long long)t->file_id, (long long)t->room_id, t->user,
	         (unsigned long long)t->size);
	return 0;
}

static void op_append(struct files *f, struct conn *c, struct files_conn *fc, const struct files_soap_req *req)
{
	struct files_token *t = soap_token(f, c, fc, req, 1);
	struct files_upload_info info;
	char text[120];
	const char *why;
	int status;

	if (t == NULL)
		return;
	if (req->offset < 0 || req->file_length < 0 || req->chunk == NULL || req->file[0] == '\0') {
		soap_fault(c, fc, 1, "ERR_BAD_REQUEST: AppendChunk needs uniqueFilename, fileChunk, offset and fileLength");
		return;
	}
	if (t->repos[0] ? strcmp(req->file, t->repos) != 0 : !repos_shaped(req->file)) {
		soap_fault(c, fc, 1, "ERR_BAD_FILE_NAME: uniqueFilename is not this upload's");
		return;
	}
	if (t->started && (uint64_t)req->file_length != t->size) {
		soap_fault(c, fc, 1, "ERR_BAD_REQUEST: fileLength changed during the upload");
		return;
	}
	if ((uint64_t)req->offset != (t->started ? t->done : 0)) {
		snprintf(text, sizeof text, "ERR_BAD_OFFSET: chunks go in order; the next offset is %llu",
		         (unsigned long long)(t->started ? t->done : 0));
		soap_fault(c, fc, 1, text);
		return;
	}
	if (req->chunk_len > (uint64_t)req->file_length - (uint64_t)req->offset) {
		soap_fault(c, fc, 1, "ERR_BAD_OFFSET: the chunk runs past fileLength");
		return;
	}
	if (!t->started && append_begin(f, c, fc, t, req) < 0)
		return;
	if (!t->repos[0])
		snprintf(t->repos, sizeof t->repos, "%s", req->file);
	if (req->chunk_len > 0 && files_upload_piece(f, t->file_id, t->done, req->chunk, req->chunk_len) != STORE_OK) {
		files_token_drop(f, t, "store refused a piece");
		soap_fault(c, fc, 0, "ERR_STORE: cannot store the file now");
		return;
	}
	mbedtls_sha256_update_ret(&t->sha, req->chunk, req->chunk_len);
	t->done += req->chunk_len;
	t->expires_ms = loop_now(f->loop) + (int64_t)f->cfg->files_token_ttl * 1000;
	if (t->done < t->size) {
		soap_number(c, fc, req->op, t->done);
		return;
	}
	/* The last chunk: the row is completed or discarded either way, so the
	 * token is spent here. */
	status = files_upload_complete(f, t->file_id, t->room_id, t->user, t->name, t->size, &t->sha, &info, &why);
	t->started = 0;
	if (status != 0) {
		files_token_drop(f, t, why);
		soap_fault(c, fc, status == 403 || status == 404, why);
		return;
	}
	/* info points at the token's strings: announce before it goes. */
	soap_number(c, fc, req->op, info.size);
	files_announce(f, &info);
	files_token_drop(f, t, "upload complete");
}

/* A download token's file, checked against reposFileName, with
 * FILEDOWNLOAD recorded on the token's first use.  -1 after a fault. */
static int download_file(struct files *f, struct conn *c, struct files_conn *fc, struct files_token *t,
                         const struct files_soap_req *req, struct store_file *sf)
{
	char repos[FILES_REPOS_MAX];
	int rc;

	if ((rc = store_file_get(f->store, t->file_id, sf)) != STORE_OK) {
		if (rc == STORE_E_NOTFOUND)
			files_token_drop(f, t, "file deleted");
		soap_fault(c, fc, rc == STORE_E_NOTFOUND, rc == STORE_E_NOTFOUND ? "ERR_NO_SUCH_FILE: the file has been deleted"
		                                                                : "ERR_STORE: cannot read the file now");
		return -1;
	}
	files_repos_name(sf, repos);
	if (strcasecmp(req->file, repos) != 0) {
		soap_fault(c, fc, 1, "ERR_NO_SUCH_FILE: reposFileName is not this token's file");
		return -1;
	}
	if (!t->started) {
		/* In this pass, which commits before the answer leaves. */
		if (files_download_record(f, t->room_id, t->user, t->file_id, sf->name) != STORE_OK) {
			soap_fault(c, fc, 0, "ERR_STORE: cannot record the download now");
			return -1;
		}
		t->started = 1;
		t->started_ms = loop_now(f->loop);
		log_info("conn=%llu event=file-download-start file=%lld user=%s size=%llu via=soap", (unsigned long long)c->id,
		         (long long)sf->id, t->user, (unsigned long long)sf->size);
	}
	t->expires_ms = loop_now(f->loop) + (int64_t)f->cfg->files_token_ttl * 1000;
	return 0;
}

/* GetFileSize: a download's size, or how much of an upload is stored. */
static void op_file_size(struct files *f, struct conn *c, struct files_conn *fc, const struct files_soap_req *req)
{
	struct files_token *t = files_token_find(f, req->token, strlen(req->token));
	struct store_file sf;

	if (t != NULL && t->upload) {
		if ((t = soap_token(f, c, fc, req, 1)) == NULL)
			return;
		if (!t->repos[0] || strcmp(req->file, t->repos) != 0) {
			soap_fault(c, fc, 1, "ERR_NO_SUCH_FILE: reposFileName is not this upload's");
			return;
		}
		soap_number(c, fc, req->op, t->started ? t->done : 0);
		return;
	}
	if ((t = soap_token(f, c, fc, req, 0)) == NULL || download_file(f, c, fc, t, req, &sf) < 0)
		return;
	soap_number(c, fc, req->op, sf.size);
}

/* DownloadChunk: bufferSize bytes from offset, as base64; at most what
 * keeps the answer near [files] max_request_kb and within the output queue. */
static void op_download(struct files *f, struct conn *c, struct files_conn *fc, const struct files_soap_req *req)
{
	struct files_token *t = soap_token(f, c, fc, req, 0);
	struct store_file sf;
	unsigned char *raw = NULL, *b64 = NULL;
	size_t n, cap = (size_t)f->cfg->files_max_request_kb * 1024 / 4 * 3, room, b64len = 0;
	int rc;

	if (t == NULL)
		return;
	if (req->offset < 0 || req->buffer_size < 0) {
		soap_fault(c, fc, 1, "ERR_BAD_REQUEST: DownloadChunk needs reposFileName, offset and bufferSize");
		return;
	}
	if (download_file(f, c, fc, t, req, &sf) < 0)
		return;
	if ((uint64_t)req->offset > sf.size) {
		soap_fault(c, fc, 1, "ERR_BAD_OFFSET: offset is past the end of the file");
		return;
	}
	room = c->out.max > conn_queued(c) + 2048 ? (c->out.max - conn_queued(c) - 2048) / 4 * 3 : 0;
	n = (size_t)(sf.size - (uint64_t)req->offset);
	if ((uint64_t)n > (uint64_t)req->buffer_size)
		n = (size_t)req->buffer_size;
	if (n > cap)
		n = cap;
	if (n > room)
		n = room;
	if ((raw = malloc(n ? n : 1)) == NULL || (b64 = malloc(n / 3 * 4 + 5)) == NULL) {
		soap_fault(c, fc, 0, "ERR_INTERNAL: out of memory");
		goto out;
	}
	if (n > 0 && (rc = store_file_read(f->store, t->file_id, (uint64_t)req->offset, raw, n)) != STORE_OK) {
		soap_fault(c, fc, 0, "ERR_STORE: cannot read the file now");
		goto out;
	}
	mbedtls_base64_encode(b64, n / 3 * 4 + 5, &b64len, raw, n);
	soap_result(c, fc, req->op, (const char *)b64, b64len);
	/* The chunk that reaches the end spends the token. */
	if ((uint64_t)req->offset + n == sf.size)
		files_token_drop(f, t, "download complete");
out:
	free(raw);
	free(b64);
}

/* ---- the request -------------------------------------------------------------------- */

static enum files_soap_op op_named(const char *name)
{
	for (int op = SOAP_OP_UNIQUE_NAME; op <= SOAP_OP_DOWNLOAD; op++)
		if (strcmp(name, op_names[op]) == 0)
			return (enum files_soap_op)op;
	return SOAP_OP_NONE;
}

int files_soap_target(struct sip_str uri)
{
	struct sip_str path;

	return files_target_path(uri, &path) == 0 && path.len == strlen(FILES_SOAP_PATH) &&
	       memcmp(path.p, FILES_SOAP_PATH, path.len) == 0;
}

void files_soap_head(struct files *f, struct conn *c, struct files_conn *fc, const struct sip_msg *m, long rc)
{
	const struct sip_str *action = sip_msg_header(m, "SOAPAction", 0);
	uint64_t max = f->cfg->files_max_request_kb * 1024;
	enum files_soap_op op = action ? files_soap_action(action->p, action->len) : SOAP_OP_NONE;
	char text[160];

	snprintf(fc->soap_action, sizeof fc->soap_action, "%s", op == SOAP_OP_NONE ? "unknown" : files_soap_op_name(op));
	if (!sip_str_eq(m->method, "POST")) {
		soap_fault(c, fc, 1, "ERR_BAD_REQUEST: the service takes SOAP 1.1 POSTs");
		return;
	}
	if (op == SOAP_OP_NONE) {
		soap_fault(c, fc, 1, "ERR_BAD_REQUEST: SOAPAction names no operation of this service");
		return;
	}
	if (sip_msg_header(m, "Transfer-Encoding", 0) != NULL || rc == SIP_E_NO_LENGTH) {
		soap_fault(c, fc, 1, "ERR_BAD_REQUEST: send the request with Content-Length");
		return;
	}
	if (rc == SIP_E_TOO_LARGE || m->content_length > max) {
		snprintf(text, sizeof text, "ERR_REQUEST_TOO_LARGE: a request may hold %llu KiB (GetMaxRequestContentInKB)",
		         (unsigned long long)f->cfg->files_max_request_kb);
		soap_fault(c, fc, 1, text);
		return;
	}
	buf_consume(&c->in, m->header_bytes);
	buf_init(&fc->soap, m->content_length);
	fc->size = m->content_length;
	fc->state = FC_SOAP_BODY;
	files_soap_body(f, c, fc);
}

void files_soap_body(struct files *f, struct conn *c, struct files_conn *fc)
{
	size_t n = c->in.len, left = fc->size - fc->soap.len;
	struct files_soap_req req;
	const char *why;

	if (n > left)
		n = left;   /* bytes past the body are ignored (one request per connection) */
	if (n > 0 && buf_append(&fc->soap, buf_head(&c->in), n) < 0) {
		fc->state = FC_DONE;
		conn_kill(c, "out of memory");
		return;
	}
	buf_consume(&c->in, c->in.len);
	if (fc->soap.len < fc->size)
		return;
	if (files_soap_parse(op_named(fc->soap_action), (const char *)buf_head(&fc->soap), fc->soap.len, &req, &why) < 0) {
		soap_fault(c, fc, 1, why);
		goto out;
	}
	switch (req.op) {
	case SOAP_OP_MAX_FILE: soap_number(c, fc, req.op, f->cfg->files_max_file_kb); break;
	case SOAP_OP_MAX_REQUEST: soap_number(c, fc, req.op, f->cfg->files_max_request_kb); break;
	case SOAP_OP_UNIQUE_NAME: op_unique_name(f, c, fc, &req); break;
	case SOAP_OP_APPEND: op_append(f, c, fc, &req); break;
	case SOAP_OP_FILE_SIZE: op_file_size(f, c, fc, &req); break;
	default: op_download(f, c, fc, &req); break;
	}
	files_soap_req_free(&req);
out:
	buf_free(&fc->soap);
}
