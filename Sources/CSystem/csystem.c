// CSystem: thin wrappers over glibc calls that need _GNU_SOURCE (see csystem.h).
#define _GNU_SOURCE
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
