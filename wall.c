/*
 * wall.c - see wall.h.
 */
#include "wall.h"
#include "store.h"

static int stop_at_first(void *arg, const char *uri)
{
	(void)arg;
	(void)uri;
	return 1;
}

int chat_wall_admits(struct store *st, int64_t category_id, const char *user)
{
	if (store_category_list_has(st, category_id, STORE_CAT_DENIED, user) != 0)
		return 0;
	if (store_category_list_each(st, category_id, STORE_CAT_ALLOWED, stop_at_first, NULL) != 0 &&
	    store_category_list_has(st, category_id, STORE_CAT_ALLOWED, user) != 1)
		return 0;
	return 1;
}
