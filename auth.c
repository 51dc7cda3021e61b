/*
 * auth.c - connectionless NTLMv2 (MS-NLMP) and MS-SIPAE message signing.
 *
 * Everything here works on caller-owned bytes with explicit lengths.  The
 * primitives (MD4, MD5, HMAC-MD5, RC4) come from mbedTLS; NTLM needs them
 * because the protocol is built on them, not because they are strong.
 */
#include "auth.h"

#include <mbedtls/constant_time.h>
#include <mbedtls/arc4.h>
#include <mbedtls/md.h>
#include <mbedtls/md4.h>
#include <mbedtls/md5.h>

#include <stdio.h>
#include <string.h>

#define NTLM_HEADER_CHALLENGE 56
#define NTLM_HEADER_AUTHENTICATE 64 /* the fields we read; sipe sends 72 */
#define NTLM_PROOF_LEN 16
#define NTLM_MIN_NT_LEN (NTLM_PROOF_LEN + 28)
#define NTLM_UTF16_MAX (2 * AUTH_NAME_MAX)

/* The flags sipe insists on in a CHALLENGE (sipe-client.md §4.1). */
#define NTLM_REQUIRED_FLAGS (0x00000001u | 0x00000200u | 0x00008000u | 0x00080000u | \
                             0x00800000u | 0x00000010u | 0x00000040u | 0x00100000u | \
                             0x40000000u)
/* What a connectionless client drops from the server's set:
 * TARGET_TYPE_DOMAIN, and 56-bit keys because 128-bit is set. */
#define NTLM_CLIENT_DROPS (0x00010000u | 0x80000000u)

#define SIGN_SEQ 100u

static const uint8_t ntlm_signature[8] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0 };

static void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

/* ---- UTF-8 <-> UTF-16LE, bounded ------------------------------------------------ */

/* Decode one UTF-8 code point from s[0..len); returns bytes used or 0 if invalid. */
static size_t utf8_decode(const uint8_t *s, size_t len, uint32_t *cp)
{
	size_t need;
	uint32_t c = s[0], min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xE0) == 0xC0) {
		need = 2, c &= 0x1F, min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		need = 3, c &= 0x0F, min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		need = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return need;
}

/* UTF-8 to UTF-16LE; upper_ascii folds a-z as NTLM does for the user name.
 * Returns bytes written, or -1 for invalid UTF-8 or no room. */
static long utf8_to_utf16le(const char *in, size_t len, int upper_ascii, uint8_t *out, size_t cap)
{
	const uint8_t *s = (const uint8_t *)in;
	size_t i = 0, o = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			return -1;
		i += n;
		if (upper_ascii && cp >= 'a' && cp <= 'z')
			cp -= 'a' - 'A';
		if (cp >= 0x10000) {
			if (cap - o < 4)
				return -1;
			cp -= 0x10000;
			put_le16(out + o, (uint16_t)(0xD800 | cp >> 10));
			put_le16(out + o + 2, (uint16_t)(0xDC00 | (cp & 0x3FF)));
			o += 4;
		} else {
			if (cap - o < 2)
				return -1;
			put_le16(out + o, (uint16_t)cp);
			o += 2;
		}
	}
	return (long)o;
}

/* UTF-16LE to NUL-terminated UTF-8; refuses odd lengths, lone surrogates,
 * NULs and anything that does not fit. */
static int utf16le_to_utf8(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	if (len % 2 || cap == 0)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		uint32_t cp = get_le16(in + i);
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return -1;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			uint32_t lo;
			if (i + 4 > len)
				return -1;
			lo = get_le16(in + i + 2);
			if (lo < 0xDC00 || lo > 0xDFFF)
				return -1;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			i += 2;
		}
		if (cp == 0)
			return -1;
		size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		if (cap - o <= n)
			return -1;
		if (n == 1) {
			out[o++] = (char)cp;
			continue;
		}
		static const uint8_t lead[5] = { 0, 0, 0xC0, 0xE0, 0xF0 };
		for (size_t k = n - 1; k > 0; k--) {
			out[o + k] = (char)(0x80 | (cp & 0x3F));
			cp >>= 6;
		}
		out[o] = (char)(lead[n] | cp);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

/* ---- primitives ---------------------------------------------------------------- */

