/*
 * fuzz_chat.c - libFuzzer target: the chat service's handlers (not only
 * the envelope parser) behind the fakes of tests/chat_fixture.h, over a
 * store seeded once with rooms of every privacy, type and category wall
 * and users holding every role.  Each input is a sequence of commands from
 * several users on several dialogs: per command one byte picks the user
 * and dialog, one the command, then its fields come from the input, rooms
 * picked by index among the seeded ones (or a missing GUID).
 *
 * The invariant, checked on every INFO body each dialog received: no user
 * is ever sent the GUID, name or a message of a room they may not see, nor
 * a message of a room they may not join (a failure block echoing the GUID
 * the client itself sent is not a leak: a missing room gets the same).
 * Violation: abort().  Between inputs every dialog is closed and the pass's
 * transaction is rolled back, so each input starts from the seed.
 */
#include "../chat_fixture.h"

#define DIALOGS_PER_USER 3      /* two channel dialogs (two clients), one lookup */
#define CMD_MAX 24              /* commands per input */

static struct fx world;
static struct sip_dialog *dialogs[FX_USERS][DIALOGS_PER_USER];
static int access_of[FX_USERS][FX_ROOMS];       /* what the seed says: 0, 1 or 2 */
static const char *const missing_guid = "00000000-1111-4222-8333-444444444444";

static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void world_remove(void)
{
	fx_close(&world);
}

/* The input, read a byte or a field at a time (zeros once it is used up). */
struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned next_byte(struct input *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/* A field of up to max lowercase letters, digits and spaces: never '<',
 * '&' or upper case, so it cannot forge a marker or break the envelope. */
static void next_word(struct input *in, char *out, size_t max)
{
	size_t len = next_byte(in) % max, i;

	for (i = 0; i < len && in->n; i++) {
		unsigned c = next_byte(in) % 38;

		out[i] = c < 26 ? (char)('a' + c) : c < 36 ? (char)('0' + c - 26) : ' ';
	}
	out[i] = '\0';
}

/* A room's GUID by index; the last index names a room that does not exist. */
static const char *room_guid(unsigned idx, int *room)
{
	*room = (int)(idx % (FX_ROOMS + 1));
	return *room < FX_ROOMS ? world.rooms[*room].r.guid : missing_guid;
}

static void world_init(void)
{
	log_set_level(LOG_ERROR);
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, quiet);
	if (fx_open(&world, 1) != 0)
		abort();
	world.keep_pass = 1;
	atexit(world_remove);
	for (int u = 0; u < FX_USERS; u++)
		for (int i = 0; i < FX_ROOMS; i++)
			access_of[u][i] = fx_expect_access(world.rooms[i].wall, world.rooms[i].privacy, fx_user_roles[u], u, 1);
}

static void dialogs_open(void)
{
	for (int u = 0; u < FX_USERS; u++)
		for (int k = 0; k < DIALOGS_PER_USER; k++)
			dialogs[u][k] = fx_dialog(&world, u, k < 2 ? SIP_DIALOG_CHANNEL : SIP_DIALOG_LOOKUP);
}

/* Blank every <fib .../> failure block: its value is the client's own GUID. */
static void blank_failure_blocks(char *s)
{
	for (char *p = strstr(s, "<fib "); p; p = strstr(p, "<fib ")) {
		char *end = strstr(p, "/>");

		if (end == NULL)
			abort();        /* we never send a broken block */
		memset(p, ' ', (size_t)(end + 2 - p));
	}
}

/* The invariant over everything dialog d of user u received. */
static void check_dialog(int u, const struct sip_dialog *d)
{
	const char *p;

	if (d->infos.len == 0)
		return;
	p = (const char *)buf_head(&d->infos);

	for (size_t off = 0; off < d->infos.len;) {
		size_t len = strlen(p + off);
		char *body = malloc(len + 1), marker[16];

		if (body == NULL)
			abort();
		memcpy(body, p + off, len + 1);
		blank_failure_blocks(body);
		for (int i = 0; i < FX_ROOMS; i++) {
			snprintf(marker, sizeof marker, "MSG%02d#", i);
			if (access_of[u][i] == 0 && (strstr(body, world.rooms[i].r.guid) || strstr(body, world.rooms[i].r.name))) {
				fprintf(stderr, "LEAK: %s was sent invisible room %s: %s\n", fx_users[u], world.rooms[i].r.name, body);
				abort();
			}
			if (access_of[u][i] < 2 && strstr(body, marker)) {
				fprintf(stderr, "LEAK: %s was sent a message of %s: %s\n", fx_users[u], world.rooms[i].r.name, body);
				abort();
			}
		}
		free(body);
		off += len + 1;
	}
}

static void dialog_reset(int u, int k)
{
	check_dialog(u, dialogs[u][k]);
	fx_dialog_free(&world, dialogs[u][k]);
	dialogs[u][k] = NULL;
}

