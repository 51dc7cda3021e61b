/*
 * tsipe.h - the pidgin-sipe harness as a test client (e2e_sipe,
 * e2e_compliance_sipe).  It trusts pchat's certificate the way libpurple
 * does: a copy in <userdir>/certificates/x509/tls_peers/127.0.0.1.
 */
#ifndef PCHAT_TSIPE_H
#define PCHAT_TSIPE_H

#include <sys/types.h>

#include "tclient.h"

/* Start harness against s as user with password and script text; its pid or
 * -1.  Its stdout goes to DIR/NAME.out, its debug log to DIR/NAME.log. */
pid_t tsipe_start(const struct tserver *s, const char *harness, const char *name, const char *user,
                  const char *password, const char *script);
/* Wait for it; its exit status, or -1. */
int tsipe_finish(pid_t pid);

#endif
