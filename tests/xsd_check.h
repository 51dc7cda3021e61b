/*
 * xsd_check.h - the compliance batch files a suite wrote, validated with
 * libxml2 (xmlSchemaValidateDoc) against the schema of their format:
 * tests/schema/lync-compliance.xsd (Microsoft's published XmlAdapter
 * output schema) for format lync, tests/schema/actiance.xsd for actiance.
 * The format is read from the batch's own header line.  Header-only, for
 * test_compliance.c and e2e_compliance.c; the schemas are found beside
 * this file, so the suites run from the top of the source tree.
 */
#ifndef PCHAT_TEST_XSD_CHECK_H
#define PCHAT_TEST_XSD_CHECK_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

struct xsd_check {
	xmlSchemaPtr lync, actiance;
	int loaded;                 /* both schemas parsed */
	int files, bad;             /* batch files validated, and how many failed */
	char first_bad[1500];       /* the first failure: file and libxml2's message */
};

static inline xmlSchemaPtr xsd_load(const char *name)
{
	const char *slash = strrchr(__FILE__, '/');
	xmlSchemaParserCtxtPtr pc;
	xmlSchemaPtr s = NULL;
	char path[512];

	snprintf(path, sizeof path, "%.*sschema/%s", slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__, name);
	if ((pc = xmlSchemaNewParserCtxt(path)) != NULL)
		s = xmlSchemaParse(pc);
	xmlSchemaFreeParserCtxt(pc);
	if (s == NULL)
		printf("# cannot load the schema %s\n", path);
	return s;
}

static inline void xsd_init(struct xsd_check *x)
{
	memset(x, 0, sizeof *x);
	x->lync = xsd_load("lync-compliance.xsd");
	x->actiance = xsd_load("actiance.xsd");
	x->loaded = x->lync != NULL && x->actiance != NULL;
}

static inline void xsd_free(struct xsd_check *x)
{
	xmlSchemaFree(x->lync);
	xmlSchemaFree(x->actiance);
	x->lync = x->actiance = NULL;
}

struct xsd_err { char *out; size_t len; };

static inline void xsd_on_error(void *arg, xmlErrorPtr e)
{
	struct xsd_err *er = arg;

	if (er->out[0] == '\0' && e != NULL && e->message != NULL)
		snprintf(er->out, er->len, "line %d: %s", e->line, e->message);
}

/* The format named in a batch file's second line ("..., format lync, ..."). */
static inline int xsd_batch_format(const char *path, char fmt[16])
{
	char head[600];
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(head, 1, sizeof head - 1, f) : 0;
	const char *p;

	if (f)
		fclose(f);
	head[n] = '\0';
	p = strstr(head, ", format ");
	return p && sscanf(p, ", format %15[a-z],", fmt) == 1 ? 0 : -1;
}

/* Validate one batch file; 0 when valid, else -1 with why. */
static inline int xsd_validate(struct xsd_check *x, const char *path, char *why, size_t whylen)
{
	struct xsd_err er = { why, whylen };
	xmlSchemaValidCtxtPtr vc = NULL;
	xmlDocPtr doc = NULL;
	xmlSchemaPtr s;
	char fmt[16];
	int rc = -1;

	why[0] = '\0';
	if (xsd_batch_format(path, fmt) < 0) {
		snprintf(why, whylen, "no format in its header");
		return -1;
	}
	s = !strcmp(fmt, "lync") ? x->lync : !strcmp(fmt, "actiance") ? x->actiance : NULL;
	if (s == NULL) {
		snprintf(why, whylen, "no schema for format %s", fmt);
		return -1;
	}
	if ((doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) == NULL) {
		snprintf(why, whylen, "not well-formed");
		return -1;
	}
	if ((vc = xmlSchemaNewValidCtxt(s)) != NULL) {
		xmlSchemaSetValidStructuredErrors(vc, xsd_on_error, &er);
		rc = xmlSchemaValidateDoc(vc, doc) == 0 ? 0 : -1;
	}
	if (rc < 0 && why[0] == '\0')
		snprintf(why, whylen, "invalid");
	xmlSchemaFreeValidCtxt(vc);
	xmlFreeDoc(doc);
	return rc;
}

/* Validate every batch file (pchat-*.xml) under d, attachment folders
 * excepted, counting into x. */
static inline void xsd_check_tree(struct xsd_check *x, const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	char path[1024], why[400];
	struct stat sb;

	while (dp && (de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || (size_t)snprintf(path, sizeof path, "%s/%s", d, de->d_name) >= sizeof path ||
		    lstat(path, &sb) < 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			if (len < 7 || strcmp(de->d_name + len - 7, ".ATTACH") != 0)
				xsd_check_tree(x, path);
			continue;
		}
		if (!S_ISREG(sb.st_mode) || strncmp(de->d_name, "pchat-", 6) != 0 || len < 4 ||
		    strcmp(de->d_name + len - 4, ".xml") != 0)
			continue;
		x->files++;
		if (xsd_validate(x, path, why, sizeof why) < 0 && x->bad++ == 0)
			snprintf(x->first_bad, sizeof x->first_bad, "%s: %s", path, why);
	}
	if (dp)
		closedir(dp);
}

#endif
