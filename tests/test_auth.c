/*
 * test_auth.c - NTLM and MS-SIPAE signing against bytes the real client
 * produced (tests/ntlm_vectors.h, from pidgin-sipe's sign-in with password
 * "secret"), plus round trips and hostile inputs.
 */
#include "../auth.c"
#include "../base.c"
#include "../sip.c"
#include "check.h"
#include "ntlm_vectors.h"

#include <mbedtls/base64.h>
#include <stdlib.h>

#define NVECTORS (sizeof ntlm_vectors / sizeof ntlm_vectors[0])

static const struct sip_limits lim = { 16384, 64, 65536 };

static int parse_vector(size_t i, struct sip_msg *m)
{
	long n = sip_msg_parse(m, ntlm_vectors[i].msg, ntlm_vectors[i].len, &lim, "SIP/");
	return n == (long)ntlm_vectors[i].len ? 0 : -1;
}

/* Decode the gssapi-data of an NTLM header; returns its length or -1. */
static long gssapi_data(const struct sip_str *hdr, uint8_t *out, size_t cap)
{
	struct sip_str b64;
	size_t n = 0;
	if (!hdr)
		return -1;
	b64 = sip_auth_param(*hdr, "gssapi-data");
	if (b64.len == 0 || mbedtls_base64_decode(out, cap, &n, (const unsigned char *)b64.p, b64.len) != 0)
		return -1;
	return (long)n;
}

static void test_nt_hash(void)
{
	/* MD4(UTF-16LE("password")), the published NT hash of that password. */
	static const uint8_t want[16] = { 0x88, 0x46, 0xF7, 0xEA, 0xEE, 0x8F, 0xB1, 0x17,
	                                  0xAD, 0x06, 0xBD, 0xD8, 0x30, 0xB7, 0x58, 0x6C };
	uint8_t h[16];
	char big[300];
	CHECK(auth_nt_hash("password", 8, h) == AUTH_OK && memcmp(h, want, 16) == 0, "NT hash of 'password'");
	CHECK(auth_nt_hash("\xff\xfe", 2, h) == AUTH_E_MALFORMED, "invalid UTF-8 password refused");
	CHECK(auth_nt_hash("\xe2\x82", 2, h) == AUTH_E_MALFORMED, "truncated UTF-8 refused");
	CHECK(auth_nt_hash("\xed\xa0\x80", 3, h) == AUTH_E_MALFORMED, "UTF-8 surrogate refused");
	memset(big, 'x', sizeof big);
	CHECK(auth_nt_hash(big, 256, h) == AUTH_OK, "256-character password accepted");
	CHECK(auth_nt_hash(big, 257, h) == AUTH_E_MALFORMED, "257-character password refused");
	CHECK(auth_nt_hash("", 0, h) == AUTH_OK, "empty password hashes");
}

struct flow {
	uint8_t challenge[8];
	uint8_t challenge_msg[1024];
	long challenge_len;
	struct auth_keys keys;
	int have_keys;
};

