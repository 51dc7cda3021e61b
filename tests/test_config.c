/*
 * test_config.c - the strict ini loader: every error names FILE:LINE, paths
 * resolve against the ini's folder, defaults hold.
 */
#include "../base.c"
#include "../config.c"
#include "../log.c"
#include "check.h"

struct config_case {
	int line;
	const char *ini;
	const char *want_err;   /* substring of the error, or NULL for success */
};

static const struct config_case cases[] = {
	{ __LINE__, "", NULL },
	{ __LINE__, "[server]\ndomain = corp.example\n", NULL },
	{ __LINE__, "[server]\nnope = 1\n", "t.ini:2: unknown key \"nope\" in [server]" },
	{ __LINE__, "[bogus]\nx = 1\n", "t.ini:2: unknown section [bogus]" },
	{ __LINE__, "[compliance]\nrun_interval = 0\n", "t.ini:2: compliance.run_interval: expected a whole number from 1 to 2592000" },
	{ __LINE__, "[compliance]\nrun_interval = 2592001\n", "t.ini:2" },
	{ __LINE__, "[compliance]\nrun_interval = 2592000\n", NULL },
	{ __LINE__, "[compliance]\nrun_interval = -5\n", "t.ini:2" },
	{ __LINE__, "[compliance]\nrun_interval = 10s\n", "t.ini:2" },
	{ __LINE__, "[compliance]\n\n\nenabled = maybe\n", "t.ini:4: compliance.enabled: expected true or false" },
	{ __LINE__, "[compliance]\nenabled = no\n", NULL },
	{ __LINE__, "[server]\nlisten = 5061\n", "t.ini:2: server.listen: expected HOST:PORT" },
	{ __LINE__, "[server]\nlisten = 0.0.0.0:70000\n", "t.ini:2" },
	{ __LINE__, "[server]\nlisten = [::1]:5061\n", NULL },
	{ __LINE__, "[server]\nlisten = localhost:5061\n", "t.ini:2: server.listen: \"localhost\" is not a numeric address" },
	{ __LINE__, "[files]\nlisten = chat.example.org:8443\n", "t.ini:2: files.listen: \"chat.example.org\" is not a numeric" },
	{ __LINE__, "[server]\nlisten = ::1:5061\n", "without brackets: write [::1]:PORT" },
	{ __LINE__, "[server]\nlisten = [::g]:5061\n", "\"::g\" is not an IPv6 address" },
	{ __LINE__, "[server]\nlisten = [10.0.0.1]:5061\n", "is not an IPv6 address" },
	{ __LINE__, "[server]\nlisten = 10.0.0.256:5061\n", "is not a numeric address" },
	{ __LINE__, "[server]\nlisten = [::]:5061\n", NULL },
	{ __LINE__, "[server]\nlisten = 0.0.0.0:8443\n", "are the same port" },
	{ __LINE__, "[server]\nlisten = 127.0.0.1:5061\n[files]\nlisten = 0.0.0.0:5061\n", "are the same port" },
	{ __LINE__, "[server]\nlisten = [::]:5061\n[files]\nlisten = 127.0.0.1:5061\n", "are the same port" },
	{ __LINE__, "[server]\nlisten = 127.0.0.1:5061\n[files]\nlisten = 127.0.0.2:5061\n", NULL },
	{ __LINE__, "[server]\nlisten = [::1]:8443\n", NULL },
	{ __LINE__, "[server]\nlisten = 0.0.0.0:8443\n[files]\nenabled = false\n", NULL },
	{ __LINE__, "[server]\nlisten = 127.0.0.1:0\n[files]\nlisten = 127.0.0.1:0\n", NULL },
	{ __LINE__, "[server]\nlog_level = loud\n", "expected one of error|warn|info|debug" },
	{ __LINE__, "[server]\ndomain = bad domain\n", "server.domain \"bad domain\" may hold only" },
	{ __LINE__, "[server]\ndomain = \n", "server.domain is empty" },
	{ __LINE__, "[server]\nlookup_uri = ocschat@example.org\n", "must start with sip:" },
	{ __LINE__, "this is not ini\n", "t.ini:1: syntax error" },
	{ __LINE__, "[server]\ndomain = a.b\n[limits]\nmax_body_bytes = 16777216\n", "max_input_bytes" },
	{ __LINE__, "[limits]\nmax_headers = 7\n", "t.ini:2: limits.max_headers" },
	{ __LINE__, "[auth]\nmode = none\n", NULL },
	{ __LINE__, "[auth]\nmode = kerberos\n", "expected one of ntlm|none" },
	{ __LINE__, "[store]\npath = \n", "t.ini:2: store.path: empty path" },
	{ __LINE__, "[server]\ndomain = x.org\nnope = 1\nalso = 2\n", "t.ini:3: unknown key \"nope\"" },
};

