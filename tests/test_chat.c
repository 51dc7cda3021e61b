/*
 * test_chat.c - the chat service without SIP or TLS (chat_fixture.h): the
 * real command handlers driven through xccos_callbacks with envelopes as
 * pidgin-sipe and Lync send them, over the whole access matrix: privacy
 * (open, closed, secret) x role (none, member, manager, presenter) x the
 * category's wall (none, allowed list with or without the user, denied
 * list) x room type (normal, auditorium) x command (chansrch, join,
 * bccontext, grpchat, part, getinv, getassociations, getfutok).  A room the
 * user may not see must answer exactly like a missing room, and no reply
 * or notice may ever name it.
 */
#include "chat_fixture.h"
#include "check.h"

static const char *const missing_guid = "00000000-1111-4222-8333-444444444444";

/* The reply from "<resp" on (what does not depend on envelope numbering). */
static const char *resp_of(const char *reply)
{
	const char *p = strstr(reply, "<resp");

	return p ? p : "";
}

static int matrix_cases;

#define MCHECK(cond, ...)                                                                          \
	do {                                                                                       \
		char what_[256];                                                                   \
		snprintf(what_, sizeof what_, __VA_ARGS__);                                        \
		matrix_cases++;                                                                    \
		CHECK(cond, what_);                                                                \
	} while (0)

