/* The CODE digest: what a function's code is, as one SHA-256 per tree (the task root, the
 * layers folder), over the sorted relative paths of its directories, regular files (by their
 * own SHA-256) and symbolic links (by target), runtrail's own layer files left out. The
 * recorder's extension computes it once per sandbox; `runtrail replay` recomputes it over the
 * task root it is given, so both must hash the same way: this file is the one place. */
#include "formats/codetree.h"

#include "formats/digest.h"
#include "formats/error.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TREE_FILES 50000
#define MAX_TREE_BYTES (512ull * 1024 * 1024) /* Lambda's limit is 250 MB unzipped */
#define MAX_TREE_DEPTH 32

struct tree {
    struct rt_sha256_ctx *ctx;
    bool (*skip)(const char *rel);
    uint32_t files;
    uint64_t bytes;
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void hash_file(struct tree *t, int dirfd, const char *name, const char *rel)
{
    uint8_t digest[RT_SHA256_LEN];
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    struct rt_sha256_ctx *fc = rt_sha256_new();
    if (!fc) {
        close(fd);
        return;
    }
    char buf[65536];
    ssize_t got;
    while (t->bytes < MAX_TREE_BYTES && (got = read(fd, buf, sizeof buf)) > 0) {
        rt_sha256_update(fc, buf, (size_t)got);
        t->bytes += (uint64_t)got;
    }
    close(fd);
    rt_sha256_final(fc, digest);
    rt_sha256_update(t->ctx, "F", 1);
    rt_sha256_update(t->ctx, rel, strlen(rel) + 1);
    rt_sha256_update(t->ctx, digest, sizeof digest);
    t->files++;
}

static void walk_dir(struct tree *t, int dirfd, const char *rel, int depth)
{
    if (depth > MAX_TREE_DEPTH || t->files >= MAX_TREE_FILES || t->bytes >= MAX_TREE_BYTES)
        return;
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
            cap = ncap;
        }
        if ((names[n] = strdup(de->d_name)) != NULL)
            n++;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        char child[PATH_MAX];
        int len = snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        if (len < 0 || (size_t)len >= sizeof child || (t->skip && t->skip(child)))
            continue;
        struct stat st;
        if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            if (sub >= 0) {
                rt_sha256_update(t->ctx, "D", 1);
                rt_sha256_update(t->ctx, child, strlen(child) + 1);
                walk_dir(t, sub, child, depth + 1);
            }
        } else if (S_ISREG(st.st_mode)) {
            hash_file(t, dirfd, names[i], child);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t tl = readlinkat(dirfd, names[i], target, sizeof target - 1);
            if (tl >= 0) {
                target[tl] = '\0';
                rt_sha256_update(t->ctx, "L", 1);
                rt_sha256_update(t->ctx, child, strlen(child) + 1);
                rt_sha256_update(t->ctx, target, (size_t)tl + 1);
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
}

int rt_code_tree_digest(const char *root, bool (*skip)(const char *rel), uint8_t out[32],
                        uint32_t *files, uint64_t *bytes)
{
    struct tree t = {.ctx = rt_sha256_new(), .skip = skip};
    if (!t.ctx)
        return RT_ERR_NOMEM;
    int fd = root && *root ? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0)
        walk_dir(&t, fd, "", 0);
    rt_sha256_final(t.ctx, out);
    if (files)
        *files += t.files;
    if (bytes)
        *bytes += t.bytes;
    return RT_OK;
}

/* runtrail's own layer files: the extension and the runtrail/ folder. */
static bool skip_runtrail(const char *rel)
{
    return !strcmp(rel, "runtrail") || !strncmp(rel, "runtrail/", 9) ||
           !strcmp(rel, "extensions/runtrail");
}

int rt_code_digest(const char *task_root, const char *layers_dir, struct rt_code *code)
{
    memset(code, 0, sizeof *code);
    int rc = rt_code_tree_digest(task_root, NULL, code->task_root, &code->files, &code->bytes);
    if (rc == RT_OK)
        rc = rt_code_tree_digest(layers_dir, skip_runtrail, code->layers, &code->files,
                                 &code->bytes);
    code->task_root_path = task_root ? strdup(task_root) : NULL;
    return rc;
}
