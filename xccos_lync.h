/*
 * xccos_lync.h - reading what Lync-protocol clients send beyond pidgin-sipe,
 * below the command face (xccos.c): the forms of a history request's <bcq>,
 * the client's own attributes of a post, and the <pref> of getpref and
 * setpref.  Parsing and checking only: no store, no replies.  The wire names
 * are guesses where no source shows them; doc/protocol-notes.md lists each
 * one with what it was reasoned from, and each is spelt once, here.
 */
#ifndef PCHAT_XCCOS_LYNC_H
#define PCHAT_XCCOS_LYNC_H

#include <libxml/tree.h>

#include "store.h"
#include "xml_out.h"

/* ---- history: <bcq> ---- */
enum lync_history_form { HISTORY_LAST, HISTORY_SEARCH, HISTORY_QUERY };

/* One history request, read from <bcq>.  q is for store_message_query
 * (room_id is the caller's); HISTORY_SEARCH is pchat's own full-text form
 * (words, cnt: store_message_search).  The strings belong to h. */
struct lync_history {
	enum lync_history_form form;
	long cnt;                   /* as asked, before the server's limit */
	struct store_history_query q;
	int newest_first_out;       /* the reply lists newest first (sortOrderReversed) */
	char *words;                /* HISTORY_SEARCH's words or the query's searchString */
	char *authors[STORE_QUERY_AUTHORS_MAX];
	size_t n_authors;
};

/* Read bcq (NULL: the default, the last 25) into h.  0, or -1 when the form
 * is unknown, there is more than one, or a value is malformed or too long:
 * such a request must be refused, never answered as another form.
 * lync_history_free releases h either way. */
int lync_history_parse(xmlNodePtr bcq, struct lync_history *h);
void lync_history_free(struct lync_history *h);
/* What the BACKCHAT compliance record says was asked, into o. */
void lync_history_describe(const struct lync_history *h, size_t returned, struct xml_out *o);

/* ---- posts: the client's attributes of <grpchat> ---- */
#define POST_ATTRS_MAX 16           /* attributes kept per post */
#define POST_ATTR_NAME_MAX 32       /* bytes of one name */
#define POST_ATTR_VALUE_MAX 256     /* bytes of one value */
/* Write the attributes of post that the client owns as ` name="value"`
 * (escaped) into o; the ones the server owns (id, seqid, chanUri, author,
 * ts, msgId) and prefixed or namespaced ones are left out.  0, or -1 when
 * there are more than POST_ATTRS_MAX or one is too long or badly named. */
int lync_post_attrs(xmlNodePtr post, struct xml_out *o);

/* ---- preferences: <pref label seqid createdefault content> ---- */
#define PREF_CONTENT_MAX (32u << 10)    /* bytes of base64 text per label (under the SIP body cap) */
#define PREFS_PER_USER 64               /* labels one user may keep */
struct lync_pref {
	char label[STORE_PREF_LABEL_MAX];
	long long seqid;            /* -1 when absent */
	int create_default;
	xmlChar *content;           /* NULL when absent; xmlFree it */
	size_t content_len;
};
/* Read <pref> into p.  0, or -1 for a missing or bad label, seqid or
 * content (not base64, or over PREF_CONTENT_MAX). */
int lync_pref_parse(xmlNodePtr pref, struct lync_pref *p);

#endif
