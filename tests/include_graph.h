/*
 * include_graph.h - the modules of the project and which include which, for
 * test_docs: a module is a .c and its .h (NAME_internal.h, a private header
 * shared by a module's files, counts as NAME), and module A depends on B
 * when A.c or A.h includes B.h.  A module split into files by concern
 * shares its private header: PART.c including NAME_internal.h is a part of
 * NAME, and so is PART.h (files_soap.c of files, frontend.c of sip_server).  The layering holds when no two modules
 * reach each other (no include circle), which ig_circle looks for.
 */
#ifndef PCHAT_INCLUDE_GRAPH_H
#define PCHAT_INCLUDE_GRAPH_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#define IG_MAX 160              /* modules */
#define IG_NAME 48

struct include_graph {
	char name[IG_MAX][IG_NAME];
	size_t n;
	char part[IG_MAX][IG_NAME], part_of[IG_MAX][IG_NAME];   /* PART -> NAME */
	size_t nparts;
	int full;                   /* a module or name did not fit: the check fails */
	unsigned char edge[IG_MAX][IG_MAX];
};

/* The module of file[0..len) (with its .c or .h). */
static void ig_module(const struct include_graph *g, const char *file, size_t len, char out[IG_NAME])
{
	static const char internal[] = "_internal";
	size_t il = sizeof internal - 1;

	len = len > 2 ? len - 2 : 0;            /* without ".c" / ".h" */
	if (len > il && strncmp(file + len - il, internal, il) == 0)
		len -= il;
	snprintf(out, IG_NAME, "%.*s", (int)len, file);
	for (size_t i = 0; i < g->nparts; i++)
		if (strcmp(g->part[i], out) == 0) {
			snprintf(out, IG_NAME, "%s", g->part_of[i]);
			return;
		}
}

/* If .c file (its name and text) includes another module's private header,
 * it is a part of that module. */
static void ig_add_part(struct include_graph *g, const char *file, const char *text)
{
	static const char tail[] = "_internal.h\"";
	size_t len = strlen(file);
	const char *p;

	if (len < 3 || file[len - 1] != 'c')
		return;
	for (p = text; (p = strstr(p, "#include \"")) != NULL; p += 10) {
		const char *name = p + 10, *q = strstr(name, tail), *nl = strchr(name, '\n');

		if (q == NULL || (nl && q > nl) || (name != text + 10 && name[-11] != '\n'))
			continue;
		if (g->nparts == IG_MAX || (size_t)(q - name) >= IG_NAME || len - 2 >= IG_NAME) {
			g->full = 1;
			return;
		}
		snprintf(g->part_of[g->nparts], IG_NAME, "%.*s", (int)(q - name), name);
		snprintf(g->part[g->nparts], IG_NAME, "%.*s", (int)(len - 2), file);
		if (strcmp(g->part[g->nparts], g->part_of[g->nparts]) != 0)
			g->nparts++;
		return;
	}
}

static int ig_node(struct include_graph *g, const char *mod)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->name[i], mod) == 0)
			return (int)i;
	if (g->n == IG_MAX || strlen(mod) >= IG_NAME - 1) {
		g->full = 1;
		return -1;
	}
	snprintf(g->name[g->n], IG_NAME, "%s", mod);
	return (int)g->n++;
}

/* Add the includes of one project file (its name and text). */
static void ig_add_file(struct include_graph *g, const char *file, const char *text)
{
	char mod[IG_NAME], dep[IG_NAME];
	int from;

	ig_module(g, file, strlen(file), mod);
	if ((from = ig_node(g, mod)) < 0)
		return;
	for (const char *p = text; (p = strstr(p, "#include \"")) != NULL;) {
		const char *name = p + 10, *q = strchr(name, '"');
		int to;

		p = name;
		if (q == NULL || (name != text + 10 && name[-11] != '\n'))
			continue;       /* not at the start of a line */
		if (memchr(name, '/', (size_t)(q - name)) != NULL || q - name < 3 || q[-2] != '.' || q[-1] != 'h')
			continue;       /* only the project's own headers, by plain name */
		ig_module(g, name, (size_t)(q - name), dep);
		if (strcmp(dep, mod) != 0 && (to = ig_node(g, dep)) >= 0)
			g->edge[from][to] = 1;
	}
}

/* The *.c and *.h files of folder dir; 0, or -1 if one cannot be read. */
static int ig_load_pass(struct include_graph *g, const char *dir, int pass)
{
	static char text[1 << 20];
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	int rc = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name), n;
		FILE *f;

		if (len < 3 || e->d_name[len - 2] != '.' || (e->d_name[len - 1] != 'c' && e->d_name[len - 1] != 'h'))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if ((f = fopen(path, "r")) == NULL) {
			rc = -1;
			continue;
		}
		n = fread(text, 1, sizeof text - 1, f);
		fclose(f);
		text[n] = '\0';
		if (pass == 0)
			ig_add_part(g, e->d_name, text);
		else
			ig_add_file(g, e->d_name, text);
	}
	closedir(d);
	return rc;
}

/* The parts of split modules first, then the edges. */
static int ig_load_dir(struct include_graph *g, const char *dir)
{
	return ig_load_pass(g, dir, 0) < 0 ? -1 : ig_load_pass(g, dir, 1);
}

/* 1 with *a and *b set when two modules reach each other (an include
 * circle), else 0. */
static int ig_circle(const struct include_graph *g, const char **a, const char **b)
{
	static unsigned char reach[IG_MAX][IG_MAX];

	memcpy(reach, g->edge, sizeof reach);
	for (size_t k = 0; k < g->n; k++)
		for (size_t i = 0; i < g->n; i++)
			if (reach[i][k])
				for (size_t j = 0; j < g->n; j++)
					reach[i][j] |= reach[k][j];
	for (size_t i = 0; i < g->n; i++)
		for (size_t j = i + 1; j < g->n; j++)
			if (reach[i][j] && reach[j][i]) {
				*a = g->name[i];
				*b = g->name[j];
				return 1;
			}
	return 0;
}

#endif
