/*
 * user_uri.c - see user_uri.h.
 */
#include "user_uri.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

static int uri_char_ok(char ch, int in_domain)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-')
		return 1;
	return !in_domain && (ch == '_' || ch == '+');
}

int admin_user_uri(const char *user, const char *domain, char *out, size_t outlen,
                   char *err, size_t errlen)
{
	char tmp[STORE_URI_MAX];
	const char *at;
	int n;

	if (strncmp(user, "sip:", 4) == 0)
		user += 4;
	at = strchr(user, '@');
	n = at ? snprintf(tmp, sizeof tmp, "%s", user) : snprintf(tmp, sizeof tmp, "%s@%s", user, domain);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		snprintf(err, errlen, "user name too long");
		return -1;
	}
	at = strchr(tmp, '@');
	if (at == tmp || at[1] == '\0' || strchr(at + 1, '@')) {
		snprintf(err, errlen, "\"%s\" is not a user name (expected alice, alice@example.org or sip:alice@example.org)", user);
		return -1;
	}
	for (char *p = tmp; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
		if (*p != '@' && !uri_char_ok(*p, p > at)) {
			snprintf(err, errlen, "\"%s\": user names may hold only letters, digits and . - _ +", user);
			return -1;
		}
	}
	n = snprintf(out, outlen, "sip:%s", tmp);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "user name too long");
		return -1;
	}
	return 0;
}
