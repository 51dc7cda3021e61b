/*
 * fuzz_sip.c - libFuzzer target: the SIP/HTTP parser and every accessor the
 * server applies to a parsed message (headers, URIs, tags, CSeq, auth
 * parameters, the signature fields).  The input is copied into a buffer of
 * exactly its size, so ASan catches any read past the end.
 */
#include "../../auth.h"
#include "../../sip.h"

#include <stdlib.h>
#include <string.h>

static void poke(struct sip_str v)
{
	uint32_t num;
	struct sip_str method;

	(void)sip_addr_uri(v);
	(void)sip_header_param(v, "tag");
	(void)sip_header_param(v, "epid");
	(void)sip_auth_param(v, "gssapi-data");
	(void)sip_auth_param(v, "response");
	(void)sip_cseq_parse(v, &num, &method);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sip_limits lim = { 4096, 32, 65536 };
	static const char *const names[] = { "Call-ID", "From", "To", "CSeq", "Via", "Contact", "Authorization",
	                                     "Content-Type", "Event", "Expires", "Content-Length", "Host" };
	struct sip_msg m;
	char *copy;
	long n;

	if (size == 0)
		return 0;
	copy = malloc(size);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	/* The first byte picks the grammar, as the two listeners do. */
	n = sip_msg_parse(&m, copy + 1, size - 1, &lim, (copy[0] & 1) ? "HTTP/" : "SIP/");
	if (n > 0) {
		struct auth_sig_fields f;
		char str[2048];

		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			const struct sip_str *v = sip_msg_header(&m, names[i], 0);

			if (v)
				poke(*v);
		}
		sip_msg_sig_fields(&m, &f);
		(void)auth_sig_string(&f, str, sizeof str);
	}
	free(copy);
	return 0;
}
