/* fuzz-sources: recorder/extension/procparse.c */
/* libFuzzer harness for the parsers of the /proc texts the extension samples (a process the
 * interposer cannot enter may be anything, and its comm name is in /proc/PID/stat): the
 * socket-table search with both address forms and a few inodes, fdinfo's flags, stat's
 * parent pid and the environment block's check for the interposer. Checks that a found socket's
 * addresses are NUL-terminated inside their fields and that the numbers stay in range. */
#include "recorder/extension/extension.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1); /* exactly size bytes: ASan catches any overread */
    if (!text)
        return 0;
    memcpy(text, data, size);
    static const uint64_t inodes[] = {0, 1, 12345, 18446744073709551615ull};
    for (int v6 = 0; v6 < 2; v6++)
        for (size_t i = 0; i < sizeof inodes / sizeof inodes[0]; i++) {
            struct rt_proc_sock s;
            if (rt_proc_net_find(text, size, v6, inodes[i], &s)) {
                if (s.inode != inodes[i] || !memchr(s.local, 0, sizeof s.local) ||
                    !memchr(s.remote, 0, sizeof s.remote) || s.state < 0 || s.state > 255)
                    abort();
            }
        }
    sink += rt_proc_environ_interposed(text, size, "/proc/1/fd/3") +
            rt_proc_environ_interposed(text, size, "");
    long flags = rt_proc_fdinfo_flags(text, size);
    long ppid = rt_proc_stat_ppid(text, size);
    if (flags < -1 || ppid < -1)
        abort();
    free(text);
    return 0;
}