static void hmac_md5(const uint8_t key[16], const uint8_t *a, size_t alen,
                     const uint8_t *b, size_t blen, uint8_t out[16])
{
	mbedtls_md_context_t ctx;
	mbedtls_md_init(&ctx);
	/* MD5 is compiled in and HMAC setup only allocates; failure means OOM,
	 * which leaves out zeroed and the comparison fails closed. */
	memset(out, 0, 16);
	if (mbedtls_md_setup(&ctx, mbedtls_md_info_from_type(MBEDTLS_MD_MD5), 1) == 0 &&
	    mbedtls_md_hmac_starts(&ctx, key, 16) == 0 &&
	    mbedtls_md_hmac_update(&ctx, a, alen) == 0 &&
	    (blen == 0 || mbedtls_md_hmac_update(&ctx, b, blen) == 0))
		mbedtls_md_hmac_finish(&ctx, out);
	mbedtls_md_free(&ctx);
}

static void rc4(const uint8_t key[16], const uint8_t *in, size_t len, uint8_t *out)
{
	mbedtls_arc4_context ctx;
	mbedtls_arc4_init(&ctx);
	mbedtls_arc4_setup(&ctx, key, 16);
	mbedtls_arc4_crypt(&ctx, len, in, out);
	mbedtls_arc4_free(&ctx);
}

static void md5_with_magic(const uint8_t key[16], const char *magic, uint8_t out[16])
{
	uint8_t buf[16 + 64];
	size_t mlen = strlen(magic) + 1; /* the constant includes its NUL */
	memcpy(buf, key, 16);
	memcpy(buf + 16, magic, mlen);
	mbedtls_md5_ret(buf, 16 + mlen, out);
	wipe(buf, sizeof buf);
}

/* ---- NTLM ---------------------------------------------------------------------- */

int auth_nt_hash(const char *password, size_t len, uint8_t out[AUTH_NT_HASH_LEN])
{
	uint8_t u16[4 * 256];
	long n = utf8_to_utf16le(password, len, 0, u16, sizeof u16);
	int rc = AUTH_E_MALFORMED;
	if (n >= 0 && (size_t)n <= 2 * 256) {
		mbedtls_md4_ret(u16, (size_t)n, out);
		rc = AUTH_OK;
	}
	wipe(u16, sizeof u16);
	return rc;
}

/* NTOWFv2 = HMAC_MD5(NT hash, UTF16LE(upper(user) || domain)). */
static int ntowf_v2(const uint8_t nt_hash[16], const char *user, const char *domain, uint8_t out[16])
{
	uint8_t id[2 * NTLM_UTF16_MAX];
	long ulen = utf8_to_utf16le(user, strlen(user), 1, id, NTLM_UTF16_MAX);
	long dlen = ulen < 0 ? -1 : utf8_to_utf16le(domain, strlen(domain), 0, id + ulen, NTLM_UTF16_MAX);
	if (dlen < 0)
		return AUTH_E_MALFORMED;
	hmac_md5(nt_hash, id, (size_t)(ulen + dlen), NULL, 0, out);
	return AUTH_OK;
}

/* The signing state of one direction (struct auth_mac_state). */
static void mac_prepare(const uint8_t sign[16], const uint8_t seal[16], struct auth_mac_state *m)
{
	uint8_t seal_in[20], seal_key[16], ipad[64], opad[64];

	memcpy(seal_in, seal, 16);
	put_le32(seal_in + 16, SIGN_SEQ);
	mbedtls_md5_ret(seal_in, sizeof seal_in, seal_key);
	mbedtls_arc4_init(&m->rc4);
	mbedtls_arc4_setup(&m->rc4, seal_key, 16);
	/* HMAC (RFC 2104) with a 16-byte key: the key zero-padded to a block. */
	memset(ipad, 0x36, sizeof ipad);
	memset(opad, 0x5c, sizeof opad);
	for (int i = 0; i < 16; i++) {
		ipad[i] ^= sign[i];
		opad[i] ^= sign[i];
	}
	mbedtls_md5_init(&m->inner);
	mbedtls_md5_init(&m->outer);
	mbedtls_md5_starts_ret(&m->inner);
	mbedtls_md5_update_ret(&m->inner, ipad, sizeof ipad);
	mbedtls_md5_starts_ret(&m->outer);
	mbedtls_md5_update_ret(&m->outer, opad, sizeof opad);
	wipe(seal_in, sizeof seal_in);
	wipe(seal_key, sizeof seal_key);
	wipe(ipad, sizeof ipad);
	wipe(opad, sizeof opad);
}