/* Undo the input's writes (pchat.c would commit them; rolling back keeps
 * every input starting from the seed, and the store from growing). */
static void pass_rollback(struct store *st)
{
	if (st->in_tx)
		store_rollback(st);
	st->pass_lost = STORE_OK;
	st->pass_busy = 0;
	st->tx_own = 0;
	st->in_write = 0;
}

static void run_command(struct input *in)
{
	unsigned who = next_byte(in), kind = next_byte(in) % 12;
	int u = (int)(who % FX_USERS), k = (int)(who / FX_USERS % DIALOGS_PER_USER), room, room2;
	struct sip_dialog *d = dialogs[u][k];
	const char *g = room_guid(next_byte(in), &room);
	char word[64], text[96];

	switch (kind) {
	case 0:
		next_word(in, word, sizeof word);
		fx_send(&world, d, "<cmd id=\"cmd:chansrch\" seqid=\"1\"><data><qib qtype=\"BYNAME\" criteria=\"%s\" "
		                   "extended=\"false\"/></data></cmd>", word);
		break;
	case 1:
		fx_send(&world, d, "<cmd id=\"cmd:join\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" "
		                   "value=\"%s\"/></data></cmd>", g);
		break;
	case 2:
		if (next_byte(in) & 1) {
			fx_send(&world, d, "<cmd id=\"cmd:bjoin\" seqid=\"1\"><data/></cmd>");
		} else {
			const char *g2 = room_guid(next_byte(in), &room2);

			fx_send(&world, d, "<cmd id=\"cmd:bjoin\" seqid=\"1\"><data><chanid key=\"0\" domain=\"example.org\" "
			                   "value=\"%s\"/><chanid key=\"0\" domain=\"example.org\" value=\"%s\"/></data></cmd>", g, g2);
		}
		break;
	case 3:
		fx_send(&world, d, "<cmd id=\"cmd:part\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
		                   "</data></cmd>", g);
		break;
	case 4:
		if ((room2 = (int)(next_byte(in) % 3)) == 2) {
			/* A Lync history query (xccos_lync.h): paging, words. */
			next_word(in, word, sizeof word);
			fx_send(&world, d, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
			                   "<bcq><query startingMessageId=\"%u\" searchOrderReversed=\"true\" resultLimit=\"%u\" "
			                   "searchString=\"%s\"/></bcq></data></cmd>", g, next_byte(in), next_byte(in), word);
		} else if (room2 == 1) {
			next_word(in, word, sizeof word);
			fx_send(&world, d, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
			                   "<bcq><search cnt=\"%u\">%s</search></bcq></data></cmd>", g, next_byte(in), word);
		} else {
			fx_send(&world, d, "<cmd id=\"cmd:bccontext\" seqid=\"1\"><data><chanib uri=\"ma-chan://example.org/%s\"/>"
			                   "<bcq><last cnt=\"%u\"/></bcq></data></cmd>", g, next_byte(in));
		}
		break;
	case 5:
	case 6:
		next_word(in, word, sizeof word);
		snprintf(text, sizeof text, "MSG%02d#%s", room, word);
		fx_send(&world, d, "<grpchat id=\"grpchat\" seqid=\"1\" chanUri=\"ma-chan://example.org/%s\"><chat>%s</chat>"
		                   "%s</grpchat>", g, text, kind == 6 ? "<rtf>x</rtf><file id=\"1\"/>" : "");
		break;
	case 7:
		fx_send(&world, d, "<cmd id=\"cmd:getinv\" seqid=\"1\"><data/></cmd>");
		break;
	case 8:
		fx_send(&world, d, "<cmd id=\"cmd:getassociations\" seqid=\"1\"><data/></cmd>");
		break;
	case 9:
		fx_send(&world, d, "<cmd id=\"cmd:getf%ctok\" seqid=\"1\"><data><ftdb channelUri=\"ma-chan://example.org/%s\" "
		                   "fileUrl=\"a.txt\"/></data></cmd>", next_byte(in) & 1 ? 'u' : 'd', g);
		break;
	case 10:
		/* The client goes (BYE, lost connection) and comes back. */
		dialog_reset(u, k);
		dialogs[u][k] = fx_dialog(&world, u, k < 2 ? SIP_DIALOG_CHANNEL : SIP_DIALOG_LOOKUP);
		break;
	default:
		/* The rest of the input as a raw body: the parser and dispatch too. */
		world.cb->on_info(world.cb->arg, d, (const char *)in->p, in->n);
		in->p += in->n;
		in->n = 0;
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct input in = { data, size };

	if (!initialised) {
		world_init();
		initialised = 1;
	}
	dialogs_open();
	for (int i = 0; i < CMD_MAX && in.n > 0; i++)
		run_command(&in);
	for (int u = 0; u < FX_USERS; u++)
		for (int k = 0; k < DIALOGS_PER_USER; k++)
			dialog_reset(u, k);
	pass_rollback(world.st);
	return 0;
}
