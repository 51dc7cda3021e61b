/*
 * chat_out.c - see chat_out.h.
 */
#include "chat_out.h"
#include "log.h"
#include "room_uri.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void chat_out_begin(struct chat_out *co, struct xml_out *o)
{
	xo_init(o, REPLY_MAX);
	xo_fmt(o, "<xccos ver=\"1\" envid=\"%llu\" xmlns=\"" XCCOS_NS "\">", (unsigned long long)++co->next_envid);
}

void chat_out_send(struct sip_dialog *d, struct xml_out *o)
{
	if (o->failed) {
		log_warn("dialog=%llu event=reply-too-large cap=%u", (unsigned long long)sip_dialog_id(d), REPLY_MAX);
		return;
	}
	sip_dialog_send_info(d, (const char *)buf_head(&o->b), o->b.len);
}

void chat_out_room_uri(const struct chat_out *co, struct xml_out *o, const char *guid)
{
	char uri[ROOM_URI_MAX];
	int n = room_uri_format(uri, sizeof uri, co->domain, guid);

	if (n < 0)
		o->failed = 1;
	else
		xo_esc(o, uri, (size_t)n, 1);
}

void chat_out_reply_begin(struct chat_out *co, struct xml_out *o, const char *envid, const char *seqid,
                          const char *name, int code, const char *text)
{
	const char *seq = seqid[0] ? seqid : "1";

	chat_out_begin(co, o);
	xo_fmt(o, "<rpl id=\"rpl:%s\" seqid=\"%s\"><commandid seqid=\"%s\" envid=\"%s\"/><resp code=\"%d\">%s</resp><data>",
	        name, seq, seq, envid, code, text);
}

void chat_out_reply_end(struct sip_dialog *d, struct xml_out *o)
{
	xo_str(o, "</data></rpl></xccos>");
	chat_out_send(d, o);
	buf_free(&o->b);
}

void chat_out_reply_status(struct chat_out *co, struct sip_dialog *d, const char *envid, const char *seqid,
                           const char *name, int code, const char *text)
{
	struct xml_out o;

	chat_out_reply_begin(co, &o, envid, seqid, name, code, text);
	chat_out_reply_end(d, &o);
}

void chat_out_post(const struct chat_out *co, struct xml_out *o, const char *elem, const char *guid,
                   const char *author, int64_t ts_us, int64_t id, const char *text, size_t text_len,
                   const char *extra, size_t extra_len)
{
	chat_out_post_attrs(co, o, elem, guid, author, ts_us, id, "", 0, text, text_len, extra, extra_len);
}

void chat_out_post_attrs(const struct chat_out *co, struct xml_out *o, const char *elem, const char *guid,
                         const char *author, int64_t ts_us, int64_t id, const char *attrs, size_t attrs_len,
                         const char *text, size_t text_len, const char *extra, size_t extra_len)
{
	char ts[64];

	xo_time(ts_us, ts);
	xo_fmt(o, "<%s id=\"grpchat\" seqid=\"1\" chanUri=\"", elem);
	chat_out_room_uri(co, o, guid);
	xo_str(o, "\"");
	xo_attr(o, "author", author);
	xo_fmt(o, " ts=\"%s\" msgId=\"%lld\"", ts, (long long)id);
	xo_raw(o, attrs, attrs_len);
	xo_str(o, "><chat>");
	xo_esc(o, text, text_len, 0);
	xo_str(o, "</chat>");
	xo_raw(o, extra, extra_len);
	xo_fmt(o, "</%s>", elem);
}

/* UCMA's MessagePartFileDownloadLink.FileSizeEstimate: "a description of
 * the estimated file size. For example '100 bytes' or '10 kilobytes'". */
static void size_estimate(uint64_t size, char out[32])
{
	if (size < 1024)
		snprintf(out, 32, "%llu bytes", (unsigned long long)size);
	else if (size < 1024 * 1024)
		snprintf(out, 32, "%llu kilobytes", (unsigned long long)((size + 1023) / 1024));
	else
		snprintf(out, 32, "%llu megabytes", (unsigned long long)((size + 1024 * 1024 - 1) / (1024 * 1024)));
}

void chat_out_file_link(struct xml_out *o, const char *name, uint64_t size, const char *uri)
{
	char estimate[32];

	size_estimate(size, estimate);
	xo_str(o, "<fileDownloadLink");
	xo_attr(o, "fileName", name);
	xo_attr(o, "fileSizeEstimate", estimate);
	xo_attr(o, "fileUri", uri);
	xo_str(o, "/>");
}
