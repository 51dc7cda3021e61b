/*
 * durable.h - files that must survive a crash and must never replace what
 * is already there (the compliance archive, which a site may keep on
 * write-once storage).  A file is written under a temporary name in a
 * folder of its own, fsynced, then published under its final name in the
 * destination folder without ever replacing an existing name; the caller
 * fsyncs the destination folder once everything of one step is in.  The
 * temporary folder must be on the destination's file system.
 */
#ifndef PCHAT_DURABLE_H
#define PCHAT_DURABLE_H

#include <stddef.h>

#define DURABLE_TMP_PREFIX ".pchat-tmp-"    /* ".pchat-tmp-PID-NAME" */
#define DURABLE_TMP_MAX 320

/* Create (truncate) the temporary file for name in folder tmp_dfd, mode
 * 0640; tmp gets its name.  Returns the descriptor, or -1 with errno. */
int durable_create(int tmp_dfd, const char *name, char tmp[DURABLE_TMP_MAX]);

/* fsync and close fd; fd is closed in every case.  0 or -1 with errno. */
int durable_sync_close(int fd);

enum durable_result {
	DURABLE_PUBLISHED = 0,      /* tmp is now name */
	DURABLE_SAME = 1,           /* name already held exactly these bytes; tmp removed */
	DURABLE_DIFFERENT = 2,      /* name holds other bytes; left as it is, tmp removed */
};

/* Move tmp (in tmp_dfd) to name (in dfd) without replacing anything:
 * renameat2(RENAME_NOREPLACE), or link and unlink where the file system
 * has no such rename.  When name exists, its SHA-256 is compared with
 * digest (the SHA-256 of tmp's bytes).  Returns a durable_result, or -1
 * with errno (tmp removed). */
int durable_publish(int tmp_dfd, const char *tmp, int dfd, const char *name, const unsigned char digest[32]);

/* The same steps for a file another library wrote by its path (SQLite's
 * online backup): fsync tmp_path, give it the name path without replacing
 * anything (tmp_path is then gone), and fsync path's folder so the new name
 * is durable too.  0, or -1 with errno (EEXIST: path appeared meanwhile);
 * on failure tmp_path is left to the caller. */
int durable_publish_path(const char *tmp_path, const char *path);

/* The SHA-256 of file name in dfd (symbolic links refused).  0, or -1 with
 * errno. */
int durable_file_sha256(int dfd, const char *name, unsigned char digest[32]);

/* Remove the temporary files in folder dfd whose writer process has died;
 * a live writer's file is left alone. */
void durable_sweep(int dfd);

/* mkdir -p of path, each new folder with mode.  0, or -1 with errno. */
int durable_make_dirs(const char *path, unsigned mode);

#endif
