/*
 * compliance_types.c - see compliance_types.h.
 */
#include "compliance_types.h"
#include "buf.h"

#include <string.h>

static const struct compliance_type types[] = {
	{ "JOIN", "JOIN", COMPLIANCE_ACT_ENTERED, "ParticipantEntered", 0, 0 },
	{ "PART", "PART", COMPLIANCE_ACT_LEFT, "ParticipantLeft", 0, 0 },
	{ "CHAT", "CHAT", COMPLIANCE_ACT_MESSAGE, "Message", 1, 0 },
	{ "BACKCHAT", "BACKCHAT", COMPLIANCE_ACT_MESSAGE, "Message", 0, 0 },
	{ "FILEUPLOAD", "FILEUPLOAD", COMPLIANCE_ACT_FILE, "FileTransfer", 0, 1 },
	{ "FILEDOWNLOAD", "FILEDOWNLOAD", COMPLIANCE_ACT_FILE, "FileTransfer", 0, 0 },
	{ "ADMIN", NULL, COMPLIANCE_ACT_MESSAGE, "Message", 0, 0 },
};

const struct compliance_type *compliance_type_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(types[i].name, name) == 0)
			return &types[i];
	return NULL;
}

/* The ADMIN event text: "room set NAME privacy=open member=sip:...", users
 * canonical, values holding spaces, quotes or '=' quoted. */
void admin_event_append(struct buf *b, const char *key, const char *v)
{
	buf_printf(b, key ? " %s=" : " ", key ? key : "");
	if (*v && strcspn(v, " \"\\=") == strlen(v)) {
		buf_appends(b, v);
		return;
	}
	buf_appends(b, "\"");
	for (; *v; v++)
		buf_printf(b, "%s%c", *v == '"' || *v == '\\' ? "\\" : "", *v);
	buf_appends(b, "\"");
}
