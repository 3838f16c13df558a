/* runtrail verify: checks the integrity of bundles given as files or folders (searched
 * recursively for *.rtb): the zstd content checksum, the SHA-256 footer digest and a full
 * decode of every block, then across the bundles of each sandbox the digest chain (gaps,
 * modified bundles, reordering, forks; formats/chain.h). Findings go to stderr, one line
 * each naming the file; a summary line goes to stdout. */
#include "cli/cli.h"
#include "formats/bundle.h"
#include "formats/chain.h"
#include "formats/escape.h"
#include "store/catalog.h"

#include <dirent.h>
#include <jansson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char help_head[] =
    "usage: runtrail verify [-v] [--json] [--since T] [--strict] PATH...\n"
    "\n"
    "Verify trace bundles. PATH is a bundle file or a folder searched recursively for\n"
    "*.rtb files. Each bundle's zstd checksum, footer digest (SHA-256) and blocks are\n"
    "checked; then, for every sandbox, the chain of sequence numbers and previous-bundle\n"
    "digests: missing bundles (gap), modified or replaced bundles, reordering, and forks\n"
    "(two different bundles with one sequence number), a chain that does not start at\n"
    "seq 0 (head) and one whose highest bundle is not the sandbox's last (open). Each\n"
    "finding is printed on stderr as 'runtrail: FILE: reason', each warning as\n"
    "'runtrail: warning: FILE: reason'; a summary line is printed on stdout.\n"
    "\n";

enum { OPT_VERBOSE = 1, OPT_JSON, OPT_SINCE, OPT_STRICT };
static const struct rt_opt options[] = {
    {OPT_VERBOSE, "verbose", 'v', NULL, "also print one 'ok' line per intact bundle"},
    {OPT_SINCE, "since", 0, "T",
     "the bundles were pulled from T on (pull --since): a chain\n"
     "whose first bundle starts at or after T may begin before it,\n"
     "so its missing head is a warning; without --since it is a finding"},
    {OPT_STRICT, "strict", 0, NULL,
     "warnings are findings too (an open chain, an explainable head)"},
    {OPT_JSON, "json", 0, NULL,
     "one JSON object per line on stdout instead: each finding\n"
     "{\"record\":\"finding\",\"file\",\"problem\",\"reason\",...} (problem:\n"
     "unreadable, corrupt, gap, modified, reordered, fork, head,\n"
     "open), {\"record\":\"warning\",...} alike, \"ok\" records\n"
     "with -v, and a last {\"record\":\"summary\",...}"},
    {0},
};

static const char help_tail[] =
    "\n"
    "Folders are searched following symbolic links, each folder once (a link loop\n"
    "ends the walk). A missing path, an unreadable folder or an empty folder is\n"
    "reported; when no bundle at all was found, verify says that nothing was checked.\n"
    "\n"
    "Exit status: 0 all intact, 1 findings, 2 usage error, unreadable input, or no\n"
    "bundle found (nothing was checked).\n"
    "See runtrail-verify(1) and docs/format.md.\n";

