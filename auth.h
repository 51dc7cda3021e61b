/*
 * auth.h - NTLM (MS-SIPAE connectionless NTLMv2) and message signing.
 *
 * auth.c depends on nothing else of pchat's: it turns bytes into bytes.
 * sip.c owns the SIP side (headers, base64, which message to sign) and calls
 * these functions with the pieces.  Every function takes explicit lengths and
 * never reads past them.  Key material lives in struct auth_keys, owned by
 * the caller (one per TLS connection); auth_keys_wipe() clears it.
 */
#ifndef PCHAT_AUTH_H
#define PCHAT_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/arc4.h>
#include <mbedtls/md5.h>

#define AUTH_NT_HASH_LEN 16
#define AUTH_NAME_MAX 256       /* bytes of UTF-8 for user, domain, workstation */

enum {
	AUTH_OK = 0,
	AUTH_E_MALFORMED = -1,  /* message too short, bad signature, bad offsets */
	AUTH_E_DENIED = -2,     /* proof or signature does not verify */
	AUTH_E_SPACE = -3,      /* output buffer too small */
	AUTH_E_FLAGS = -4       /* negotiate flags the protocol does not allow */
};

/* What signing with one direction's keys needs, computed once per
 * association: MS-SIPAE always uses sequence number 100, so the RC4 key
 * (MD5 of the seal key and the sequence number) and the HMAC-MD5 pads of the
 * sign key never change.  Each signature then costs two MD5 finishes and
 * eight RC4 bytes from a copied state. */
struct auth_mac_state {
	mbedtls_arc4_context rc4;               /* keyed, no byte used yet */
	mbedtls_md5_context inner, outer;       /* after the ipad / opad block */
};

/* The four per-association keys (MS-NLMP 3.4.5.2/3.4.5.3) and the signing
 * state derived from them. */
struct auth_keys {
	uint8_t client_sign[16], client_seal[16];
	uint8_t server_sign[16], server_seal[16];
	struct auth_mac_state client_mac, server_mac;
};

/* One decoded AUTHENTICATE_MESSAGE.  user/domain/workstation are UTF-8 copies
 * (NUL-terminated); nt_response and enc_session_key point into the message
 * passed to auth_ntlm_parse_authenticate and live as long as it does. */
struct auth_ntlm_authenticate {
	char user[AUTH_NAME_MAX];
	char domain[AUTH_NAME_MAX];
	char workstation[AUTH_NAME_MAX];
	const uint8_t *nt_response;
	size_t nt_len;
	const uint8_t *enc_session_key;
	size_t esk_len;
	uint32_t flags;
};

/* The fields of the MS-SIPAE signature string (version >= 3), each as sent;
 * an absent field has len 0.  status is 0 for a request, else the response code. */
struct auth_str { const char *p; size_t len; };
struct auth_sig_fields {
	struct auth_str protocol;   /* "NTLM" */
	struct auth_str rand, num, realm, targetname;
	struct auth_str call_id, cseq_num, method;
	struct auth_str from_uri, from_tag, to_uri, to_tag;
	struct auth_str pai_sip, pai_tel, expires;
	int status;
};

/* NT hash: MD4 of the UTF-16LE form of a UTF-8 password.  Returns AUTH_OK or
 * AUTH_E_MALFORMED for invalid UTF-8 or a password over 256 characters. */
int auth_nt_hash(const char *password, size_t len, uint8_t out[AUTH_NT_HASH_LEN]);

/* Build a CHALLENGE_MESSAGE (binary, not base64) into out (cap bytes).
 * flags: the negotiate flags sipe requires (see AUTH_SERVER_FLAGS).
 * nb_domain/dns_domain/nb_computer/dns_computer are ASCII/UTF-8 names for the
 * TargetInfo AV pairs; filetime is the MsvAvTimestamp (100 ns since 1601).
 * *outlen gets the length.  Returns AUTH_OK or AUTH_E_SPACE. */