static void derive_keys(const uint8_t exported[16], struct auth_keys *k)
{
	md5_with_magic(exported, "session key to client-to-server signing key magic constant", k->client_sign);
	md5_with_magic(exported, "session key to server-to-client signing key magic constant", k->server_sign);
	md5_with_magic(exported, "session key to client-to-server sealing key magic constant", k->client_seal);
	md5_with_magic(exported, "session key to server-to-client sealing key magic constant", k->server_seal);
	mac_prepare(k->client_sign, k->client_seal, &k->client_mac);
	mac_prepare(k->server_sign, k->server_seal, &k->server_mac);
}

/* Writes one AV pair; returns the new offset or 0 when it does not fit. */
static size_t put_av(uint8_t *out, size_t cap, size_t off, uint16_t id, const char *name)
{
	long n;
	if (cap - off < 4)
		return 0;
	n = utf8_to_utf16le(name, strlen(name), 0, out + off + 4, cap - off - 4);
	if (n < 0 || n > 0xFFFF)
		return 0;
	put_le16(out + off, id);
	put_le16(out + off + 2, (uint16_t)n);
	return off + 4 + (size_t)n;
}

static void put_field(uint8_t *p, size_t len, size_t offset)
{
	put_le16(p, (uint16_t)len);
	put_le16(p + 2, (uint16_t)len);
	put_le32(p + 4, (uint32_t)offset);
}

int auth_ntlm_make_challenge(const uint8_t server_challenge[8], uint64_t filetime,
                             const char *nb_domain, const char *nb_computer,
                             const char *dns_domain, const char *dns_computer,
                             uint8_t *out, size_t cap, size_t *outlen)
{
	size_t off = NTLM_HEADER_CHALLENGE, info_start;
	long tn;
	/* Every length field is 16 bits: keeping the whole message under 64 KiB
	 * keeps each of them in range. */
	if (cap > 0xFFFF)
		cap = 0xFFFF;
	if (cap < NTLM_HEADER_CHALLENGE + 16)
		return AUTH_E_SPACE;
	memset(out, 0, NTLM_HEADER_CHALLENGE);
	tn = utf8_to_utf16le(nb_domain, strlen(nb_domain), 0, out + off, cap - off);
	if (tn < 0)
		return AUTH_E_SPACE;
	off += (size_t)tn;
	info_start = off;
	if (!(off = put_av(out, cap, off, 2, nb_domain)) || !(off = put_av(out, cap, off, 1, nb_computer)) ||
	    !(off = put_av(out, cap, off, 4, dns_domain)) || !(off = put_av(out, cap, off, 3, dns_computer)) ||
	    cap - off < 12 + 4)
		return AUTH_E_SPACE;
	put_le16(out + off, 7); /* MsvAvTimestamp */
	put_le16(out + off + 2, 8);
	put_le64(out + off + 4, filetime);
	off += 12;
	put_le32(out + off, 0); /* MsvAvEOL */
	off += 4;

	memcpy(out, ntlm_signature, 8);
	put_le32(out + 8, 2);
	put_field(out + 12, (size_t)tn, NTLM_HEADER_CHALLENGE);
	put_le32(out + 20, AUTH_SERVER_FLAGS);
	memcpy(out + 24, server_challenge, 8);
	put_field(out + 40, off - info_start, info_start);
	/* Version: 6.1 build 7601, NTLM revision 15, as Windows servers send. */
	out[48] = 6;
	out[49] = 1;
	put_le16(out + 50, 7601);
	out[55] = 15;
	*outlen = off;
	return AUTH_OK;
}

/* A {len, maxlen, offset} field of msg, checked against the message bounds. */
static int get_field(const uint8_t *msg, size_t len, size_t at, const uint8_t **p, size_t *flen)
{
	size_t n = get_le16(msg + at);
	size_t off = get_le32(msg + at + 4);
	if (off > len || n > len - off)
		return -1;
	*p = msg + off;
	*flen = n;
	return 0;
}

static int get_name(const uint8_t *msg, size_t len, size_t at, char *out)
{
	const uint8_t *p;
	size_t n;
	if (get_field(msg, len, at, &p, &n) < 0)
		return -1;
	if (n == 0) {
		out[0] = '\0';
		return 0;
	}
	return utf16le_to_utf8(p, n, out, AUTH_NAME_MAX);
}

