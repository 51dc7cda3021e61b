/*
 * durable.c - see durable.h.  The publish step is what makes the archive
 * safe with two exporters at once and on write-once storage: no code path
 * renames over an existing name, and a name found taken is compared by
 * content, never overwritten.
 */
#include "durable.h"
#include "base.h"

#include <mbedtls/sha256.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_CHUNK 65536

int durable_create(int tmp_dfd, const char *name, char tmp[DURABLE_TMP_MAX])
{
	int n = snprintf(tmp, DURABLE_TMP_MAX, DURABLE_TMP_PREFIX "%ld-%s", (long)getpid(), name);

	if (n < 0 || n >= DURABLE_TMP_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return openat(tmp_dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
}

int durable_sync_close(int fd)
{
	int e = fsync(fd) < 0 ? errno : 0;

	if (close(fd) < 0 && e == 0)
		e = errno;
	errno = e;
	return e ? -1 : 0;
}

int durable_file_sha256(int dfd, const char *name, unsigned char digest[32])
{
	mbedtls_sha256_context sha;
	char buf[HASH_CHUNK];
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), e = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	while ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			mbedtls_sha256_update_ret(&sha, (unsigned char *)buf, (size_t)r);
	if (r < 0)
		e = errno;
	mbedtls_sha256_finish_ret(&sha, digest);
	mbedtls_sha256_free(&sha);
	close(fd);
	errno = e;
	return e ? -1 : 0;
}

/* rename without replacing; EEXIST when name is taken. */
static int move_noreplace(int tmp_dfd, const char *tmp, int dfd, const char *name)
{
	if (renameat2(tmp_dfd, tmp, dfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: link() never replaces either. */
	if (linkat(tmp_dfd, tmp, dfd, name, 0) < 0)
		return -1;
	unlinkat(tmp_dfd, tmp, 0);
	return 0;
}

/* fsync a file or folder by name; 0 or -1 with errno. */
static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW);

	return fd < 0 ? -1 : durable_sync_close(fd);
}

int durable_publish_path(const char *tmp_path, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int n;

	if (fsync_path(tmp_path, O_RDONLY) < 0 || move_noreplace(AT_FDCWD, tmp_path, AT_FDCWD, path) < 0)
		return -1;
	n = slash ? snprintf(dir, sizeof dir, "%.*s", (int)(slash == path ? 1 : slash - path), path)
	          : snprintf(dir, sizeof dir, ".");
	if (n < 0 || (size_t)n >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

int durable_publish(int tmp_dfd, const char *tmp, int dfd, const char *name, const unsigned char digest[32])
{
	unsigned char have[32];
	int e;

	if (move_noreplace(tmp_dfd, tmp, dfd, name) == 0)
		return DURABLE_PUBLISHED;
	e = errno;
	unlinkat(tmp_dfd, tmp, 0);
	if (e != EEXIST) {
		errno = e;
		return -1;
	}
	if (durable_file_sha256(dfd, name, have) < 0)
		return -1;
	return memcmp(have, digest, sizeof have) == 0 ? DURABLE_SAME : DURABLE_DIFFERENT;
}

void durable_sweep(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	const size_t plen = strlen(DURABLE_TMP_PREFIX);

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		const char *p = de->d_name + plen;
		size_t n;
		uint64_t pid;

		if (strncmp(de->d_name, DURABLE_TMP_PREFIX, plen) != 0 || *p < '1' || *p > '9')
			continue;
		n = strspn(p, "0123456789");
		if (p[n] != '-' || parse_u64(p, n, INT_MAX, &pid) < 0)
			continue;
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
}

int durable_make_dirs(const char *dir, unsigned mode)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, (mode_t)mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, (mode_t)mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}
