/*
 * control.h - the local control socket and `pchat status`.
 *
 * The server listens on a UNIX socket ([server] control_socket, mode 0660,
 * owned by the service user and its group: only they and root may connect)
 * served by the event loop: a client sends one request, gets one answer,
 * and the server closes.  Requests (one line, at most CONTROL_REQUEST_MAX
 * bytes with an HTTP request's headers):
 *   status            the report `pchat status` prints
 *   metrics           the same numbers in Prometheus text format 0.0.4
 *   GET /metrics ...  the metrics as an HTTP/1.0 answer (curl --unix-socket)
 * Anything else is answered with one "error: ..." line.  At most
 * CONTROL_MAX_CLIENTS requests are served at once, each within
 * CONTROL_DEADLINE_MS; none blocks the loop.
 */
#ifndef PCHAT_CONTROL_H
#define PCHAT_CONTROL_H

#include <stddef.h>

#include "config.h"
#include "loop.h"

#define CONTROL_REQUEST_MAX 1024
#define CONTROL_MAX_CLIENTS 4
#define CONTROL_DEADLINE_MS 2000

struct net;
struct sip_server;
struct xccos;
struct store;
struct compliance;

/* What the answers are made of; everything must outlive the control. */
struct control_sources {
	const struct config *cfg;   /* read at each request (a reload may change it) */
	const char *version;
	struct net *net;
	struct sip_server *sip;
	struct xccos *chat;
	struct store *store;
	struct compliance *compliance;
};

struct control;

/* Listen on cfg->control_socket.  A socket file that no server answers on
 * (left by a crash) is replaced; a live one (another server) or a file that
 * is not a socket is refused.  NULL with err set. */
struct control *control_new(struct loop *l, const struct control_sources *src, char *err, size_t errlen);
/* For `pchat check`: 0 with a note in msg, or -1 with what stops the
 * server from starting in msg and what to do in *fix. */
int control_check(const struct config *cfg, char *msg, size_t msglen, const char **fix);

/* Close every control connection and remove the socket file.  NULL: no-op. */
void control_free(struct control *c);

/* `pchat status [--metrics]`: ask the running server; when none answers,
 * say so, report what the store and the files tell (never creating the
 * store) and return 3.  0 when the server answered, 1 on errors, 2 usage. */
int control_cmd_status(const struct config *cfg, const char *version, int argc, char **argv);

#endif