/* The server's CHALLENGE (in a 401) and the client's AUTHENTICATE. */
static void test_real_handshake(struct flow *fl)
{
	uint8_t authmsg[2048], secret[16], wrong[16];
	long alen = -1;
	struct auth_ntlm_authenticate a;
	struct sip_msg m;

	auth_nt_hash("secret", 6, secret);
	auth_nt_hash("Secret", 6, wrong);
	fl->challenge_len = -1;
	for (size_t i = 0; i < NVECTORS; i++) {
		if (parse_vector(i, &m) < 0)
			continue;
		if (ntlm_vectors[i].from_server && fl->challenge_len < 0)
			fl->challenge_len = gssapi_data(sip_msg_header(&m, "WWW-Authenticate", 0), fl->challenge_msg,
			                                sizeof fl->challenge_msg);
		if (!ntlm_vectors[i].from_server && alen < 0)
			alen = gssapi_data(sip_msg_header(&m, "Authorization", 0), authmsg, sizeof authmsg);
	}
	if (!CHECK(fl->challenge_len > 56 && alen > 72, "transcript holds a CHALLENGE and an AUTHENTICATE"))
		return;
	memcpy(fl->challenge, fl->challenge_msg + 24, 8);

	/* pchat's own CHALLENGE, given the reference server's inputs, is byte-identical. */
	{
		uint8_t mine[1024];
		size_t mlen = 0;
		uint64_t ts = get_le32(fl->challenge_msg + fl->challenge_len - 12) |
		              (uint64_t)get_le32(fl->challenge_msg + fl->challenge_len - 8) << 32;
		int rc = auth_ntlm_make_challenge(fl->challenge, ts, "EXAMPLE", "SIP", "example.com",
		                                  "sip.example.com", mine, sizeof mine, &mlen);
		CHECK(rc == AUTH_OK && mlen == (size_t)fl->challenge_len &&
		      memcmp(mine, fl->challenge_msg, mlen) == 0, "CHALLENGE matches the one sipe accepted");
		CHECK(auth_ntlm_make_challenge(fl->challenge, ts, "EXAMPLE", "SIP", "example.com",
		                               "sip.example.com", mine, 80, &mlen) == AUTH_E_SPACE,
		      "CHALLENGE into a short buffer: AUTH_E_SPACE");
	}

	CHECK(auth_ntlm_parse_authenticate(authmsg, (size_t)alen, &a) == AUTH_OK, "AUTHENTICATE parses");
	CHECK(strcmp(a.user, "alice") == 0 && strcmp(a.domain, "EXAMPLE") == 0 && strcmp(a.workstation, "VM") == 0,
	      "user/domain/workstation decoded");
	CHECK(a.flags == 0x62988255u, "client flags as logged");
	CHECK(auth_ntlm_verify(&a, fl->challenge, wrong, &fl->keys) == AUTH_E_DENIED, "wrong password denied");
	CHECK(auth_ntlm_verify(&a, fl->challenge, secret, &fl->keys) == AUTH_OK, "right password verifies");
	fl->have_keys = 1;
	{
		uint8_t other[8];
		struct auth_keys k;
		memcpy(other, fl->challenge, 8);
		other[0] ^= 1;
		CHECK(auth_ntlm_verify(&a, other, secret, &k) == AUTH_E_DENIED, "replay against another challenge denied");
	}

	/* Every truncation and every single-byte corruption parses safely. */
	{
		int truncated_ok = 1;
		for (long n = 0; n < alen; n++) {
			uint8_t *copy = malloc((size_t)n + 1);
			memcpy(copy, authmsg, (size_t)n);
			/* NT/EKS fields point near the end, so any cut refuses. */
			if (auth_ntlm_parse_authenticate(copy, (size_t)n, &a) != AUTH_E_MALFORMED)
				truncated_ok = 0;
			free(copy);
		}
		CHECK(truncated_ok, "every truncated AUTHENTICATE refused");
		for (long n = 0; n < 72; n++) {
			uint8_t copy[2048];
			memcpy(copy, authmsg, (size_t)alen);
			copy[n] ^= 0xFF;
			if (auth_ntlm_parse_authenticate(copy, (size_t)alen, &a) == AUTH_OK)
				auth_ntlm_verify(&a, fl->challenge, secret, &fl->keys);
		}
		CHECK(auth_ntlm_verify(&(struct auth_ntlm_authenticate){ .user = "alice" }, fl->challenge, secret,
		                       &fl->keys) == AUTH_E_DENIED, "empty response denied");
		auth_ntlm_parse_authenticate(authmsg, (size_t)alen, &a);
		auth_ntlm_verify(&a, fl->challenge, secret, &fl->keys);
	}
}

