/*
 * sax1-fix: work around Debian 12 libxml2 2.9.14+dfsg-1.3~deb12u4..u6, where a
 * SAX handler with initialized == XML_SAX2_MAGIC, startElement set and
 * startElementNs == NULL no longer gets any startElement/endElement calls.
 * pidgin-sipe's sipe_xml_parse() uses exactly such a handler, so without this
 * every XML body (provisioning, XCCOS group chat, presence...) parses to NULL.
 *
 * The Makefile links this file into sipe-harness, exported with -rdynamic so
 * that it takes the place of libxml2's for libsipe.so.  For finch or another
 * libpurple UI, build it as an LD_PRELOAD shim instead:
 *   gcc -shared -fPIC -o sax1-fix.so sax1-fix.c $(pkg-config --cflags libxml-2.0) -ldl
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <libxml/parser.h>

int xmlSAXUserParseMemory(xmlSAXHandlerPtr sax, void *user_data, const char *buffer, int size)
{
	static int (*real)(xmlSAXHandlerPtr, void *, const char *, int);
	if (!real)
		real = (int (*)(xmlSAXHandlerPtr, void *, const char *, int))dlsym(RTLD_NEXT, "xmlSAXUserParseMemory");
	if (sax && sax->initialized == XML_SAX2_MAGIC &&
	    !sax->startElementNs && !sax->endElementNs &&
	    (sax->startElement || sax->endElement)) {
		xmlSAXHandler copy = *sax;
		copy.initialized = 1;   /* plain SAX1 handler: startElement is honoured */
		return real(&copy, user_data, buffer, size);
	}
	return real(sax, user_data, buffer, size);
}
