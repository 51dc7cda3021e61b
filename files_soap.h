/*
 * files_soap.h - the file web service as Lync 2013 and Skype for Business
 * clients call it: SOAP 1.1 POSTs to /PersistentChat/MGCWebService.asmx on
 * the [files] listener (the serveruri of rpl:getftok), one operation per
 * request, named by SOAPAction "http://www.microsoft.com/OP":
 *
 *   GetMaxFileSizeInKB, GetMaxRequestContentInKB        the limits
 *   RequestUniqueFilenameWithExtension (token, channelId) a GUID.ext name
 *   AppendChunk (token, channelId, uniqueFilename,       one piece of an
 *                fileChunk base64, offset, fileLength)   upload, in order
 *   GetFileSize (token, channelId, reposFileName)        a file's size
 *   DownloadChunk (token, channelId, reposFileName,      one piece of a
 *                  offset, bufferSize)                   download, base64
 *
 * Answers are .asmx shaped (<OPResponse><OPResult>); every error is a SOAP
 * fault with HTTP 500, never a 4xx, because the client stops a transfer on
 * any 4xx (NextLabs SfBServerEnforcer, CHttpParserManagerChatRoomAttachment.cs).
 * The tokens, rules, limits, compliance events and store are files.c's; see
 * files_internal.h.
 */
#ifndef PCHAT_FILES_SOAP_H
#define PCHAT_FILES_SOAP_H

#include <stddef.h>
#include <stdint.h>

#include "files.h"

#define FILES_SOAP_NS "http://www.microsoft.com"  /* the operations' namespace (from source) */

enum files_soap_op {
	SOAP_OP_NONE,
	SOAP_OP_UNIQUE_NAME,            /* RequestUniqueFilenameWithExtension */
	SOAP_OP_MAX_FILE,               /* GetMaxFileSizeInKB */
	SOAP_OP_MAX_REQUEST,            /* GetMaxRequestContentInKB */
	SOAP_OP_APPEND,                 /* AppendChunk */
	SOAP_OP_FILE_SIZE,              /* GetFileSize */
	SOAP_OP_DOWNLOAD                /* DownloadChunk */
};

/* One request's parameters; numbers are -1 when absent. */
struct files_soap_req {
	enum files_soap_op op;
	char token[FILES_TOKEN_LEN + 1];
	char channel[40];               /* channelId: the room's GUID */
	char file[64];                  /* uniqueFilename or reposFileName */
	char extension[16];             /* RequestUniqueFilenameWithExtension's extension, if sent */
	int64_t offset, file_length, buffer_size;
	unsigned char *chunk;           /* AppendChunk's fileChunk, decoded (malloc'd) */
	size_t chunk_len;
};

/* The operation a SOAPAction header value names (quotes allowed), or
 * SOAP_OP_NONE. */
enum files_soap_op files_soap_action(const char *value, size_t len);
/* The name of an operation ("AppendChunk"). */
const char *files_soap_op_name(enum files_soap_op op);

/* Parse a request body body[0..len) for operation op: a SOAP 1.1 Envelope
 * whose Body holds the op's element.  libxml2 with network access and
 * entities off; a DTD is refused.  Returns 0 with *req filled (free it with
 * files_soap_req_free), or -1 with a short reason in *why (static text). */
int files_soap_parse(enum files_soap_op op, const char *body, size_t len, struct files_soap_req *req,
                     const char **why);
void files_soap_req_free(struct files_soap_req *req);


#endif
