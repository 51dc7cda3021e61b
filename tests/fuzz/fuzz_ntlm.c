/*
 * fuzz_ntlm.c - libFuzzer target: NTLM messages from the network.  The
 * server parses and verifies AUTHENTICATE messages; the test client and the
 * load generator parse CHALLENGE messages.  Both get the same bytes.
 */
#include "../../auth.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t challenge[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, cc[8] = { 9 }, rsk[16] = { 7 };
	uint8_t hash[16], out[4096], *copy = malloc(size ? size : 1);
	struct auth_ntlm_authenticate a;
	struct auth_keys keys;
	size_t outlen;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	auth_nt_hash("secret", 6, hash);
	if (auth_ntlm_parse_authenticate(copy, size, &a) == AUTH_OK)
		(void)auth_ntlm_verify(&a, challenge, hash, &keys);
	/* The web service's HTTP NTLM (no session key needed, proof only). */
	if (auth_ntlm_parse_authenticate_http(copy, size, &a) == AUTH_OK)
		(void)auth_ntlm_verify_proof(&a, challenge, hash);
	(void)auth_ntlm_client_authenticate(copy, size, "alice@example.org", "", hash, cc, rsk, 1, out, sizeof out,
	                                    &outlen, &keys);
	(void)auth_nt_hash((const char *)copy, size, hash);
	free(copy);
	return 0;
}
