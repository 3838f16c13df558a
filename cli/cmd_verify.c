/* runtrail verify: checks the integrity of bundles given as files or folders (searched
 * recursively for *.rtb): the zstd content checksum, the SHA-256 footer digest and a full
 * decode of every block, then across the bundles of each sandbox the digest chain (gaps,
 * modified bundles, reordering, forks; formats/chain.h). Findings go to stderr, one line
 * each naming the file; a summary line goes to stdout. */
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/chain.h"
#include "formats/escape.h"

#include <dirent.h>
#include <jansson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char help[] =
    "usage: runtrail verify [-v] [--json] PATH...\n"
    "\n"
    "Verify trace bundles. PATH is a bundle file or a folder searched recursively for\n"
    "*.rtb files. Each bundle's zstd checksum, footer digest (SHA-256) and blocks are\n"
    "checked; then, for every sandbox, the chain of sequence numbers and previous-bundle\n"
    "digests: missing bundles (gap), modified or replaced bundles, reordering, and forks\n"
    "(two different bundles with one sequence number). Each finding is printed on stderr\n"
    "as 'runtrail: FILE: reason'; a summary line is printed on stdout.\n"
    "\n"
    "  -v, --verbose   also print one 'ok' line per intact bundle\n"
    "  --json          one JSON object per line on stdout instead: each finding\n"
    "                  {\"record\":\"finding\",\"file\",\"problem\",\"reason\",...} (problem:\n"
    "                  unreadable, corrupt, gap, modified, reordered, fork), \"ok\" records\n"
    "                  with -v, and a last {\"record\":\"summary\",...}\n"
    "  -h, --help      this help\n"
    "\n"
    "Exit status: 0 all intact, 1 findings, 2 usage error or unreadable input.\n"
    "See runtrail-verify(1) and docs/format.md.\n";

struct files {
    char **v;
    size_t n, cap;
};

/* File names and sandbox ids come from the outside: escaped before they reach the terminal.
 * Returns buf. */
static const char *esc(const char *s, char *buf, size_t cap)
{
    rt_escape_buf(buf, cap, s, strlen(s), 0);
    return buf;
}

static bool json_mode;

/* One finding: "runtrail: NAME: text" with both parts escaped on stderr, or a JSON line.
 * problem names the kind (unreadable, corrupt, or a chain problem); sandbox, seq and other
 * are optional (NULL, -1, NULL). */
static void report(const char *name, const char *problem, const char *text, const char *sandbox,
                   long long seq, const char *other)
{
    if (json_mode) {
        json_t *j = json_object();
        json_object_set_new(j, "record", json_string("finding"));
        json_object_set_new(j, "file", rt_cli_json_str(name));
        json_object_set_new(j, "problem", json_string(problem));
        json_object_set_new(j, "reason", rt_cli_json_str(text));
        if (sandbox)
            json_object_set_new(j, "sandbox", rt_cli_json_str(sandbox));
        if (seq >= 0)
            json_object_set_new(j, "seq", json_integer(seq));
        if (other)
            json_object_set_new(j, "other", rt_cli_json_str(other));
        rt_cli_json_line(j);
        return;
    }
    char n[1024], t[1024];
    rt_cli_error("%s: %s", esc(name, n, sizeof n), esc(text, t, sizeof t));
}

static void finding(const char *name, const char *text)
{
    report(name, "unreadable", text, NULL, -1, NULL);
}

static const char *const chain_problem[] = {
#define _(id, name) [RT_CHAIN_##id] = name,
    RT_CHAIN_PROBLEMS(_)
#undef _
};

static int push(struct files *f, const char *path)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        char **v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return -1;
        f->v = v;
        f->cap = cap;
    }
    if (!(f->v[f->n] = strdup(path)))
        return -1;
    f->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_ext(const char *name)
{
    size_t n = strlen(name), e = strlen(RT_BUNDLE_EXT);
    return n > e && !strcmp(name + n - e, RT_BUNDLE_EXT);
}

/* Adds the *.rtb files below dir; returns the number of unreadable folders. */
static int scan(struct files *f, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        finding(dir, strerror(errno));
        return 1;
    }
    int bad = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *p = malloc(len);
        if (!p)
            break;
        snprintf(p, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (depth < 64)
                bad += scan(f, p, depth + 1);
        } else if (has_ext(de->d_name) && push(f, p)) {
            bad++;
        }
        free(p);
    }
    closedir(d);
    return bad;
}

