/*
 * fuzz_config.c - libFuzzer target: the ini loader (inih plus pchat's
 * strict key table) on arbitrary text.
 */
#include "../../config.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char err[600], *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';      /* inih reads a C string */
	config_defaults(&c, "/tmp");
	(void)config_load_string(&c, text, "fuzz.ini", "/tmp", err, sizeof err);
	free(text);
	return 0;
}
