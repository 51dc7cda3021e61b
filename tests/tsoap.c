/*
 * tsoap.c - see tsoap.h.
 */
#include "tsoap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

int tsoap_call(struct thttp *h, uint16_t port, const char *op, const char *params_xml)
{
	struct buf body, head;
	int st;

	buf_init(&body, 64u << 20);
	buf_init(&head, 4096);
	buf_printf(&body, "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
	           "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
	           "<%s xmlns=\"http://www.microsoft.com\">", op);
	buf_appends(&body, params_xml);
	buf_printf(&body, "</%s></s:Body></s:Envelope>", op);
	buf_printf(&head, "POST /PersistentChat/MGCWebService.asmx HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
	           "Content-Type: text/xml; charset=utf-8\r\nSOAPAction: \"http://www.microsoft.com/%s\"\r\n"
	           "Content-Length: %zu\r\n\r\n", port, op, body.len);
	buf_append(&head, "", 1);
	st = thttp_do(h, port, (const char *)buf_head(&head), buf_head(&body), body.len);
	buf_free(&body);
	buf_free(&head);
	return st;
}

static int between(const struct thttp *h, const char *open, const char *close, char *out, size_t cap)
{
	const unsigned char *a, *b;
	size_t n;

	out[0] = '\0';
	if (h->body == NULL || (a = memmem(h->body, h->body_len, open, strlen(open))) == NULL)
		return -1;
	a += strlen(open);
	if ((b = memmem(a, h->body_len - (size_t)(a - h->body), close, strlen(close))) == NULL)
		return -1;
	n = (size_t)(b - a);
	if (n >= cap)
		return -1;
	memcpy(out, a, n);
	out[n] = '\0';
	return 0;
}

int tsoap_result(const struct thttp *h, const char *op, char *out, size_t cap)
{
	char open[96], close[96];

	snprintf(open, sizeof open, "<%sResult>", op);
	snprintf(close, sizeof close, "</%sResult>", op);
	return between(h, open, close, out, cap);
}

int tsoap_fault(const struct thttp *h, char *out, size_t cap)
{
	return between(h, "<faultstring>", "</faultstring>", out, cap);
}

int tsoap_simple(uint16_t port, const char *op, const char *params_xml, char *out, size_t cap)
{
	struct thttp h;
	int st = tsoap_call(&h, port, op, params_xml);

	if (out != NULL && cap > 0) {
		out[0] = '\0';
		if (st == 200)
			tsoap_result(&h, op, out, cap);
		else if (st == 500)
			tsoap_fault(&h, out, cap);
	}
	thttp_close(&h);
	return st;
}

int tsoap_unique_name(uint16_t port, const char *token, const char *channel, char *out, size_t cap)
{
	char params[256];

	snprintf(params, sizeof params, "<token>%s</token><channelId>%s</channelId>", token, channel);
	return tsoap_simple(port, "RequestUniqueFilenameWithExtension", params, out, cap);
}

int tsoap_append(uint16_t port, const char *token, const char *channel, const char *name, const void *data,
                 size_t len, uint64_t offset, uint64_t file_length, char *out, size_t cap)
{
	size_t b64cap = len / 3 * 4 + 8, b64len = 0;
	unsigned char *b64 = malloc(b64cap);
	struct buf params;
	int st = -1;

	buf_init(&params, 64u << 20);
	if (b64 != NULL && mbedtls_base64_encode(b64, b64cap, &b64len, data, len) == 0) {
		buf_printf(&params, "<token>%s</token><channelId>%s</channelId><uniqueFilename>%s</uniqueFilename><fileChunk>",
		           token, channel, name);
		buf_append(&params, b64, b64len);
		buf_printf(&params, "</fileChunk><offset>%llu</offset><fileLength>%llu</fileLength>",
		           (unsigned long long)offset, (unsigned long long)file_length);
		buf_append(&params, "", 1);
		st = tsoap_simple(port, "AppendChunk", (const char *)buf_head(&params), out, cap);
	}
	buf_free(&params);
	free(b64);
	return st;
}