int auth_ntlm_parse_authenticate(const uint8_t *msg, size_t len, struct auth_ntlm_authenticate *out)
{
	memset(out, 0, sizeof *out);
	if (!msg || len < NTLM_HEADER_AUTHENTICATE || memcmp(msg, ntlm_signature, 8) != 0 ||
	    get_le32(msg + 8) != 3)
		return AUTH_E_MALFORMED;
	if (get_field(msg, len, 20, &out->nt_response, &out->nt_len) < 0 || out->nt_len < NTLM_MIN_NT_LEN ||
	    get_field(msg, len, 52, &out->enc_session_key, &out->esk_len) < 0 || out->esk_len != 16 ||
	    get_name(msg, len, 28, out->domain) < 0 || get_name(msg, len, 36, out->user) < 0 ||
	    get_name(msg, len, 44, out->workstation) < 0 || out->user[0] == '\0') {
		memset(out, 0, sizeof *out);
		return AUTH_E_MALFORMED;
	}
	out->flags = get_le32(msg + 60);
	return AUTH_OK;
}

int auth_ntlm_verify(const struct auth_ntlm_authenticate *a, const uint8_t server_challenge[8],
                     const uint8_t nt_hash[AUTH_NT_HASH_LEN], struct auth_keys *keys)
{
	uint8_t ntowf[16], proof[16], base_key[16], exported[16];
	int rc = AUTH_E_DENIED;

	memset(keys, 0, sizeof *keys);
	if (a->nt_len < NTLM_MIN_NT_LEN || a->esk_len != 16 ||
	    ntowf_v2(nt_hash, a->user, a->domain, ntowf) != AUTH_OK)
		goto out;
	hmac_md5(ntowf, server_challenge, 8, a->nt_response + NTLM_PROOF_LEN,
	         a->nt_len - NTLM_PROOF_LEN, proof);
	if (!(mbedtls_ct_memcmp(proof, a->nt_response, NTLM_PROOF_LEN) == 0))
		goto out;
	hmac_md5(ntowf, a->nt_response, NTLM_PROOF_LEN, NULL, 0, base_key);
	rc4(base_key, a->enc_session_key, 16, exported);
	derive_keys(exported, keys);
	rc = AUTH_OK;
out:
	wipe(ntowf, sizeof ntowf);
	wipe(proof, sizeof proof);
	wipe(base_key, sizeof base_key);
	wipe(exported, sizeof exported);
	return rc;
}

/* HTTP NTLM (the web service): the connection-oriented exchange of browsers
 * and curl, where a client need not send an encrypted session key (no
 * KEY_EXCH) and nothing is signed afterwards, so only the NTLMv2 proof is
 * checked.  Same decoding and the same proof as above. */
int auth_ntlm_parse_authenticate_http(const uint8_t *msg, size_t len, struct auth_ntlm_authenticate *out)
{
	memset(out, 0, sizeof *out);
	if (!msg || len < NTLM_HEADER_AUTHENTICATE || memcmp(msg, ntlm_signature, 8) != 0 ||
	    get_le32(msg + 8) != 3)
		return AUTH_E_MALFORMED;
	if (get_field(msg, len, 20, &out->nt_response, &out->nt_len) < 0 || out->nt_len < NTLM_MIN_NT_LEN ||
	    get_field(msg, len, 52, &out->enc_session_key, &out->esk_len) < 0 ||
	    (out->esk_len != 0 && out->esk_len != 16) ||
	    get_name(msg, len, 28, out->domain) < 0 || get_name(msg, len, 36, out->user) < 0 ||
	    get_name(msg, len, 44, out->workstation) < 0 || out->user[0] == '\0') {
		memset(out, 0, sizeof *out);
		return AUTH_E_MALFORMED;
	}
	out->flags = get_le32(msg + 60);
	return AUTH_OK;
}

int auth_ntlm_verify_proof(const struct auth_ntlm_authenticate *a, const uint8_t server_challenge[8],
                           const uint8_t nt_hash[AUTH_NT_HASH_LEN])
{
	uint8_t ntowf[16], proof[16];
	int rc = AUTH_E_DENIED;

	if (a->nt_len < NTLM_MIN_NT_LEN || ntowf_v2(nt_hash, a->user, a->domain, ntowf) != AUTH_OK)
		goto out;
	hmac_md5(ntowf, server_challenge, 8, a->nt_response + NTLM_PROOF_LEN, a->nt_len - NTLM_PROOF_LEN, proof);
	if (mbedtls_ct_memcmp(proof, a->nt_response, NTLM_PROOF_LEN) == 0)
		rc = AUTH_OK;
out:
	wipe(ntowf, sizeof ntowf);
	wipe(proof, sizeof proof);
	return rc;
}

