/*
 * compliance.c - see compliance.h.
 */
#include "compliance.h"

#include <time.h>

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int compliance_record(struct store *st, const struct config *cfg, const char *type,
                      const struct store_room *room, const char *user_uri, int64_t message_id,
                      const char *content, size_t content_len)
{
	struct store_event e = {
		.type = type,
		.room_guid = room ? room->guid : NULL,
		.room_name = room ? room->name : NULL,
		.user_uri = user_uri,
		.ts_us = now_us(),
		.message_id = message_id,
		.content = content,
		.content_len = content ? content_len : 0,
	};

	if (!cfg->compliance_enabled)
		return STORE_OK;
	return store_event_add(st, &e);
}
