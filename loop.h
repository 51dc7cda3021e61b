/*
 * loop.h - a small single-threaded event loop: epoll for file descriptors,
 * timers on the monotonic clock whose callbacks return their next delay, and
 * a before-sleep hook (flush output, commit the store, reap connections).
 */
#ifndef PCHAT_LOOP_H
#define PCHAT_LOOP_H

#include <stdint.h>

#define LOOP_READ 1u
#define LOOP_WRITE 2u
#define LOOP_NOMORE (-1)    /* a timer callback returns this to stop */

struct loop;
typedef void (*loop_fd_fn)(struct loop *l, int fd, unsigned events, void *arg);
/* Returns the next delay in ms, or LOOP_NOMORE. */
typedef int64_t (*loop_timer_fn)(struct loop *l, void *arg);
typedef void (*loop_hook_fn)(struct loop *l, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for the events in mask; fn gets the ready events.  One watcher per
 * fd; calling again changes the mask.  Returns 0 or -1. */
int loop_watch(struct loop *l, int fd, unsigned mask, loop_fd_fn fn, void *arg);
void loop_unwatch(struct loop *l, int fd);

/* Run fn after delay_ms; returns a timer id (> 0) or -1. */
int64_t loop_add_timer(struct loop *l, int64_t delay_ms, loop_timer_fn fn, void *arg);
void loop_del_timer(struct loop *l, int64_t id);

void loop_set_before_sleep(struct loop *l, loop_hook_fn fn, void *arg);

/* Monotonic milliseconds, cached once per loop pass. */
int64_t loop_now(const struct loop *l);
/* Fresh reading of the monotonic clock in ms. */
int64_t loop_clock_ms(void);

/* Run until loop_stop. Returns 0, or -1 if epoll fails. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