/* ---- client side (test client, load generator) ------------------------------------ */

struct ntlm_challenge {
	uint32_t flags;
	uint8_t server_challenge[8];
	const uint8_t *target_info;
	size_t target_info_len;
};

static int parse_challenge(const uint8_t *msg, size_t len, struct ntlm_challenge *c)
{
	if (len < 48 || memcmp(msg, ntlm_signature, 8) != 0 || get_le32(msg + 8) != 2)
		return AUTH_E_MALFORMED;
	c->flags = get_le32(msg + 20);
	memcpy(c->server_challenge, msg + 24, 8);
	if (get_field(msg, len, 40, &c->target_info, &c->target_info_len) < 0)
		return AUTH_E_MALFORMED;
	if ((c->flags & NTLM_REQUIRED_FLAGS) != NTLM_REQUIRED_FLAGS)
		return AUTH_E_FLAGS;
	return AUTH_OK;
}

/* Appends UTF-16LE of s at *off; returns -1 when it does not fit. */
static int put_payload_name(uint8_t *out, size_t cap, size_t *off, size_t field_at, const char *s)
{
	long n = utf8_to_utf16le(s, strlen(s), 0, out + *off, cap - *off);
	if (n < 0)
		return -1;
	put_field(out + field_at, (size_t)n, *off);
	*off += (size_t)n;
	return 0;
}

int auth_ntlm_client_authenticate(const uint8_t *challenge_msg, size_t challenge_len,
                                  const char *user, const char *domain,
                                  const uint8_t nt_hash[AUTH_NT_HASH_LEN],
                                  const uint8_t client_challenge[8],
                                  const uint8_t random_session_key[16],
                                  uint64_t filetime,
                                  uint8_t *out, size_t cap, size_t *outlen,
                                  struct auth_keys *keys)
{
	struct ntlm_challenge c;
	uint8_t ntowf[16], base_key[16];
	size_t off = 72, temp_len, nt_at, lm_at;
	int rc;

	memset(keys, 0, sizeof *keys);
	rc = parse_challenge(challenge_msg, challenge_len, &c);
	if (rc != AUTH_OK)
		return rc;
	if (ntowf_v2(nt_hash, user, domain, ntowf) != AUTH_OK)
		return AUTH_E_MALFORMED;
	temp_len = 28 + c.target_info_len + 4;
	if (cap > 0xFFFF)
		cap = 0xFFFF;
	if (cap < off + 24 + NTLM_PROOF_LEN + temp_len + 16) {
		rc = AUTH_E_SPACE;
		goto out;
	}
	memset(out, 0, off);
	memcpy(out, ntlm_signature, 8);
	put_le32(out + 8, 3);
	put_le32(out + 60, c.flags & ~NTLM_CLIENT_DROPS);

	if (put_payload_name(out, cap, &off, 28, domain) < 0 || put_payload_name(out, cap, &off, 36, user) < 0 ||
	    put_payload_name(out, cap, &off, 44, "PCHAT") < 0 ||
	    cap - off < 24 + NTLM_PROOF_LEN + temp_len + 16) {
		rc = AUTH_E_SPACE;
		goto out;
	}

	/* LMv2: HMAC(NTOWFv2, server || client challenge) || client challenge. */
	lm_at = off;
	hmac_md5(ntowf, c.server_challenge, 8, client_challenge, 8, out + lm_at);
	memcpy(out + lm_at + 16, client_challenge, 8);
	put_field(out + 12, 24, lm_at);
	off += 24;

	/* NTLMv2 response: proof || temp, temp = 0101 0000 0000 0000 ts cc 0000 info 0000. */
	nt_at = off;
	uint8_t *temp = out + nt_at + NTLM_PROOF_LEN;
	memset(temp, 0, temp_len);
	temp[0] = 1;
	temp[1] = 1;
	put_le64(temp + 8, filetime);
	memcpy(temp + 16, client_challenge, 8);
	memcpy(temp + 28, c.target_info, c.target_info_len);
	hmac_md5(ntowf, c.server_challenge, 8, temp, temp_len, out + nt_at);
	put_field(out + 20, NTLM_PROOF_LEN + temp_len, nt_at);
	off += NTLM_PROOF_LEN + temp_len;