/* Fill rand/num/realm/targetname and the MAC from Authorization or Authentication-Info. */
static int vector_signature(const struct sip_msg *m, int from_server, struct auth_sig_fields *f, struct sip_str *mac)
{
	const struct sip_str *h = sip_msg_header(m, from_server ? "Authentication-Info" : "Authorization", 0);
	struct sip_str r, n, realm, tn;
	if (!h)
		return -1;
	*mac = sip_auth_param(*h, from_server ? "rspauth" : "response");
	if (mac->len == 0)
		return -1;
	sip_msg_sig_fields(m, f);
	r = sip_auth_param(*h, from_server ? "srand" : "crand");
	n = sip_auth_param(*h, from_server ? "snum" : "cnum");
	realm = sip_auth_param(*h, "realm");
	tn = sip_auth_param(*h, "targetname");
	f->rand = (struct auth_str){ r.p, r.len };
	f->num = (struct auth_str){ n.p, n.len };
	f->realm = (struct auth_str){ realm.p, realm.len };
	f->targetname = (struct auth_str){ tn.p, tn.len };
	return 0;
}

static void test_real_signatures(const struct flow *fl)
{
	int client_ok = 0, client_n = 0, server_ok = 0, server_n = 0, tamper_caught = 1;
	char str[4096], hex[33];

	if (!fl->have_keys)
		return;
	for (size_t i = 0; i < NVECTORS; i++) {
		struct sip_msg m;
		struct auth_sig_fields f;
		struct sip_str mac;
		int from_server = ntlm_vectors[i].from_server;
		size_t n;
		if (parse_vector(i, &m) < 0 || vector_signature(&m, from_server, &f, &mac) < 0)
			continue;
		n = auth_sig_string(&f, str, sizeof str);
		if (n >= sizeof str)
			continue;
		if (from_server) {
			server_n++;
			auth_sign(&fl->keys, 1, str, n, hex);
			server_ok += mac.len == 32 && memcmp(hex, mac.p, 32) == 0;
		} else {
			client_n++;
			client_ok += auth_check(&fl->keys, 0, str, n, mac.p, mac.len) == AUTH_OK;
		}
		str[n / 2] ^= 1;
		if (auth_check(&fl->keys, from_server, str, n, mac.p, mac.len) != AUTH_E_DENIED)
			tamper_caught = 0;
		/* The other side's keys never verify this side's MAC. */
		str[n / 2] ^= 1;
		if (auth_check(&fl->keys, !from_server, str, n, mac.p, mac.len) != AUTH_E_DENIED)
			tamper_caught = 0;
	}
	printf("vectors: %d/%d client responses, %d/%d server rspauth\n", client_ok, client_n, server_ok, server_n);
	CHECK(client_n >= 17 && client_ok == client_n, "every client response from the transcript verifies");
	CHECK(server_n >= 17 && server_ok == server_n, "every server rspauth from the transcript reproduced");
	CHECK(tamper_caught, "a flipped bit or the wrong direction is denied");
}

static void test_sig_string(void)
{
	struct auth_sig_fields f;
	char out[256], tiny[8];
	size_t n;
	memset(&f, 0, sizeof f);
	f.protocol = (struct auth_str){ "NTLM", 4 };
	f.call_id = (struct auth_str){ "abc", 3 };
	f.method = (struct auth_str){ "INFO", 4 };
	n = auth_sig_string(&f, out, sizeof out);
	CHECK(n == strlen(out) && strcmp(out, "<NTLM><><><><><abc><><INFO><><><><><><><>") == 0, "request string");
	f.status = 200;
	n = auth_sig_string(&f, out, sizeof out);
	CHECK(strcmp(out, "<NTLM><><><><><abc><><INFO><><><><><><><><200>") == 0, "response adds status");
	CHECK(auth_sig_string(&f, tiny, sizeof tiny) == n && strlen(tiny) == sizeof tiny - 1, "truncation reports length");
	{
		struct auth_keys k;
		memset(&k, 0, sizeof k);
		CHECK(auth_check(&k, 1, out, n, "00", 2) == AUTH_E_DENIED, "short MAC denied");
	}
}

