/*
 * fuzz_soap.c - libFuzzer target: SOAP request bodies as the file web
 * service reads them (files_soap.c: libxml2 with network access and
 * entities off, DTDs refused, parameters bounded, fileChunk through
 * mbedTLS base64).  The first byte picks the operation the SOAPAction
 * would have named; the rest is the body.  The SOAPAction matcher gets
 * the same bytes.
 */
#include "../../files_soap.h"

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
	struct files_soap_req req;
	const char *why;
	char *copy;

	if (!initialised) {
		xmlInitParser();
		xmlSetGenericErrorFunc(NULL, quiet);
		initialised = 1;
	}
	if (size == 0 || (copy = malloc(size)) == NULL)
		return 0;
	/* Exactly size - 1 bytes, so a read past the body shows. */
	memcpy(copy, data + 1, size - 1);
	(void)files_soap_action(copy, size - 1);
	if (files_soap_parse((enum files_soap_op)(data[0] % (SOAP_OP_DOWNLOAD + 1)), copy, size - 1, &req, &why) == 0)
		files_soap_req_free(&req);
	free(copy);
	return 0;
}
