/*
 * fuzz_xccos.c - libFuzzer target: XCCOS bodies as the chat service reads
 * them (libxml2 with network access and entities off, DTDs refused), the
 * envelope checks, and the escaping that echoes text back.
 */
#include "../../xccos.h"
#include "../../xml_out.h"

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
	struct xccos_envelope env;
	struct xml_out o;
	char *copy = malloc(size ? size : 1);

	if (!initialised) {
		xmlInitParser();
		xmlSetGenericErrorFunc(NULL, quiet);
		initialised = 1;
	}
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	(void)xccos_parse_envelope(copy, size, &env);
	xo_init(&o, 1 << 20);
	xo_esc(&o, copy, size, 1);
	xo_esc(&o, copy, size, 0);
	buf_free(&o.b);
	free(copy);
	return 0;
}