static const struct rt_cli_spec verify_spec = {"verify", help_head, options, help_tail, false};

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
static void report_as(const char *record, const char *name, const char *problem, const char *text,
                      const char *sandbox, long long seq, const char *other)
{
    if (json_mode) {
        json_t *j = json_object();
        json_object_set_new(j, "record", json_string(record));
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
    if (!strcmp(record, "warning"))
        rt_cli_error("warning: %s: %s", esc(name, n, sizeof n), esc(text, t, sizeof t));
    else
        rt_cli_error("%s: %s", esc(name, n, sizeof n), esc(text, t, sizeof t));
}

static void report(const char *name, const char *problem, const char *text, const char *sandbox,
                   long long seq, const char *other)
{
    report_as("finding", name, problem, text, sandbox, seq, other);
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

struct scan {
    struct files *files;
    int unreadable;
};

static void on_file(const char *path, void *arg)
{
    struct scan *sc = arg;
    if (push(sc->files, path))
        sc->unreadable++;
}

static void on_error(const char *path, const char *reason, void *arg)
{
    (void)arg;
    finding(path, reason);
}

RT_COMMAND(verify, "check bundle checksums, footer digests and the per-sandbox chain")
{
    bool verbose = false, strict = false;
    int64_t since_ns = 0;
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &verify_spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        struct timespec ts;
        switch (id) {
        case RT_CLI_OPTS_STOP:
            return p.status;
        case OPT_VERBOSE:
            verbose = true;
            break;
        case OPT_JSON:
            json_mode = true;
            break;
        case OPT_STRICT:
            strict = true;
            break;
        case OPT_SINCE:
            clock_gettime(CLOCK_REALTIME, &ts);
            if (rt_parse_time(p.value, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, &since_ns) !=
                    RT_OK ||
                since_ns <= 0)
                return rt_cli_opts_bad_value(&p, "%s", rt_strerror(RT_ERR_TIME_FORMAT));
            break;
        default:
            break;
        }
    }
    if (p.first_operand >= argc)
        return rt_cli_usage_error("verify", "which bundles? (runtrail verify PATH...)");

    struct files files = {0};
    struct scan sc = {.files = &files};
    static const struct rt_cli_walk_ops ops = {on_file, on_error};
    for (int i = p.first_operand; i < argc; i++) {
        size_t before = files.n;
        int errors = rt_cli_walk_bundles(argv[i], &ops, &sc);
        sc.unreadable += errors;
        if (files.n > before)
            qsort(files.v + before, files.n - before, sizeof *files.v, cmp_str);
        else if (!errors) /* an empty folder: say so, it is not "intact" */
            finding(argv[i], "no *.rtb bundles in this folder");
    }
    int unreadable = sc.unreadable;

    struct rt_chain *chain = rt_chain_new();
    rt_chain_set_since(chain, since_ns);
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
    size_t warnings = 0;
    for (size_t i = 0; i < n_cf; i++) {
        bool warn = cf[i].warning && !strict;
        report_as(warn ? "warning" : "finding", cf[i].name, chain_problem[cf[i].problem],
                  cf[i].text, cf[i].sandbox_id, (long long)cf[i].seq, cf[i].other);
        *(warn ? &warnings : &findings) += 1;
    }
    size_t n_sb = rt_chain_sandboxes(chain);
    if (json_mode) {
        json_t *j = json_object();
        json_object_set_new(j, "record", json_string("summary"));
        json_object_set_new(j, "bundles", json_integer((json_int_t)files.n));
        json_object_set_new(j, "intact", json_integer((json_int_t)intact));
        json_object_set_new(j, "sandboxes", json_integer((json_int_t)n_sb));
        json_object_set_new(j, "findings", json_integer((json_int_t)findings));
        json_object_set_new(j, "unreadable", json_integer(unreadable));
        json_object_set_new(j, "warnings", json_integer((json_int_t)warnings));
        if (!files.n)
            json_object_set_new(j, "nothing_checked", json_true());
        rt_cli_json_line(j);
    } else if (!files.n) {
        printf("verify: no bundles found: nothing was checked\n");
    } else {
        printf("verify: %zu bundle%s, %zu sandbox%s: %s", files.n, files.n == 1 ? "" : "s", n_sb,
               n_sb == 1 ? "" : "es", findings ? "" : "all intact");
        if (findings)
            printf("%zu finding%s", findings, findings == 1 ? "" : "s");
        if (warnings)
            printf(", %zu warning%s (see stderr; --strict makes them findings)", warnings,
                   warnings == 1 ? "" : "s");
        printf("\n");
    }
    if (!chain) {
        rt_cli_error("out of memory");
        unreadable++;
    }
    rt_chain_free(chain);
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    if (unreadable || !files.n) /* nothing checked is never a success */
        return RT_EXIT_USAGE;
    return findings ? RT_EXIT_FINDINGS : RT_EXIT_OK;
}