RT_COMMAND(verify, "check bundle checksums, footer digests and the per-sandbox chain")
{
    bool verbose = false;
    int n_paths = 0;
    if (rt_cli_wants_help(argc, argv))
        return rt_cli_help(help);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
            verbose = true;
        else if (!strcmp(argv[i], "--json"))
            json_mode = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return rt_cli_usage_error("verify", "unknown option '%s'", argv[i]);
        else
            n_paths++;
    }
    if (!n_paths)
        return rt_cli_usage_error("verify", "which bundles? (runtrail verify PATH...)");

    struct files files = {0};
    int unreadable = 0;
    for (int i = 1; i < argc; i++) {
        const char *p = argv[i];
        if (p[0] == '-' && p[1])
            continue;
        struct stat st;
        if (stat(p, &st) != 0) {
            finding(p, strerror(errno));
            unreadable++;
        } else if (S_ISDIR(st.st_mode)) {
            size_t before = files.n;
            unreadable += scan(&files, p, 0);
            if (files.n > before)
                qsort(files.v + before, files.n - before, sizeof *files.v, cmp_str);
        } else if (push(&files, p)) {
            unreadable++;
        }
    }

    struct rt_chain *chain = rt_chain_new();
    size_t findings = 0, intact = 0;
    for (size_t i = 0; chain && i < files.n; i++) {
        const char *path = files.v[i];
        struct rt_bundle *b = NULL;
        struct rt_errinfo ei;
        char msg[600];
        /* the chain needs META and the footer digest: events are framed, not decoded */
        int rc = rt_bundle_open_file_flags(path, RT_BUNDLE_NO_EVENTS, &b, &ei);
        if (rc == RT_ERR_IO || rc == RT_ERR_NOMEM) {
            finding(path, rt_errinfo_format(rc, &ei, msg, sizeof msg));
            unreadable++;
            continue;
        }
        if (rc) {
            report(path, "corrupt", rt_errinfo_format(rc, &ei, msg, sizeof msg), NULL, -1, NULL);
            findings++;
            continue;
        }
        if (rt_chain_add(chain, path, &b->meta, b->digest))
            unreadable++;
        intact++;
        if (verbose && json_mode) {
            char hex[2 * RT_DIGEST_LEN + 1];
            json_t *j = json_object();
            json_object_set_new(j, "record", json_string("ok"));
            json_object_set_new(j, "file", rt_cli_json_str(path));
            json_object_set_new(j, "sandbox", rt_cli_json_str(b->meta.sandbox_id));
            json_object_set_new(j, "seq", json_integer((json_int_t)b->meta.seq));
            json_object_set_new(j, "digest", json_string(rt_digest_hex(b->digest, hex)));
            rt_cli_json_line(j);
        } else if (verbose) {
            char n[1024], s[256];
            printf("ok %s (sandbox %s seq %llu)\n", esc(path, n, sizeof n),
                   esc(b->meta.sandbox_id ? b->meta.sandbox_id : "-", s, sizeof s),
                   (unsigned long long)b->meta.seq);
        }
        rt_bundle_free(b);
    }
    const struct rt_chain_finding *cf = NULL;
    size_t n_cf = rt_chain_check(chain, &cf);
    for (size_t i = 0; i < n_cf; i++)
        report(cf[i].name, chain_problem[cf[i].problem], cf[i].text, cf[i].sandbox_id,
               (long long)cf[i].seq, cf[i].other);
    findings += n_cf;
    size_t n_sb = rt_chain_sandboxes(chain);
    if (json_mode) {
        json_t *j = json_object();
        json_object_set_new(j, "record", json_string("summary"));
        json_object_set_new(j, "bundles", json_integer((json_int_t)files.n));
        json_object_set_new(j, "intact", json_integer((json_int_t)intact));
        json_object_set_new(j, "sandboxes", json_integer((json_int_t)n_sb));
        json_object_set_new(j, "findings", json_integer((json_int_t)findings));
        json_object_set_new(j, "unreadable", json_integer(unreadable));
        rt_cli_json_line(j);
    } else {
        printf("verify: %zu bundle%s, %zu sandbox%s: %s", files.n, files.n == 1 ? "" : "s", n_sb,
               n_sb == 1 ? "" : "es", findings ? "" : "all intact\n");
        if (findings)
            printf("%zu finding%s\n", findings, findings == 1 ? "" : "s");
    }
    if (!chain) {
        rt_cli_error("out of memory");
        unreadable++;
    }
    rt_chain_free(chain);
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    if (unreadable)
        return RT_EXIT_USAGE;
    return findings ? RT_EXIT_FINDINGS : RT_EXIT_OK;
}
