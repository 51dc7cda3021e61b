/*
 * tsoap.h - pchat's own client of the SOAP file service (files_soap.c), as
 * Lync and Skype for Business call it: SOAP 1.1 POSTs to
 * /PersistentChat/MGCWebService.asmx over real TLS (tchat.h's thttp), one
 * operation per connection.  Bodies are shaped as the NextLabs
 * SfBServerEnforcer sources quote them.
 */
#ifndef PCHAT_TSOAP_H
#define PCHAT_TSOAP_H

#include <stddef.h>
#include <stdint.h>

#include "tchat.h"

/* POST one operation with params_xml inside its element; the HTTP status
 * (200, or 500 with a fault), h holds the rest.  Close h after. */
int tsoap_call(struct thttp *h, uint16_t port, const char *op, const char *params_xml);
/* The text of <OPResult> in h's body into out; 0 or -1. */
int tsoap_result(const struct thttp *h, const char *op, char *out, size_t cap);
/* The faultstring of h's body into out; 0 or -1 (no fault). */
int tsoap_fault(const struct thttp *h, char *out, size_t cap);
/* A whole call, h closed: the status, with the result (200) or the
 * faultstring (500) in out. */
int tsoap_simple(uint16_t port, const char *op, const char *params_xml, char *out, size_t cap);

/* The operations; each returns the HTTP status, out as in tsoap_simple. */
int tsoap_unique_name(uint16_t port, const char *token, const char *channel, char *out, size_t cap);
int tsoap_append(uint16_t port, const char *token, const char *channel, const char *name, const void *data,
                 size_t len, uint64_t offset, uint64_t file_length, char *out, size_t cap);
int tsoap_file_size(uint16_t port, const char *token, const char *channel, const char *repos, char *out, size_t cap);
/* DownloadChunk; the decoded bytes are appended to got (if 200). */
int tsoap_download_chunk(uint16_t port, const char *token, const char *channel, const char *repos, uint64_t offset,
                         uint64_t buffer_size, struct buf *got, char *out, size_t cap);

/* Upload data in chunks of chunk bytes (RequestUniqueFilenameWithExtension,
 * then AppendChunks); the status of the last call (200 when complete), the
 * unique name into name. */
int tsoap_upload(uint16_t port, const char *token, const char *channel, const void *data, size_t len, size_t chunk,
                 char name[64]);
/* GetFileSize then DownloadChunks of chunk bytes into got; the status of
 * the last call. */
int tsoap_download(uint16_t port, const char *token, const char *channel, const char *repos, size_t chunk,
                   struct buf *got);

/* The repository name in the fileUri of the last announcement of name that
 * u got (waiting up to 5 s for one), into out; 0 or -1. */
int tsoap_repos_of(struct tuser *u, const char *name, char out[64]);

#endif
