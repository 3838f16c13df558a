/* The one folder walk of the commands that take "a bundle or a folder of bundles" (verify,
 * index): every *.rtb file below a folder, in name order per folder, following symbolic links
 * (a data folder may well be one) but entering each folder once, by device and inode, so a
 * link back up the tree (`ln -s . a`) ends the walk instead of multiplying it. */
#include "cli/cli.h"
#include "formats/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 64

struct walk {
    struct rt_cli_walk_ops ops;
    void *arg;
    dev_t *dev;
    ino_t *ino;
    size_t n, cap;
    int errors;
};

static bool has_ext(const char *name)
{
    size_t n = strlen(name), e = strlen(RT_BUNDLE_EXT);
    return n > e && !strcmp(name + n - e, RT_BUNDLE_EXT);
}

/* Records a folder; false if it was entered before (or out of memory). */
static bool first_visit(struct walk *w, const struct stat *sb)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->dev[i] == sb->st_dev && w->ino[i] == sb->st_ino)
            return false;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        dev_t *d = realloc(w->dev, cap * sizeof *d);
        if (!d)
            return false;
        w->dev = d;
        ino_t *in = realloc(w->ino, cap * sizeof *in);
        if (!in)
            return false;
        w->ino = in;
        w->cap = cap;
    }
    w->dev[w->n] = sb->st_dev;
    w->ino[w->n++] = sb->st_ino;
    return true;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_dir(struct walk *w, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        w->ops.error(dir, strerror(errno), w->arg);
        w->errors++;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; i < n; i++) {
        char child[PATH_MAX];
        int len = snprintf(child, sizeof child, "%s%s%s", dir,
                           dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
        struct stat sb;
        if (len < 0 || (size_t)len >= sizeof child) {
            w->ops.error(dir, "path too long", w->arg);
            w->errors++;
        } else if (stat(child, &sb) != 0) {
            if (has_ext(names[i])) { /* a dangling link named like a bundle is worth a word */
                w->ops.error(child, strerror(errno), w->arg);
                w->errors++;
            }
        } else if (S_ISDIR(sb.st_mode)) {
            if (depth < MAX_DEPTH && first_visit(w, &sb))
                walk_dir(w, child, depth + 1);
        } else if (S_ISREG(sb.st_mode) && has_ext(names[i])) {
            w->ops.file(child, w->arg);
        }
        free(names[i]);
    }
    free(names);
}

int rt_cli_walk_bundles(const char *path, const struct rt_cli_walk_ops *ops, void *arg)
{
    struct walk w = {.ops = *ops, .arg = arg};
    struct stat sb;
    if (stat(path, &sb) != 0) {
        ops->error(path, strerror(errno), arg);
        return 1;
    }
    if (S_ISDIR(sb.st_mode)) {
        first_visit(&w, &sb);
        walk_dir(&w, path, 0);
    } else {
        ops->file(path, arg); /* named explicitly: whatever its name */
    }
    free(w.dev);
    free(w.ino);
    return w.errors;
}
