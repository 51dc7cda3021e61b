/*
 * admin.c - see admin.h.  The admin commands open the same store as the
 * server (SQLite WAL allows both at once), so they are safe while it runs.
 * A running server notices within seconds when a user is deleted, disabled
 * or given a new password, and ends that user's sessions (sip_server.c).
 */
#include "admin.h"
#include "auth.h"
#include "base.h"
#include "buf.h"
#include "compliance.h"
#include "store.h"

#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_PASSWORD_MAX 256
#define USER_EVENT_MAX (4u << 20)       /* cap on the text of `user del`'s ADMIN event */

const char *admin_actor(char *buf, size_t len)
{
	const char *sudo = getenv("SUDO_USER"), *name = NULL;
	struct passwd *pw;
	size_t o = 0;

	/* Under sudo the person is SUDO_USER; otherwise the account running us. */
	if (geteuid() == 0 && sudo != NULL && sudo[0] != '\0')
		name = sudo;
	else if ((pw = getpwuid(getuid())) != NULL)
		name = pw->pw_name;
	if (len < 8)
		return "admin";
	o = (size_t)snprintf(buf, len, "admin:");
	for (const char *p = name ? name : ""; *p && o + 1 < len; p++)
		buf[o++] = (isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-') ? *p : '_';
	if (o == 6)
		o += (size_t)snprintf(buf + o, len - o, "uid%u", (unsigned)getuid());
	buf[o < len ? o : len - 1] = '\0';
	return buf;
}

/* Read one line without echo when stdin is a terminal. */
static int read_line(const char *prompt, int echo_off, char *out, size_t outlen)
{
	struct termios old, quiet;
	int restore = 0;
	size_t n;

	if (prompt) {
		fputs(prompt, stderr);
		fflush(stderr);
	}
	if (echo_off && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	if (fgets(out, (int)outlen, stdin) == NULL)
		out[0] = '\0';
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	n = strlen(out);
	if (n == outlen - 1 && out[n - 1] != '\n')
		return -1;      /* longer than we accept */
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return 0;
}

/* Characters (UTF-8 code points), not bytes, so a policy means the same in every script. */
static size_t password_chars(const char *pw)
{
	size_t n = 0;

	for (; *pw; pw++)
		if (((unsigned char)*pw & 0xC0) != 0x80)
			n++;
	return n;
}

static int get_password(const char *uri, int from_stdin, const struct config *cfg, char *pw, size_t pwlen)
{
	char again[ADMIN_PASSWORD_MAX + 2], prompt[STORE_URI_MAX + 32];

	if (from_stdin) {
		if (read_line(NULL, 0, pw, pwlen) < 0) {
			fprintf(stderr, "pchat: password longer than %d bytes\n", ADMIN_PASSWORD_MAX);
			return -1;
		}
	} else {
		if (!isatty(STDIN_FILENO)) {
			fprintf(stderr, "pchat: no terminal to ask for a password: use --password-stdin\n");
			return -1;
		}
		snprintf(prompt, sizeof prompt, "Password for %s: ", uri);
		if (read_line(prompt, 1, pw, pwlen) < 0 || read_line("Again: ", 1, again, sizeof again) < 0 ||
		    strcmp(pw, again) != 0) {
			explicit_bzero(again, sizeof again);
			fprintf(stderr, "pchat: the passwords differ (or are too long)\n");
			return -1;
		}
		explicit_bzero(again, sizeof again);
	}
	if (pw[0] == '\0') {
		fprintf(stderr, "pchat: empty password\n");
		return -1;
	}
	if (password_chars(pw) < cfg->min_password_length) {
		fprintf(stderr, "pchat: password too short: at least %llu characters ([auth] min_password_length)\n",
			(unsigned long long)cfg->min_password_length);
		return -1;
	}
	return 0;
}

static int user_print(void *arg, const struct store_user *u)
{
	(void)arg;
	printf("%s%s\n", u->uri, u->disabled ? "\tdisabled" : "");
	return 0;
}

/* The ADMIN event of a user command ("user add sip:..."), naming who ran it;
 * inside the caller's transaction. */
static int user_event(struct store *st, const struct config *cfg, const char *what, const char *uri)
{
	char text[STORE_URI_MAX + 32], actor[64];

	snprintf(text, sizeof text, "%s %s", what, uri);
	return compliance_record(st, cfg, "ADMIN", NULL, admin_actor(actor, sizeof actor), 0, text, strlen(text));
}

static int user_set_password(struct store *st, const struct config *cfg, const char *uri, int adding, int from_stdin)
{
	char pw[ADMIN_PASSWORD_MAX + 2];
	uint8_t hash[AUTH_NT_HASH_LEN];
	int rc;

	if (adding) {
		struct store_user u;

		/* Say "exists" before asking for a password that would be thrown away. */
		if (store_user_get(st, uri, &u) == STORE_OK) {
			fprintf(stderr, "pchat: user %s already exists (use 'user passwd')\n", uri);
			return 1;
		}
	}
	if (get_password(uri, from_stdin, cfg, pw, sizeof pw) < 0) {
		explicit_bzero(pw, sizeof pw);
		return 1;
	}
	rc = auth_nt_hash(pw, strlen(pw), hash);
	explicit_bzero(pw, sizeof pw);
	if (rc != AUTH_OK) {
		fprintf(stderr, "pchat: the password is not valid UTF-8 or is too long\n");
		return 1;
	}
	if ((rc = store_begin(st)) == STORE_OK) {
		rc = adding ? store_user_add(st, uri, hash) : store_user_set_hash(st, uri, hash);
		if (rc == STORE_OK)
			rc = user_event(st, cfg, adding ? "user add" : "user passwd", uri);
		rc = rc == STORE_OK ? store_commit(st) : (store_rollback(st), rc);
	}
	explicit_bzero(hash, sizeof hash);
	if (rc != STORE_OK) {
		fprintf(stderr, "pchat: %s: %s\n", uri, store_strerror(rc));
		return 1;
	}
	printf("%s %s\n", adding ? "added" : "password changed for", uri);
	return 0;
}

static int user_show(struct store *st, const char *uri)
{
	struct store_user u;
	char when[32];
	time_t t;
	struct tm tm;
	int rc = store_user_get(st, uri, &u);

	if (rc != STORE_OK) {
		fprintf(stderr, "pchat: %s: %s\n", uri, store_strerror(rc));
		return 1;
	}
	t = (time_t)(u.created_us / 1000000);
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("uri\t%s\nstatus\t%s\ncreated\t%s\n", u.uri, u.disabled ? "disabled" : "enabled", when);
	return 0;
}

/* user disable|enable: sign-in refused and sessions ended, or allowed again;
 * nothing else about the user changes. */
static int user_set_disabled(struct store *st, const struct config *cfg, const char *uri, int disabled)
{
	int rc = store_begin(st);

	if (rc == STORE_OK) {
		if ((rc = store_user_set_disabled(st, uri, disabled)) == STORE_OK)
			rc = user_event(st, cfg, disabled ? "user disable" : "user enable", uri);
		rc = rc == STORE_OK ? store_commit(st) : (store_rollback(st), rc);
	}

	if (rc != STORE_OK) {
		fprintf(stderr, "pchat: %s: %s\n", uri, store_strerror(rc));
		return 1;
	}
	printf("%s %s\n", disabled ? "disabled" : "enabled", uri);
	return 0;
}

/* The ADMIN event of `user del`: "user del URI member=ROOM ... follow=ROOM
 * invitation=ROOM allowed=CATEGORY creator=CATEGORY", what the account held
 * (allowed_kept=CATEGORY: an allowed list's last entry, not removed). */
static int held_role(void *arg, const struct store_room *r, int roles)
{
	if (roles & STORE_ROLE_MEMBER)
		admin_event_append(arg, "member", r->name);
	if (roles & STORE_ROLE_MANAGER)
		admin_event_append(arg, "manager", r->name);
	if (roles & STORE_ROLE_PRESENTER)
		admin_event_append(arg, "presenter", r->name);
	return 0;
}

static int held_follow(void *arg, const struct store_room *r, int64_t unread)
{
	(void)unread;
	admin_event_append(arg, "follow", r->name);
	return 0;
}

static int held_invitation(void *arg, const struct store_room *r, const char *inviter, int64_t created_us)
{
	(void)inviter;
	(void)created_us;
	admin_event_append(arg, "invitation", r->name);
	return 0;
}

struct held_lists {
	struct store *st;
	struct buf *text;
	const char *uri;
};

static int count_entry(void *arg, const char *uri)
{
	(void)uri;
	(*(int *)arg)++;
	return 0;
}

static int held_category(void *arg, const struct store_category *c)
{
	struct held_lists *h = arg;
	int entries = 0;

	/* The last entry of an allowed list stays (store_user_del): say so. */
	if (store_category_list_has(h->st, c->id, STORE_CAT_ALLOWED, h->uri) == 1 &&
	    store_category_list_each(h->st, c->id, STORE_CAT_ALLOWED, count_entry, &entries) == STORE_OK)
		admin_event_append(h->text, entries > 1 ? "allowed" : "allowed_kept", c->name);
	if (store_category_list_has(h->st, c->id, STORE_CAT_CREATOR, h->uri) == 1)
		admin_event_append(h->text, "creator", c->name);
	return 0;
}

/* Delete the user with everything the account held (store_user_del), in
 * one transaction with one ADMIN compliance event listing it. */
static int user_delete(struct store *st, const struct config *cfg, const char *uri)
{
	struct held_lists h = { st, NULL, uri };
	char actor[64];
	struct buf text;
	int rc;

	buf_init(&text, USER_EVENT_MAX);
	h.text = &text;
	if ((rc = store_begin(st)) != STORE_OK) {
		fprintf(stderr, "pchat: cannot start a change: %s\n", store_strerror(rc));
		buf_free(&text);
		return 1;
	}
	buf_printf(&text, "user del");
	admin_event_append(&text, NULL, uri);
	if ((rc = store_user_rooms(st, uri, held_role, &text)) != STORE_OK ||
	    (rc = store_follow_each(st, uri, held_follow, &text)) != STORE_OK ||
	    (rc = store_invite_each(st, uri, held_invitation, &text)) != STORE_OK ||
	    (rc = store_category_each(st, held_category, &h)) != STORE_OK)
		goto fail;
	if (buf_append(&text, "", 1) < 0) {     /* NUL-terminates; fails if any append failed */
		rc = STORE_E_INVALID;
		goto fail;
	}
	if ((rc = store_user_del(st, uri)) != STORE_OK ||
	    (rc = compliance_record(st, cfg, "ADMIN", NULL, admin_actor(actor, sizeof actor), 0,
	                            (const char *)buf_head(&text), text.len - 1)) != STORE_OK ||
	    (rc = store_commit(st)) != STORE_OK)
		goto fail;
	buf_free(&text);
	printf("deleted %s\n", uri);
	return 0;
fail:
	fprintf(stderr, "pchat: %s: %s\n", uri, rc == STORE_E_INVALID ? "event text too long" : store_strerror(rc));
	store_rollback(st);     /* a no-op when SQLite already rolled back */
	buf_free(&text);
	return 1;
}

/* ---- user import: USER,NTHASH lines, all or nothing ---------------------- */

struct import_user {
	char uri[STORE_URI_MAX];
	uint8_t hash[AUTH_NT_HASH_LEN];
	unsigned line;
};

static int hex_digit(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* 32 hex digits, exactly, into 16 bytes. */
static int parse_nt_hash(const char *text, size_t len, uint8_t out[AUTH_NT_HASH_LEN])
{
	if (len != 2 * AUTH_NT_HASH_LEN)
		return -1;
	for (size_t i = 0; i < AUTH_NT_HASH_LEN; i++) {
		int hi = hex_digit((unsigned char)text[2 * i]), lo = hex_digit((unsigned char)text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int import_by_uri(const void *a, const void *b)
{
	const struct import_user *x = a, *y = b;
	int c = strcmp(x->uri, y->uri);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Reads every line of f into *users; 0, or -1 after saying which line is bad. */
static int import_read(FILE *f, const char *name, const struct config *cfg, int passwords, struct import_user **users,
                       size_t *n)
{
	char line[1024], err[256];
	size_t cap = 0;
	unsigned lineno = 0;

	while (fgets(line, sizeof line, f) != NULL) {
		size_t len = strlen(line), ulen;
		char *p = line, *comma;
		struct import_user *u;

		lineno++;
		if (len == sizeof line - 1 && line[len - 1] != '\n') {
			fprintf(stderr, "pchat: %s:%u: line too long\n", name, lineno);
			return -1;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if ((comma = strchr(p, ',')) == NULL) {
			fprintf(stderr, "pchat: %s:%u: expected USER,NTHASH\n", name, lineno);
			return -1;
		}
		*comma = '\0';
		ulen = strlen(comma + 1);
		if (array_reserve(users, &cap, *n, sizeof **users, 64) < 0) {
			fprintf(stderr, "pchat: out of memory\n");
			return -1;
		}
		u = &(*users)[*n];
		u->line = lineno;
		if (admin_user_uri(p, cfg->domain, u->uri, sizeof u->uri, err, sizeof err) < 0) {
			fprintf(stderr, "pchat: %s:%u: %s\n", name, lineno, err);
			return -1;
		}
		if (passwords) {
			/* USER,PASSWORD: the policy applies as for `user add`; the
			 * password leaves memory as soon as it is hashed. */
			int bad = password_chars(comma + 1) < cfg->min_password_length ? 1 :
			          auth_nt_hash(comma + 1, ulen, u->hash) != AUTH_OK ? 2 : 0;

			explicit_bzero(line, sizeof line);
			if (bad) {
				fprintf(stderr, "pchat: %s:%u: %s\n", name, lineno, bad == 1 ?
				        "password too short ([auth] min_password_length)" : "the password is not valid UTF-8 or is too long");
				return -1;
			}
		} else if (parse_nt_hash(comma + 1, ulen, u->hash) < 0) {
			fprintf(stderr, "pchat: %s:%u: the NT hash must be 32 hex digits\n", name, lineno);
			return -1;
		}
		(*n)++;
	}
	if (ferror(f)) {
		fprintf(stderr, "pchat: %s: read error\n", name);
		return -1;
	}
	return 0;
}

/* Every user of the file added in one transaction with one ADMIN event, or
 * none: a bad line, a user named twice or one that exists refuses it all. */
static int user_import(struct store *st, const struct config *cfg, const char *file, int passwords)
{
	struct import_user *users = NULL;
	struct store_user existing;
	struct buf text;
	char actor[64];
	size_t n = 0;
	int from_stdin = strcmp(file, "-") == 0, rc = 1, src;
	FILE *f = from_stdin ? stdin : fopen(file, "r");

	buf_init(&text, USER_EVENT_MAX);
	if (f == NULL) {
		fprintf(stderr, "pchat: %s: cannot open\n", file);
		goto out;
	}
	if (import_read(f, from_stdin ? "stdin" : file, cfg, passwords, &users, &n) < 0)
		goto out;
	if (n == 0) {
		fprintf(stderr, "pchat: %s: no users to import\n", file);
		goto out;
	}
	/* Sorted by name, a duplicate sits next to its first line. */
	qsort(users, n, sizeof *users, import_by_uri);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(users[i].uri, users[i - 1].uri) == 0) {
			fprintf(stderr, "pchat: line %u: %s already named on line %u; nothing imported\n", users[i].line,
			        users[i].uri, users[i - 1].line);
			goto out;
		}
		if (store_user_get(st, users[i].uri, &existing) == STORE_OK) {
			fprintf(stderr, "pchat: line %u: user %s already exists; nothing imported\n", users[i].line,
			        users[i].uri);
			goto out;
		}
	}
	buf_printf(&text, "user import %zu users:", n);
	for (size_t i = 0; i < n; i++)
		buf_printf(&text, " %s", users[i].uri);
	if (buf_append(&text, "", 1) < 0) {     /* NUL-terminates; fails if any append failed */
		fprintf(stderr, "pchat: too many users for one import\n");
		goto out;
	}
	if ((src = store_begin(st)) == STORE_OK) {
		for (size_t i = 0; i < n && src == STORE_OK; i++)
			src = store_user_add(st, users[i].uri, users[i].hash);
		if (src == STORE_OK)
			src = compliance_record(st, cfg, "ADMIN", NULL, admin_actor(actor, sizeof actor), 0,
			                        (const char *)buf_head(&text), text.len - 1);
		src = src == STORE_OK ? store_commit(st) : (store_rollback(st), src);
	}
	if (src != STORE_OK) {
		fprintf(stderr, "pchat: import: %s; nothing imported\n", store_strerror(src));
		goto out;
	}
	printf("imported %zu users\n", n);
	rc = 0;
out:
	if (f != NULL && !from_stdin)
		fclose(f);
	if (users != NULL)
		explicit_bzero(users, n * sizeof *users);
	free(users);
	buf_free(&text);
	return rc;
}

int admin_user(const struct config *cfg, int argc, char **argv)
{
	char uri[STORE_URI_MAX], err[256];
	struct store *st = NULL;
	const char *verb = argc > 1 ? argv[1] : "";
	int from_stdin = 0, rc = 1;

	if (argc == 4 && strcmp(argv[3], "--password-stdin") == 0)
		from_stdin = 1;
	if (!((strcmp(verb, "list") == 0 && argc == 2) ||
	      ((!strcmp(verb, "add") || !strcmp(verb, "passwd")) && (argc == 3 || from_stdin)) ||
	      ((!strcmp(verb, "del") || !strcmp(verb, "show") || !strcmp(verb, "disable") ||
	        !strcmp(verb, "enable") || !strcmp(verb, "import")) && argc == 3) ||
	      (!strcmp(verb, "import") && argc == 4 && !strcmp(argv[3], "--passwords")))) {
		if (argc > 1 && strcmp(verb, "add") && strcmp(verb, "passwd") && strcmp(verb, "del") && strcmp(verb, "show") &&
		    strcmp(verb, "disable") && strcmp(verb, "enable") && strcmp(verb, "list") && strcmp(verb, "import"))
			fprintf(stderr, "pchat: unknown user command '%s'\n", verb);
		return 2;       /* the caller prints the usage */
	}
	if (argc >= 3 && strcmp(verb, "import") != 0 && admin_user_uri(argv[2], cfg->domain, uri, sizeof uri, err, sizeof err) < 0) {
		fprintf(stderr, "pchat: %s\n", err);
		return 1;
	}
	if (store_open(&st, cfg->store_path, err, sizeof err) != STORE_OK) {
		fprintf(stderr, "pchat: %s\n", err);
		return 1;
	}
	if (!strcmp(verb, "list")) {
		rc = store_user_each(st, user_print, NULL) == STORE_OK ? 0 : 1;
	} else if (!strcmp(verb, "add") || !strcmp(verb, "passwd")) {
		rc = user_set_password(st, cfg, uri, verb[0] == 'a', from_stdin);
	} else if (!strcmp(verb, "import")) {
		rc = user_import(st, cfg, argv[2], argc == 4);
	} else if (!strcmp(verb, "show")) {
		rc = user_show(st, uri);
	} else if (!strcmp(verb, "disable") || !strcmp(verb, "enable")) {
		rc = user_set_disabled(st, cfg, uri, verb[0] == 'd');
	} else {
		rc = user_delete(st, cfg, uri);
	}
	store_close(st);
	return rc;
}

int admin_open_store(const struct config *cfg, struct store **st)
{
	char err[512];

	if (store_open(st, cfg->store_path, err, sizeof err) != STORE_OK) {
		fprintf(stderr, "pchat: %s\n", err);
		return 1;
	}
	return 0;
}
