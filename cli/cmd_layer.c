/* runtrail layer: packs the runtrail Lambda layer (the tree `make` builds in $(BUILD)/layer:
 * extensions/runtrail, runtrail/wrapper, runtrail/lib/) into a zip file ready for
 * `aws lambda publish-layer-version`. The archive is written by the `zip` command (no zip
 * library is among runtrail's dependencies), started with posix_spawn in the layer folder so
 * the paths inside are relative (Lambda unpacks a layer into /opt). */
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char help_head[] =
    "usage: runtrail layer [-o FILE] [--from DIR]\n"
    "\n"
    "Write the runtrail Lambda layer as a zip file: extensions/runtrail (the extension),\n"
    "runtrail/wrapper (set AWS_LAMBDA_EXEC_WRAPPER=/opt/runtrail/wrapper) and runtrail/lib/\n"
    "(the interposer and the shared libraries Lambda's images lack). The layer tree is the\n"
    "one built next to this program (../layer, or ../lib/runtrail/layer when installed).\n"
    "Publish it with: aws lambda publish-layer-version --layer-name runtrail \\\n"
    "  --zip-file fileb://runtrail-layer.zip --compatible-architectures x86_64\n"
    "\n";

enum { OPT_OUTPUT = 1, OPT_FROM };
static const struct rt_opt options[] = {
    {OPT_OUTPUT, "output", 'o', "FILE",
     "the zip to write (default runtrail-layer.zip); replaced if present"},
    {OPT_FROM, "from", 0, "DIR", "pack this layer tree instead"},
    {0},
};

static const char help_tail[] =
    "\n"
    "Exit status: 0 written, 2 usage error, missing layer tree or zip failure.\n"
    "See runtrail-layer(1) and docs/deploy.md.\n";

static const struct rt_cli_spec layer_spec = {"layer", help_head, options, help_tail, false};

static bool is_layer(const char *dir)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/extensions/runtrail", dir);
    if (access(p, X_OK) != 0)
        return false;
    snprintf(p, sizeof p, "%s/runtrail/wrapper", dir);
    return access(p, X_OK) == 0;
}

/* The layer tree next to this program: ../layer (build tree) or ../lib/runtrail/layer. */
static bool find_layer(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0';
    static const char *const rel[] = {"../layer", "../lib/runtrail/layer"};
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        char cand[PATH_MAX + 32];
        snprintf(cand, sizeof cand, "%s/%s", exe, rel[i]);
        if (is_layer(cand) && realpath(cand, out) && strlen(out) < cap)
            return true;
    }
    return false;
}

/* FILE as an absolute path (its folder must exist). */
static bool absolute_output(const char *file, char *out, size_t cap)
{
    char dir[PATH_MAX], real[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    const char *base = file;
    if (slash) {
        base = file + (slash - dir) + 1;
        if (slash == dir)
            snprintf(dir, sizeof dir, "/");
        else
            *slash = '\0';
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    if (!*base || !realpath(dir, real))
        return false;
    int len = snprintf(out, cap, "%s/%s", strcmp(real, "/") ? real : "", base);
    return len > 0 && (size_t)len < cap;
}

RT_COMMAND(layer, "build the Lambda layer zip (extension, wrapper, interposer)")
{
    const char *output = "runtrail-layer.zip", *from = NULL;
    struct rt_cli_parser p;
    rt_cli_opts_begin(&p, &layer_spec, argc, argv);
    for (int id; (id = rt_cli_opts_next(&p)) != RT_CLI_OPTS_END;) {
        if (id == RT_CLI_OPTS_STOP)
            return p.status;
        if (id == OPT_OUTPUT)
            output = p.value;
        else if (id == OPT_FROM)
            from = p.value;
    }
    if (p.first_operand < argc)
        return rt_cli_usage_error("layer", "unexpected argument '%s'", argv[p.first_operand]);
    char layer[PATH_MAX];
    if (from) {
        if (!is_layer(from) || !realpath(from, layer)) {
            rt_cli_error("layer: %s is not a layer tree (needs extensions/runtrail and "
                         "runtrail/wrapper)",
                         from);
            return RT_EXIT_USAGE;
        }
    } else if (!find_layer(layer, sizeof layer)) {
        rt_cli_error("layer: no layer tree next to this program; run 'make' (it builds "
                     "BUILD/layer) or pass --from DIR");
        return RT_EXIT_USAGE;
    }
    char out[PATH_MAX + 8], tmp[PATH_MAX + 64];
    if (!absolute_output(output, out, sizeof out)) {
        rt_cli_error("layer: %s: the folder does not exist", output);
        return RT_EXIT_USAGE;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp%d.zip", out, (int)getpid());
    unlink(tmp);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, layer);
    char *args[] = {"zip", "-q", "-r", "-y", "-X", tmp, "extensions", "runtrail", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "zip", &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        rt_cli_error("layer: cannot run zip: %s (install it: apt-get install zip)", strerror(rc));
        return RT_EXIT_USAGE;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        unlink(tmp);
        rt_cli_error("layer: zip failed (status %d) packing %s",
                     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), layer);
        return RT_EXIT_USAGE;
    }
    if (rename(tmp, out) != 0) {
        rt_cli_error("layer: %s: %s", out, strerror(errno));
        unlink(tmp);
        return RT_EXIT_USAGE;
    }
    struct stat st;
    printf("%s (%lld bytes, from %s)\n", out, stat(out, &st) == 0 ? (long long)st.st_size : 0LL,
           layer);
    return RT_EXIT_OK;
}
