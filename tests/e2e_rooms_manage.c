/*
 * e2e_rooms_manage.c - where Lync clients find the room-management page,
 * against a real ./pchat over real TLS: the two persistentChatConfiguration
 * properties of in-band provisioning (PersistentChatWebManagerUriInt and
 * ...Ext, [web] external_url, escaped as XML text) and getserverinfo's
 * roomManagementUrl.  The rules themselves are tests/test_rooms_manage.c.
 * Usage: e2e_rooms_manage PCHAT_BINARY
 */
#include "check.h"
#include "tchat.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static struct tserver srv;

static int body_has(const struct tclient *t, const char *needle)
{
	return t->msg.body.len && memmem(t->msg.body.p, t->msg.body.len, needle, strlen(needle)) != NULL;
}

/* The value of the property in the provisioning body, into out. */
static int property(const struct tclient *t, const char *name, char *out, size_t outlen)
{
	char open[128];
	const char *p, *e, *end = t->msg.body.p + t->msg.body.len;

	snprintf(open, sizeof open, "<property name=\"%s\">", name);
	if (t->msg.body.len == 0 || (p = memmem(t->msg.body.p, t->msg.body.len, open, strlen(open))) == NULL)
		return -1;
	p += strlen(open);
	if ((e = memmem(p, (size_t)(end - p), "</property>", 11)) == NULL || (size_t)(e - p) >= outlen)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return 0;
}

static void provisioning(const char *want_ext, const char *label)
{
	struct tclient t;
	char in[512] = "", ext[512] = "", want[600];

	CHECK(tclient_connect(&t, srv.port) == 0 && tclient_register(&t, "sip:alice@example.org", NULL, NULL, "pw") == 200 &&
	      tclient_subscribe_provisioning(&t) == 200, "rmweb setup: sign in and subscribe to provisioning");
	CHECK(property(&t, "PersistentChatWebManagerUriInt", in, sizeof in) == 0 && strncmp(in, "https://127.0.0.1:", 18) == 0 &&
	      strstr(in, "/PersistentChat/RM/") && in[strlen(in) - 1] == '/',
	      "rmweb-1.1 provisioning names the page at the HTTPS listener, /PersistentChat/RM/");
	snprintf(want, sizeof want, "%s", want_ext ? want_ext : in);
	CHECK(property(&t, "PersistentChatWebManagerUriExt", ext, sizeof ext) == 0 && strcmp(ext, want) == 0, label);
	CHECK(body_has(&t, "<property name=\"EnablePersistentChat\">true</property>"), "rmweb-1.3 the rest is still there");
	tclient_close(&t);
}

static void server_info(void)
{
	static struct tuser alice = { .name = "alice" };

	CHECK(tchat_sign_in(&alice) == 0, "rmweb setup: channel");
	tchat_xccos(&alice, "<cmd id=\"cmd:getserverinfo\" seqid=\"1\"><data><sib domain=\"example.org\" infoType=\"123\"/></data></cmd>");
	CHECK(tchat_has(&alice.in, "roomManagementUrl=\"https://127.0.0.1:") && tchat_has(&alice.in, "/PersistentChat/RM/\""),
	      "rmweb-2.1 getserverinfo carries roomManagementUrl");
	tchat_sign_out(&alice);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "./pchat";
	char out[256];

	signal(SIGPIPE, SIG_IGN);
	tchat_use(&srv);
	if (!CHECK(tserver_start(&srv, bin, "") == 0, "rmweb-0 server starts")) {
		tserver_cleanup(&srv);
		return check_done("e2e_rooms_manage");
	}
	tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", "alice", "--password-stdin", NULL);
	provisioning(NULL, "rmweb-1.2 the external address is the internal one by default");
	server_info();
	tserver_stop(&srv);
	tserver_cleanup(&srv);

	if (!CHECK(tserver_start(&srv, bin, "[web]\nexternal_url = https://chat.example.org/PersistentChat/RM/?a=1&b=<2>\n") == 0,
	           "rmweb-0 server starts with [web] external_url")) {
		tserver_cleanup(&srv);
		return check_done("e2e_rooms_manage");
	}
	tserver_cli(&srv, "pw\n", out, sizeof out, "user", "add", "alice", "--password-stdin", NULL);
	provisioning("https://chat.example.org/PersistentChat/RM/?a=1&amp;b=&lt;2&gt;",
	             "rmweb-1.4 [web] external_url is the external address, escaped as XML text");
	tserver_stop(&srv);
	tserver_cleanup(&srv);
	return check_done("e2e_rooms_manage");
}
