// CSystem: thin wrappers over glibc calls that need _GNU_SOURCE (see csystem.h).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "csystem.h"

int npyexp_syncfs(int fd) {
#if defined(__linux__)
    return syncfs(fd);
#else
    (void)fd;
    sync();
    return 0;
#endif
}

int npyexp_start_writeback(int fd, long long offset, long long count) {
#if defined(__linux__)
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    (void)offset;
    (void)count;
    return 0;
#endif
}

int npyexp_open_unnamed(const char *directory) {
#if defined(__linux__) && defined(O_TMPFILE)
    return open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
#else
    (void)directory;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int npyexp_link_unnamed(int fd, const char *path) {
#if defined(__linux__)
    char source[40];
    snprintf(source, sizeof source, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, source, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
#else
    (void)fd;
    (void)path;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

static int saved_argc;
static char **saved_argv;

static void capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}

#if defined(__linux__)
// Run by the dynamic loader (or the static start code) before main, with argc, argv and envp.
__attribute__((used, section(".init_array"))) static void (*const capture_at_start)(int, char **, char **) =
    capture_arguments;
#endif

int npyexp_argc(void) { return saved_argv ? saved_argc : 0; }
char **npyexp_argv(void) { return saved_argv; }
