/*
 * Name lookups stay right while names change: each check first looks a name
 * up (so a dentry cache holds the answer, positive or negative), then changes
 * the directory, then looks again. Run in a fresh directory given as the
 * argument, here and under Linux; the outputs are compared.
 *
 *   t_dcache DIR
 */
#include "common.h"
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static char base[256];

static const char *at(const char *name)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", base, name);
    return p;
}

/* stat's answer: 0, or the errno. */
static int look(const char *name)
{
    struct stat st;
    return stat(at(name), &st) == 0 ? 0 : errno;
}

static long size_of(const char *name)
{
    struct stat st;
    return stat(at(name), &st) == 0 ? (long)st.st_size : -1;
}

static int make_file(const char *name, int bytes)
{
    int fd = open(at(name), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    char buf[8] = "xxxxxxx";
    int ok = write(fd, buf, (size_t)bytes) == bytes;
    close(fd);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    test_init();
    if (argc != 2) {
        printf("usage: t_dcache DIR\n");
        return 2;
    }
    snprintf(base, sizeof base, "%s/t_dcache.d", argv[1]);
    if (mkdir(base, 0755) != 0) {
        check(0, "mkdir the test directory");
        return finish();
    }

    /* A missing name, then created: the negative answer goes. */
    int before = look("f");
    int made = make_file("f", 1) == 0;
    check(before == ENOENT && made && look("f") == 0, "a created file is found after a failed lookup");
    check(make_file("f", 1) == 0 && look("f/") == ENOTDIR, "a file with a trailing slash is not a directory");

    /* Found, then unlinked: the positive answer goes. */
    before = look("f");
    check(before == 0 && unlink(at("f")) == 0 && look("f") == ENOENT, "an unlinked file is gone");

    /* Directories: made, removed, made again. */
    before = look("d");
    check(before == ENOENT && mkdir(at("d"), 0755) == 0 && look("d") == 0, "a new directory is found");
    check(look("d/inner") == ENOENT && mkdir(at("d/inner"), 0755) == 0 && look("d/inner") == 0,
          "a directory inside it is found");
    check(rmdir(at("d/inner")) == 0 && look("d/inner") == ENOENT && rmdir(at("d")) == 0 && look("d") == ENOENT,
          "removed directories are gone");
    check(look("d/inner") == ENOENT && mkdir(at("d"), 0755) == 0 && look("d/inner") == ENOENT,
          "a directory made again under the old name is empty");

    /* Rename: the old name goes, the new one comes, an overwritten one
     * shows the moved file. */
    check(make_file("a", 1) == 0 && look("a") == 0 && look("b") == ENOENT, "before rename");
    check(rename(at("a"), at("b")) == 0 && look("a") == ENOENT && size_of("b") == 1, "a renamed file moves");
    check(make_file("c", 3) == 0 && size_of("c") == 3 && rename(at("b"), at("c")) == 0 && size_of("c") == 1 &&
              look("b") == ENOENT,
          "rename over a cached file shows the moved one");
    check(rename(at("c"), at("d/c")) == 0 && look("c") == ENOENT && size_of("d/c") == 1, "rename across directories");
    check(make_file("e", 2) == 0 && size_of("e") == 2 && size_of("d/c") == 1 &&
              syscall(SYS_renameat2, AT_FDCWD, at("e"), AT_FDCWD, at("d/c"), RENAME_EXCHANGE) == 0 &&
              size_of("e") == 1 && size_of("d/c") == 2,
          "RENAME_EXCHANGE swaps both cached names");
    check(look("dd") == ENOENT && rename(at("d"), at("dd")) == 0 && look("d/c") == ENOENT && size_of("dd/c") == 2,
          "a renamed directory takes its files along");

    /* Links. */
    check(look("hard") == ENOENT && link(at("e"), at("hard")) == 0 && size_of("hard") == 1, "a hard link is found");
    check(look("sym") == ENOENT && symlink("e", at("sym")) == 0 && size_of("sym") == 1, "a symbolic link is followed");
    check(unlink(at("e")) == 0 && look("sym") == ENOENT && size_of("hard") == 1, "a link's target removed");

    /* Many names: more than a small cache holds, all right afterwards. */
    int ok = 1;
    char name[64];
    for (int i = 0; i < 3000 && ok; i++) {
        snprintf(name, sizeof name, "many%d", i);
        ok = look(name) == ENOENT && make_file(name, 1) == 0;
    }
    for (int i = 0; i < 3000 && ok; i++) {
        snprintf(name, sizeof name, "many%d", i);
        ok = look(name) == 0 && unlink(at(name)) == 0;
    }
    for (int i = 0; i < 3000 && ok; i++) {
        snprintf(name, sizeof name, "many%d", i);
        ok = look(name) == ENOENT;
    }
    check(ok, "3000 names made, found, removed and missing");

    /* A name longer than a short-name cache keeps. */
    const char *longname = "a_name_longer_than_forty_bytes_to_leave_the_inline_space_0123456789";
    check(look(longname) == ENOENT && make_file(longname, 1) == 0 && look(longname) == 0 && unlink(at(longname)) == 0 &&
              look(longname) == ENOENT,
          "a long name is made, found and removed");

    /* Clean up. */
    unlink(at("hard"));
    unlink(at("sym"));
    unlink(at("dd/c"));
    rmdir(at("dd"));
    check(rmdir(base) == 0, "the test directory is empty at the end");
    return finish();
}