int main(void)
{
	struct config c;
	char err[600], desc[300];
	char host[64];
	uint16_t port;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = config_load_string(&c, cases[i].ini, "t.ini", "/etc/pchat", err, sizeof err);

		if (cases[i].want_err == NULL) {
			snprintf(desc, sizeof desc, "config-1.%zu (line %d) loads", i + 1, cases[i].line);
			if (!CHECK(rc == 0, desc))
				printf("#   error was: %s\n", err);
		} else {
			snprintf(desc, sizeof desc, "config-1.%zu (line %d) error contains \"%s\"", i + 1, cases[i].line, cases[i].want_err);
			if (!CHECK(rc < 0 && strstr(err, cases[i].want_err) != NULL, desc))
				printf("#   error was: %s\n", rc < 0 ? err : "(none)");
		}
	}
	CHECK(config_load_string(&c, "", "t.ini", "/etc/pchat", err, sizeof err) == 0, "config-2.1 defaults load");
	CHECK(strcmp(c.store_path, "/etc/pchat/pchat.db") == 0, "config-2.2 relative store path resolves against the ini folder");
	CHECK(strcmp(c.cert, "/etc/pchat/pchat.crt") == 0 && strcmp(c.key, "/etc/pchat/pchat.key") == 0, "config-2.3 cert and key beside the ini");
	CHECK(strcmp(c.output_dir, "/etc/pchat/compliance") == 0, "config-2.4 output_dir beside the ini");
	CHECK(strcmp(c.listen, "0.0.0.0:5061") == 0 && c.run_interval == 900 && c.compliance_enabled == 1, "config-2.5 design defaults");
	CHECK(strcmp(c.lookup_uri, "sip:ocschat@example.org") == 0 && strcmp(c.channel_uri, "sip:pchat@example.org") == 0,
	      "config-2.6 lookup and channel URIs derive from the domain");
	CHECK(config_load_string(&c, "[store]\npath = /var/lib/pchat/p.db\n", "t.ini", "/etc/pchat", err, sizeof err) == 0 &&
	      strcmp(c.store_path, "/var/lib/pchat/p.db") == 0, "config-2.7 absolute path kept");
	CHECK(config_load(&c, "/nonexistent/pchat.ini", err, sizeof err) < 0 && strstr(err, "/nonexistent/pchat.ini: cannot open"),
	      "config-2.8 missing file: clear error");
	CHECK(config_load_string(&c, "", "t.ini", "/etc/pchat", err, sizeof err) == 0 && c.log_level_id == LOG_INFO &&
	      c.auth_mode_id == CONFIG_AUTH_NTLM && c.compliance_format_id == CONFIG_FORMAT_LYNC,
	      "config-2.11 choice-typed keys are enums at load: the defaults");
	CHECK(config_load_string(&c, "[server]\nlog_level = debug\n[auth]\nmode = none\n[compliance]\nformat = actiance\n",
	                         "t.ini", "/etc/pchat", err, sizeof err) == 0 && c.log_level_id == LOG_DEBUG &&
	      c.auth_mode_id == CONFIG_AUTH_NONE && c.compliance_format_id == CONFIG_FORMAT_ACTIANCE &&
	      strcmp(c.auth_mode, "none") == 0, "config-2.12 choice-typed keys are enums at load: each word its code");
	{
		struct config cur, next;

		CHECK(config_load_string(&cur, "[server]\nlog_level = warn\n", "t.ini", "/etc/pchat", err, sizeof err) == 0 &&
		      config_load_string(&next, "[server]\nlog_level = error\n", "t.ini", "/etc/pchat", err, sizeof err) == 0 &&
		      config_apply_live(&cur, &next, err, sizeof err) == 0 && cur.log_level_id == LOG_ERROR &&
		      strcmp(cur.log_level, "error") == 0, "config-2.13 a reload carries a live choice's code with its word");
	}
	CHECK(config_listen_split("127.0.0.1:0", host, sizeof host, &port) == 0 && port == 0 && !strcmp(host, "127.0.0.1"),
	      "config-2.9 listen split");
	CHECK(config_listen_split("[::1]:5061", host, sizeof host, &port) == 0 && port == 5061 && !strcmp(host, "::1"),
	      "config-2.10 IPv6 listen split");
	{
		/* The shipped pchat.ini must load, and document every key. */
		FILE *f = fopen("pchat.ini", "r");
		static char text[65536];
		size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
		int all = 1;

		if (f)
			fclose(f);
		text[n] = '\0';
		CHECK(n > 0 && config_load(&c, "pchat.ini", err, sizeof err) == 0, "config-3.1 shipped pchat.ini loads");
		for (size_t i = 0; i < CONFIG_NKEYS; i++) {
			char key[100];

			const char *def = config_keys[i].def;

			snprintf(key, sizeof key, "\n%s =%s%s\n", config_keys[i].name, *def ? " " : "", def);
			if (strstr(text, key) == NULL) {
				{
					printf("#   pchat.ini lacks \"%s = %s\"\n", config_keys[i].name, config_keys[i].def);
					all = 0;
				}
			}
		}
		CHECK(all, "config-3.2 pchat.ini documents every key with its default");
	}
	return check_done("config");
}
