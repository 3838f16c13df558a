/* Pages of a file in the page cache, counted with mincore through a mapping of the test's own:
 * for the ring's page-cache tests (test_ring.c, test_extension.c). */
#ifndef RT_TESTS_UNIT_CACHED_PAGES_H
#define RT_TESTS_UNIT_CACHED_PAGES_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t cached_pages(const char *path, size_t *total)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert(fd >= 0);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = ((size_t)st.st_size + page - 1) / page;
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    cr_assert(m != MAP_FAILED);
    unsigned char *vec = malloc(n);
    cr_assert_eq(mincore(m, (size_t)st.st_size, vec), 0);
    size_t in = 0;
    for (size_t i = 0; i < n; i++)
        in += vec[i] & 1;
    free(vec);
    munmap(m, (size_t)st.st_size);
    *total = n;
    return in;
}

#endif
