/* A fresh folder under /tmp for each test of a Criterion suite, removed after it:
 * RT_TMPDIR_SUITE(store) declares `tmpdir` and TestSuite(store) with the fixture. */
#ifndef RT_TESTS_UNIT_TMPDIR_H
#define RT_TESTS_UNIT_TMPDIR_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static char tmpdir[256];

static void rt_tmpdir_setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rt-unit.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void rt_tmpdir_teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

#define RT_TMPDIR_SUITE(name) TestSuite(name, .init = rt_tmpdir_setup, .fini = rt_tmpdir_teardown)

#endif