static void one_cell(struct fx *f, struct fx_room *fr, int u, int with_roles)
{
	int roles = with_roles ? fx_user_roles[u] : 0;
	/* with_roles: every room has bob as a member, else none has members. */
	int want = fx_expect_access(fr->wall, fr->privacy, roles, u, with_roles);
	int may_post = fr->type == STORE_ROOM_NORMAL || (roles & (STORE_ROLE_MANAGER | STORE_ROLE_PRESENTER));
	const char *g = fr->r.guid;
	struct sip_dialog *d = fx_dialog(f, u, SIP_DIALOG_CHANNEL), *lookup = fx_dialog(f, u, SIP_DIALOG_LOOKUP);
	char text[64], missing_resp[512];
	int status;
	const char *tag = fr->r.name;

	snprintf(text, sizeof text, "secret-text-%s-%d-%d", g, u, with_roles);
	/* chansrch by the room's exact name: listed iff the user may find it. */
	fx_send(f, d, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"%s\" "
	                   "extended=\"false\"/></data></cmd>", fr->r.name);
	MCHECK(strstr(fx_last(d, 0), "SUCCESS_OK") && (strstr(fx_last(d, 0), g) != NULL) == (want >= 1),
	       "chansrch %s user=%d roles=%d listed iff findable", tag, u, roles);

	/* getinv lists the invitation (answered by a join) iff the user may join. */
	fx_send(f, d, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data/></cmd>");
	MCHECK((strstr(fx_last(d, 0), g) != NULL) == (want == 2), "getinv %s user=%d roles=%d", tag, u, roles);

	/* bccontext before joining: 200 / 403 / 404 like a missing room. */
	fx_send(f, d, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	              "<bcq><last cnt=\"25\"/></bcq></data></cmd>", missing_guid);
	snprintf(missing_resp, sizeof missing_resp, "%s", resp_of(fx_last(d, 0)));
	fx_send(f, d, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
	              "<bcq><last cnt=\"25\"/></bcq></data></cmd>", g);
	if (want == 0)
		MCHECK(strcmp(resp_of(fx_last(d, 0)), missing_resp) == 0, "bccontext %s user=%d: like a missing room", tag, u);
	else
		MCHECK(strstr(fx_last(d, 0), want == 2 ? "<resp code=\"200\">" : "<resp code=\"403\">ERR_NO_PERMISSION") != NULL,
		       "bccontext %s user=%d roles=%d code", tag, u, roles);

	/* join: 200 / 403 / 404 exactly like a missing room. */
	fx_send(f, d, "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	              "</data></cmd>", missing_guid);
	snprintf(missing_resp, sizeof missing_resp, "%s", resp_of(fx_last(d, 0)));
	fx_send(f, d, "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	              "</data></cmd>", g);
	if (want == 0)
		MCHECK(strcmp(resp_of(fx_last(d, 0)), missing_resp) == 0 && strstr(missing_resp, "404"),
		       "join %s user=%d: like a missing room", tag, u);
	else
		MCHECK(strstr(fx_last(d, 0), want == 2 ? "<resp code=\"200\">SUCCESS_OK" : "<resp code=\"403\">ERR_NO_PERMISSION") != NULL,
		       "join %s user=%d roles=%d code", tag, u, roles);

	/* grpchat: 200 when joined and allowed to post, 403 otherwise. */
	status = fx_send(f, d, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\" author=\"%s\">"
	                       "<chat>%s</chat></grpchat>", g, fx_users[u], text);
	MCHECK(status == (want == 2 && may_post ? 200 : 403), "grpchat %s user=%d roles=%d status=%d", tag, u, roles, status);
	MCHECK(fx_received(d, 0, text) == (want == 2 && may_post), "grpchat %s user=%d echoed iff posted", tag, u);

	/* getassociations (the user follows what they joined): only rooms they may join. */
	fx_send(f, d, "<cmd id=\"cmd:getassociations\" seqid=\"1\"><data/></cmd>");
	MCHECK((strstr(fx_last(d, 0), g) != NULL) == (want == 2),
	       "getassociations %s user=%d roles=%d", tag, u, roles);

	/* getfutok: the file service is off. */
	fx_send(f, d, "<cmd id=\"cmd:getfutok\" seqid=\"1\"><data><ftdb channelUri=\"ma-chan://example.org/%s\" "
	              "fileUrl=\"a.txt\"/></data></cmd>", g);
	MCHECK(strstr(fx_last(d, 0), "<resp code=\"501\">ERR_NOT_SUPPORTED") != NULL, "getfutok %s user=%d off", tag, u);

	/* part: 200 if joined, else 404 ERR_USER_NOT_JOINED. */
	fx_send(f, d, "<cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/></data></cmd>", g);
	MCHECK(strstr(fx_last(d, 0), want == 2 ? "<resp code=\"200\">" : "<resp code=\"404\">ERR_USER_NOT_JOINED") != NULL,
	       "part %s user=%d roles=%d", tag, u, roles);

	/* Nothing ever named an invisible room to this user. */
	if (want == 0)
		MCHECK(!fx_received(d, 0, g) && !fx_received(lookup, 0, g) && !fx_received(d, 0, fr->r.name) &&
		       !fx_received(d, 0, text), "%s user=%d never named", tag, u);
	/* bjoin naming the room: its joined block, or the failure block a
	 * missing room gets (which echoes the GUID the client sent). */
	fx_send(f, d, "<cmd id=\"cmd:bjoin\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	              "</data></cmd>", missing_guid);
	snprintf(missing_resp, sizeof missing_resp, "%s", resp_of(fx_last(d, 0)));
	fx_send(f, d, "<cmd id=\"cmd:bjoin\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	              "</data></cmd>", g);
	if (want == 2) {
		MCHECK(strstr(fx_last(d, 0), fr->r.name) != NULL, "bjoin %s user=%d roles=%d joined", tag, u, roles);
	} else {
		char *p = strstr(missing_resp, missing_guid);

		if (p)
			memcpy(p, g, STORE_GUID_LEN);
		MCHECK(p && strcmp(resp_of(fx_last(d, 0)), missing_resp) == 0, "bjoin %s user=%d roles=%d like a missing room",
		       tag, u, roles);
	}
	fx_send(f, d, "<cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/></data></cmd>", g);

	fx_dialog_free(f, d);
	fx_dialog_free(f, lookup);
}

/* Fan-out: a post reaches the other members, and a join notice only
 * members; a non-member in another room hears nothing of it. */
static void fan_out(struct fx *f)
{
	struct fx_room *fr = &f->rooms[0];     /* open, no wall, normal */
	struct sip_dialog *a = fx_dialog(f, 0, SIP_DIALOG_CHANNEL), *b = fx_dialog(f, 1, SIP_DIALOG_CHANNEL);
	struct sip_dialog *c = fx_dialog(f, 2, SIP_DIALOG_CHANNEL);
	const char *join = "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	                   "</data></cmd>";

	fx_send(f, a, join, fr->r.guid);
	fx_send(f, b, join, fr->r.guid);
	CHECK(fx_received(a, 0, "ntc:join") && fx_received(a, 0, fx_users[1]), "member hears the join notice");
	CHECK(fx_send(f, b, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\"><chat>fan &amp; out</chat>"
	                    "</grpchat>", fr->r.guid) == 200, "post accepted");
	CHECK(fx_received(a, 0, "fan &amp; out") && fx_received(b, 0, "fan &amp; out"), "post to every member, author too");
	CHECK(!fx_received(c, 0, "fan &amp; out") && !fx_received(c, 0, fr->r.guid), "non-member hears nothing");
	fx_dialog_free(f, b);
	CHECK(fx_received(a, 0, "ntc:part"), "a closed dialog parts with a notice");
	CHECK(xccos_rooms_in_use(f->x) == 1, "one room in use");
	fx_dialog_free(f, a);
	CHECK(xccos_rooms_in_use(f->x) == 0, "no room in use");
	fx_dialog_free(f, c);
}

/* The envelope and dispatch: malformed, unknown, and every command served
 * on the lookup dialog too (Lync's documented start, [MS-OCSPROT] 2.5.21). */
static void dispatch(struct fx *f)
{
	struct sip_dialog *lookup = fx_dialog(f, 0, SIP_DIALOG_LOOKUP);
	const char *junk = "<xccos><cmd";

	f->cb->on_info(f->cb->arg, lookup, junk, strlen(junk));
	CHECK(strstr(fx_last(lookup, 0), "<resp code=\"400\">ERR_BAD_REQUEST"), "malformed: 400");
	fx_send(f, lookup, "<cmd id=\"cmd:nosuch\" seqid=\"1\"><data/></cmd>");
	CHECK(strstr(fx_last(lookup, 0), "<resp code=\"501\">"), "unknown command: 501");
	fx_send(f, lookup, "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/>"
	                   "</data></cmd>", f->rooms[0].r.guid);
	CHECK(strstr(fx_last(lookup, 0), "<resp code=\"200\">SUCCESS_OK"), "join on the lookup dialog: 200");
	fx_send(f, lookup, "<cmd id=\"cmd:requri\" seqid=\"1\"><data/></cmd>");
	CHECK(strstr(fx_last(lookup, 0), "rpl:requri") && strstr(fx_last(lookup, 0), "SUCCESS_OK"), "requri answered");
	fx_dialog_free(f, lookup);
}

int main(void)
{
	struct fx f;

	log_set_level(LOG_ERROR);
	xmlInitParser();
	for (int with_roles = 0; with_roles < 2; with_roles++) {
		if (!CHECK(fx_open(&f, with_roles) == 0, "fixture"))
			return check_done("test_chat");
		for (int i = 0; i < FX_ROOMS; i++)
			for (int u = 0; u < FX_USERS; u++)
				one_cell(&f, &f.rooms[i], u, with_roles);
		if (with_roles) {
			fan_out(&f);
			dispatch(&f);
		}
		fx_close(&f);
	}
	printf("matrix cases=%d\n", matrix_cases);
	xmlCleanupParser();
	return check_done("test_chat");
}