int tsoap_file_size(uint16_t port, const char *token, const char *channel, const char *repos, char *out, size_t cap)
{
	char params[320];

	snprintf(params, sizeof params, "<token>%s</token><channelId>%s</channelId><reposFileName>%s</reposFileName>",
	         token, channel, repos);
	return tsoap_simple(port, "GetFileSize", params, out, cap);
}

int tsoap_download_chunk(uint16_t port, const char *token, const char *channel, const char *repos, uint64_t offset,
                         uint64_t buffer_size, struct buf *got, char *out, size_t cap)
{
	char params[400];
	struct thttp h;
	int st;

	snprintf(params, sizeof params, "<token>%s</token><channelId>%s</channelId><reposFileName>%s</reposFileName>"
	         "<offset>%llu</offset><bufferSize>%llu</bufferSize>", token, channel, repos, (unsigned long long)offset,
	         (unsigned long long)buffer_size);
	st = tsoap_call(&h, port, "DownloadChunk", params);
	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (st == 200) {
		const unsigned char *a = memmem(h.body, h.body_len, "<DownloadChunkResult>", 21), *b;
		size_t n = 0;

		b = a ? memmem(a, h.body_len - (size_t)(a - h.body), "</DownloadChunkResult>", 22) : NULL;
		if (a == NULL || b == NULL || buf_reserve(got, (size_t)(b - a)) < 0 ||
		    mbedtls_base64_decode(buf_tail(got), buf_room(got), &n, a + 21, (size_t)(b - (a + 21))) != 0)
			st = -2;
		else
			buf_commit(got, n);
	} else if (st == 500 && out != NULL) {
		tsoap_fault(&h, out, cap);
	}
	thttp_close(&h);
	return st;
}

int tsoap_upload(uint16_t port, const char *token, const char *channel, const void *data, size_t len, size_t chunk,
                 char name[64])
{
	size_t off = 0;
	int st;

	if ((st = tsoap_unique_name(port, token, channel, name, 64)) != 200)
		return st;
	do {
		size_t n = len - off < chunk ? len - off : chunk;

		st = tsoap_append(port, token, channel, name, (const unsigned char *)data + off, n, off, len, NULL, 0);
		off += n;
	} while (st == 200 && off < len);
	return st;
}

int tsoap_download(uint16_t port, const char *token, const char *channel, const char *repos, size_t chunk,
                   struct buf *got)
{
	char text[64];
	unsigned long long size;
	int st;

	if ((st = tsoap_file_size(port, token, channel, repos, text, sizeof text)) != 200)
		return st;
	if (sscanf(text, "%llu", &size) != 1)
		return -1;
	do {
		st = tsoap_download_chunk(port, token, channel, repos, got->len, chunk, got, NULL, 0);
	} while (st == 200 && got->len < size);
	return st;
}

/* The repository name in the fileUri of the announcement of name (the last
 * one u got), into out; 0 or -1. */
int tsoap_repos_of(struct tuser *u, const char *name, char out[64])
{
	char needle[300], uri[512];
	const unsigned char *p, *last = NULL;
	const char *slash;
	size_t left, n = 0;

	snprintf(needle, sizeof needle, "<fileDownloadLink fileName=\"%s\"", name);
	if (!tchat_wait_for(u, needle, 5000))
		return -1;
	left = u->in.len;
	for (p = buf_head(&u->in); (p = memmem(p, left - (size_t)(p - buf_head(&u->in)), needle, strlen(needle))) != NULL;
	     p++)
		last = p;
	if (last == NULL || (p = memmem(last, left - (size_t)(last - buf_head(&u->in)), "fileUri=\"", 9)) == NULL)
		return -1;
	for (p += 9; p < buf_head(&u->in) + left && *p != '"' && n + 1 < sizeof uri; p++)
		uri[n++] = (char)*p;
	uri[n] = '\0';
	slash = strrchr(uri, '/');
	if (strstr(uri, "/PersistentChat/MGCWebService.asmx/") == NULL || slash == NULL || strlen(slash + 1) >= 64)
		return -1;
	snprintf(out, 64, "%s", slash + 1);
	return 0;
}
