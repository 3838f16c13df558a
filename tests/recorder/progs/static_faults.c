/* Recorder behaviour test: a statically linked program that prints the page faults its process
 * has taken so far. A process's fault count survives exec, so run by a program that execs it
 * (the layer's wrapper), the count includes that program's, and the difference with the
 * count it prints when run directly is what that program cost (tests/e2e/extension_layer.sh). */
#include <stdio.h>
#include <sys/resource.h>

int main(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 1;
    printf("%ld\n", ru.ru_minflt + ru.ru_majflt);
    return 0;
}
