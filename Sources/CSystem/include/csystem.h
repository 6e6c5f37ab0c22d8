// CSystem: Linux calls that glibc declares only under _GNU_SOURCE, which Swift's Glibc module does not see.
#ifndef NPYEXP_CSYSTEM_H
#define NPYEXP_CSYSTEM_H

/// syncfs(2): flushes the file system holding `fd`; returns 0 or -1 with errno set.
int npyexp_syncfs(int fd);

/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE: starts writing back the dirty pages of [offset, offset + count)
/// without waiting for them (a later fsync then has less to do); 0, or -1 with errno set. A no-op elsewhere.
int npyexp_start_writeback(int fd, long long offset, long long count);
#endif
