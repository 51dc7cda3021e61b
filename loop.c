/*
 * loop.c - see loop.h.  Timers are few (housekeeping, export, sweeps), so
 * they live in an unsorted array scanned once per pass; the fd table is
 * indexed by fd and grows on demand.
 */
#include "loop.h"
#include "base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct loop_watcher {
	loop_fd_fn fn;
	void *arg;
	unsigned mask;
	int active;
};

struct loop_timer {
	int64_t id;
	int64_t when;
	loop_timer_fn fn;
	void *arg;
};

struct loop {
	int epfd;
	int stop;
	int64_t now;
	struct loop_watcher *fds;
	size_t nfds;
	struct loop_timer *timers;
	size_t ntimers, timers_cap;
	int64_t next_timer_id;
	loop_hook_fn before_sleep;
	void *before_sleep_arg;
};

int64_t loop_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof *l);

	if (l == NULL)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->now = loop_clock_ms();
	return l;
}

void loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	close(l->epfd);
	free(l->fds);
	free(l->timers);
	free(l);
}

static int loop_grow_fds(struct loop *l, int fd)
{
	size_t n = l->nfds ? l->nfds : 64;
	struct loop_watcher *p;

	while (n <= (size_t)fd)
		n *= 2;
	p = realloc(l->fds, n * sizeof *p);
	if (p == NULL)
		return -1;
	memset(p + l->nfds, 0, (n - l->nfds) * sizeof *p);
	l->fds = p;
	l->nfds = n;
	return 0;
}

int loop_watch(struct loop *l, int fd, unsigned mask, loop_fd_fn fn, void *arg)
{
	struct epoll_event ev;
	struct loop_watcher *w;
	int op;

	if (fd < 0 || ((size_t)fd >= l->nfds && loop_grow_fds(l, fd) < 0))
		return -1;
	w = &l->fds[fd];
	if (w->active && w->mask == mask && w->fn == fn && w->arg == arg)
		return 0;
	memset(&ev, 0, sizeof ev);
	ev.events = ((mask & LOOP_READ) ? EPOLLIN : 0) | ((mask & LOOP_WRITE) ? EPOLLOUT : 0);
	ev.data.fd = fd;
	op = w->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(l->epfd, op, fd, &ev) < 0)
		return -1;
	w->fn = fn;
	w->arg = arg;
	w->mask = mask;
	w->active = 1;
	return 0;
}

void loop_unwatch(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].active)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&l->fds[fd], 0, sizeof l->fds[fd]);
}

int64_t loop_add_timer(struct loop *l, int64_t delay_ms, loop_timer_fn fn, void *arg)
{
	if (array_reserve(&l->timers, &l->timers_cap, l->ntimers, sizeof *l->timers, 8) < 0)
		return -1;
	l->timers[l->ntimers].id = ++l->next_timer_id;
	l->timers[l->ntimers].when = loop_clock_ms() + (delay_ms > 0 ? delay_ms : 0);
	l->timers[l->ntimers].fn = fn;
	l->timers[l->ntimers].arg = arg;
	l->ntimers++;
	return l->next_timer_id;
}

void loop_del_timer(struct loop *l, int64_t id)
{
	for (size_t i = 0; i < l->ntimers; i++) {
		if (l->timers[i].id == id) {
			l->timers[i] = l->timers[--l->ntimers];
			return;
		}
	}
}

void loop_set_before_sleep(struct loop *l, loop_hook_fn fn, void *arg)
{
	l->before_sleep = fn;
	l->before_sleep_arg = arg;
}

int64_t loop_now(const struct loop *l) { return l->now; }

void loop_stop(struct loop *l) { l->stop = 1; }

/* Milliseconds until the earliest timer, or -1 (block) when there is none. */
static int loop_wait_ms(const struct loop *l)
{
	int64_t best = -1;

	for (size_t i = 0; i < l->ntimers; i++) {
		int64_t d = l->timers[i].when - l->now;

		if (d < 0)
			d = 0;
		if (best < 0 || d < best)
			best = d;
	}
	return best > 60000 ? 60000 : (int)best;
}

/* Fire due timers.  A callback may add or delete timers, so look each due
 * timer up by id again after its callback returns. */
static void loop_fire_timers(struct loop *l)
{
	size_t i = 0;

	while (i < l->ntimers) {
		struct loop_timer t = l->timers[i];
		int64_t next;

		if (t.when > l->now) {
			i++;
			continue;
		}
		next = t.fn(l, t.arg);
		for (i = 0; i < l->ntimers && l->timers[i].id != t.id; i++)
			;
		if (i == l->ntimers) {
			i = 0;  /* deleted itself; rescan from the start */
			continue;
		}
		if (next == LOOP_NOMORE) {
			l->timers[i] = l->timers[--l->ntimers];
		} else {
			l->timers[i].when = l->now + (next > 0 ? next : 0);
			if (next <= 0)
				l->timers[i].when++;  /* never spin within one pass */
		}
		i = 0;
	}
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[256];

	l->stop = 0;
	while (!l->stop) {
		int n;

		if (l->before_sleep)
			l->before_sleep(l, l->before_sleep_arg);
		if (l->stop)
			break;
		n = epoll_wait(l->epfd, evs, 256, loop_wait_ms(l));
		if (n < 0 && errno != EINTR)
			return -1;
		l->now = loop_clock_ms();
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			unsigned ev = 0;
			struct loop_watcher w;

			if ((size_t)fd >= l->nfds || !l->fds[fd].active)
				continue;   /* unwatched by an earlier callback this pass */
			w = l->fds[fd];
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				ev |= LOOP_READ;
			if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
				ev |= LOOP_WRITE;
			w.fn(l, fd, ev & (w.mask | LOOP_READ), w.arg);
		}
		loop_fire_timers(l);
	}
	return 0;
}