	hmac_md5(ntowf, out + nt_at, NTLM_PROOF_LEN, NULL, 0, base_key);
	rc4(base_key, random_session_key, 16, out + off);
	put_field(out + 52, 16, off);
	off += 16;

	derive_keys(random_session_key, keys);
	*outlen = off;
	rc = AUTH_OK;
out:
	wipe(ntowf, sizeof ntowf);
	wipe(base_key, sizeof base_key);
	return rc;
}

/* ---- MS-SIPAE signatures -------------------------------------------------------- */

struct sig_writer {
	char *out;
	size_t cap, len;
};

static void sig_put(struct sig_writer *w, const char *p, size_t n)
{
	if (w->len < w->cap) {
		size_t room = w->cap - w->len;
		memcpy(w->out + w->len, p, n < room ? n : room);
	}
	w->len += n;
}

static void sig_field(struct sig_writer *w, struct auth_str s)
{
	sig_put(w, "<", 1);
	if (s.p)
		sig_put(w, s.p, s.len);
	sig_put(w, ">", 1);
}

size_t auth_sig_string(const struct auth_sig_fields *f, char *out, size_t cap)
{
	struct sig_writer w = { out, cap, 0 };
	const struct auth_str *fields[] = {
		&f->protocol, &f->rand, &f->num, &f->realm, &f->targetname, &f->call_id,
		&f->cseq_num, &f->method, &f->from_uri, &f->from_tag, &f->to_uri, &f->to_tag,
		&f->pai_sip, &f->pai_tel, &f->expires,
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		sig_field(&w, *fields[i]);
	if (f->status > 0) {
		char code[16];
		int n = snprintf(code, sizeof code, "%d", f->status);
		sig_field(&w, (struct auth_str){ code, (size_t)n });
	}
	if (cap > 0)
		out[w.len < cap ? w.len : cap - 1] = '\0';
	return w.len;
}

/* The 16-byte NTLM signature: LE32(1) || RC4(seal', HMAC(sign, seq || msg)[0..7]) || LE32(seq),
 * from the association's precomputed state (copies, so k stays const). */
static void sign_raw(const struct auth_keys *k, int from_server, const char *str, size_t len, uint8_t mac[16])
{
	const struct auth_mac_state *m = from_server ? &k->server_mac : &k->client_mac;
	mbedtls_md5_context md;
	mbedtls_arc4_context rc4;
	uint8_t seq[4], inner[16], digest[16];

	put_le32(seq, SIGN_SEQ);
	mbedtls_md5_init(&md);
	mbedtls_md5_clone(&md, &m->inner);
	mbedtls_md5_update_ret(&md, seq, 4);
	mbedtls_md5_update_ret(&md, (const uint8_t *)str, len);
	mbedtls_md5_finish_ret(&md, inner);
	mbedtls_md5_clone(&md, &m->outer);
	mbedtls_md5_update_ret(&md, inner, sizeof inner);
	mbedtls_md5_finish_ret(&md, digest);
	mbedtls_md5_free(&md);
	rc4 = m->rc4;
	put_le32(mac, 1);
	mbedtls_arc4_crypt(&rc4, 8, digest, mac + 4);
	put_le32(mac + 12, SIGN_SEQ);
	wipe(&rc4, sizeof rc4);
	wipe(inner, sizeof inner);
	wipe(digest, sizeof digest);
}

void auth_sign(const struct auth_keys *k, int from_server, const char *str, size_t len, char hex[33])
{
	static const char digits[] = "0123456789ABCDEF";
	uint8_t mac[16];
	sign_raw(k, from_server, str, len, mac);
	for (int i = 0; i < 16; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[32] = '\0';
}

int auth_check(const struct auth_keys *k, int from_server, const char *str, size_t len,
               const char *hex, size_t hexlen)
{
	char want[33];
	uint8_t diff = 0;
	if (!hex || hexlen != 32)
		return AUTH_E_DENIED;
	auth_sign(k, from_server, str, len, want);
	for (size_t i = 0; i < 32; i++) {
		/* Fold a-f to A-F without branching on the secret-derived side. */
		uint8_t c = (uint8_t)hex[i];
		c = (uint8_t)(c - ((c >= 'a' && c <= 'f') ? 32 : 0));
		diff |= c ^ (uint8_t)want[i];
	}
	return diff == 0 ? AUTH_OK : AUTH_E_DENIED;
}

void auth_keys_wipe(struct auth_keys *k)
{
	if (k)
		wipe(k, sizeof *k);
}