static void test_round_trip(void)
{
	uint8_t chal[512], authmsg[1024], sc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, cc[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	uint8_t rsk[16] = { 0x42 }, hash[16];
	size_t clen, alen;
	struct auth_keys ck, sk;
	struct auth_ntlm_authenticate a;
	char hex[33];
	const char *text = "<NTLM><1><2>";

	auth_nt_hash("p\xc3\xa4ss", 5, hash);
	CHECK(auth_ntlm_make_challenge(sc, 1, "DOM", "PCHAT", "dom.example", "pchat.dom.example", chal, sizeof chal,
	                               &clen) == AUTH_OK, "make challenge");
	CHECK(auth_ntlm_client_authenticate(chal, clen, "bob@dom.example", "", hash, cc, rsk, 2, authmsg,
	                                    sizeof authmsg, &alen, &ck) == AUTH_OK, "client authenticates");
	CHECK(auth_ntlm_parse_authenticate(authmsg, alen, &a) == AUTH_OK && strcmp(a.user, "bob@dom.example") == 0 &&
	      a.domain[0] == '\0', "server parses the client's message");
	CHECK(auth_ntlm_verify(&a, sc, hash, &sk) == AUTH_OK && memcmp(&ck, &sk, sizeof ck) == 0,
	      "both sides derive the same keys");
	auth_sign(&ck, 0, text, strlen(text), hex);
	CHECK(auth_check(&sk, 0, text, strlen(text), hex, 32) == AUTH_OK, "client MAC verifies on the server");
	for (int i = 0; i < 32; i++)
		hex[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] + 32 : hex[i]);
	CHECK(auth_check(&sk, 0, text, strlen(text), hex, 32) == AUTH_OK, "lower-case hex accepted");
	auth_keys_wipe(&sk);
	CHECK(sk.server_sign[0] == 0 && sk.client_seal[15] == 0, "keys wiped");

	/* A challenge without KEY_EXCH is refused as sipe would. */
	put_le32(chal + 20, AUTH_SERVER_FLAGS & ~0x40000000u);
	CHECK(auth_ntlm_client_authenticate(chal, clen, "bob", "", hash, cc, rsk, 2, authmsg, sizeof authmsg, &alen,
	                                    &ck) == AUTH_E_FLAGS, "challenge without KEY_EXCH refused");
	CHECK(auth_ntlm_client_authenticate(chal, 20, "bob", "", hash, cc, rsk, 2, authmsg, sizeof authmsg, &alen,
	                                    &ck) == AUTH_E_MALFORMED, "short challenge refused");
	put_le32(chal + 20, AUTH_SERVER_FLAGS);
	CHECK(auth_ntlm_client_authenticate(chal, clen, "bob", "", hash, cc, rsk, 2, authmsg, 100, &alen, &ck) ==
	      AUTH_E_SPACE, "short output buffer: AUTH_E_SPACE");
}

static void test_garbage(void)
{
	uint8_t buf[512];
	struct auth_ntlm_authenticate a;
	unsigned seed = 12345;
	int accepted = 0;
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(rand_r(&seed) % sizeof buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rand_r(&seed);
		if (n >= 12) {
			memcpy(buf, ntlm_signature, 8);
			put_le32(buf + 8, 3);
		}
		accepted += auth_ntlm_parse_authenticate(buf, n, &a) == AUTH_OK;
	}
	CHECK(accepted == 0, "random AUTHENTICATE messages refused");
}

int main(void)
{
	struct flow fl;
	memset(&fl, 0, sizeof fl);
	test_nt_hash();
	test_real_handshake(&fl);
	test_real_signatures(&fl);
	test_sig_string();
	test_round_trip();
	test_garbage();
	return check_done("auth");
}
