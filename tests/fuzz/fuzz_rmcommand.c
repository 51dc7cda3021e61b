/*
 * fuzz_rmcommand.c - libFuzzer target: RMCommand documents as the
 * room-management handler reads them (rm_command_parse: libxml2 with
 * network access and entities off, DTDs refused, size and depth capped,
 * attribute lists split), and the parsed command freed.
 */
#include "../../rm_command.h"

#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct rm_command c;
	char why[RM_WHY_MAX];
	char *copy = malloc(size ? size : 1);

	if (!initialised) {
		xmlInitParser();
		xmlSetGenericErrorFunc(NULL, quiet);
		initialised = 1;
	}
	if (copy == NULL)
		return 0;
	/* An exact-size copy, so reading past the length is caught. */
	memcpy(copy, data, size);
	if (rm_command_parse(copy, size, &c, why, sizeof why) == 0) {
		if (c.type == RMC_CREATE_ROOM && (c.room_name == NULL || c.n_members > RM_COMMAND_USERS_MAX))
			abort();
		rm_command_free(&c);
	}
	free(copy);
	return 0;
}