#define AUTH_SERVER_FLAGS 0xE2998255u
int auth_ntlm_make_challenge(const uint8_t server_challenge[8], uint64_t filetime,
                             const char *nb_domain, const char *nb_computer,
                             const char *dns_domain, const char *dns_computer,
                             uint8_t *out, size_t cap, size_t *outlen);

/* Decode an AUTHENTICATE_MESSAGE.  Returns AUTH_OK or AUTH_E_MALFORMED
 * (short, wrong signature/type, field outside the message, bad UTF-16,
 * NT response shorter than 16+28 bytes, session key not 16 bytes). */
int auth_ntlm_parse_authenticate(const uint8_t *msg, size_t len,
                                 struct auth_ntlm_authenticate *out);

/* Check the NTLMv2 proof against the stored NT hash and derive the keys.
 * The proof is compared in constant time.  Returns AUTH_OK (keys filled) or
 * AUTH_E_DENIED (keys zeroed). */
int auth_ntlm_verify(const struct auth_ntlm_authenticate *a,
                     const uint8_t server_challenge[8],
                     const uint8_t nt_hash[AUTH_NT_HASH_LEN],
                     struct auth_keys *keys);

/* HTTP NTLM (web.c): decode an AUTHENTICATE_MESSAGE whose encrypted session
 * key may be absent (no KEY_EXCH, as browsers and curl send), and check only
 * its NTLMv2 proof (nothing is signed on HTTP).  AUTH_OK, AUTH_E_MALFORMED
 * or AUTH_E_DENIED, as above. */
int auth_ntlm_parse_authenticate_http(const uint8_t *msg, size_t len, struct auth_ntlm_authenticate *out);
int auth_ntlm_verify_proof(const struct auth_ntlm_authenticate *a, const uint8_t server_challenge[8],
                           const uint8_t nt_hash[AUTH_NT_HASH_LEN]);

/* Client side, for pchat's own test client and load generator: answer a
 * CHALLENGE_MESSAGE as sipe does (connectionless, KEY_EXCH).  user/domain are
 * UTF-8 ("alice@example.org" and "" or "alice" and "EXAMPLE").
 * client_challenge and random_session_key are the caller's random bytes.
 * Writes the AUTHENTICATE_MESSAGE into out and derives keys.
 * Returns AUTH_OK, AUTH_E_MALFORMED, AUTH_E_FLAGS or AUTH_E_SPACE. */
int auth_ntlm_client_authenticate(const uint8_t *challenge_msg, size_t challenge_len,
                                  const char *user, const char *domain,
                                  const uint8_t nt_hash[AUTH_NT_HASH_LEN],
                                  const uint8_t client_challenge[8],
                                  const uint8_t random_session_key[16],
                                  uint64_t filetime,
                                  uint8_t *out, size_t cap, size_t *outlen,
                                  struct auth_keys *keys);

/* Build the signature string "<NTLM><rand>...<expires>[<status>]" into out.
 * Returns the length it needs (excluding a NUL it always writes when cap > 0);
 * a return >= cap means out was too small and holds a truncated string. */
size_t auth_sig_string(const struct auth_sig_fields *f, char *out, size_t cap);

/* MS-SIPAE MAC over str (sequence number 100, as sipe): 32 upper-case hex
 * digits + NUL into hex.  from_server selects the server keys (messages pchat
 * sends) or the client keys (messages the client sends). */
void auth_sign(const struct auth_keys *k, int from_server,
               const char *str, size_t len, char hex[33]);

/* Verify a MAC (hex, case-insensitive, hexlen bytes) in constant time.
 * Returns AUTH_OK or AUTH_E_DENIED. */
int auth_check(const struct auth_keys *k, int from_server,
               const char *str, size_t len, const char *hex, size_t hexlen);

/* Zero key material (explicit_bzero). Safe on NULL. */
void auth_keys_wipe(struct auth_keys *k);

#endif
