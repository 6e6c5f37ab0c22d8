// CSystem: Linux calls that glibc declares only under _GNU_SOURCE, which Swift's Glibc module does not see.
#ifndef NPYEXP_CSYSTEM_H
#define NPYEXP_CSYSTEM_H

/// syncfs(2): flushes the file system holding `fd`; returns 0 or -1 with errno set.
int npyexp_syncfs(int fd);

#endif
