// CSystem: Linux calls that glibc declares only under _GNU_SOURCE, which Swift's Glibc module does not see.
#ifndef NPYEXP_CSYSTEM_H
#define NPYEXP_CSYSTEM_H

/// syncfs(2): flushes the file system holding `fd`; returns 0 or -1 with errno set.
int npyexp_syncfs(int fd);

/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE: starts writing back the dirty pages of [offset, offset + count)
/// without waiting for them (a later fsync then has less to do); 0, or -1 with errno set. A no-op elsewhere.
int npyexp_start_writeback(int fd, long long offset, long long count);

/// open(2) with O_TMPFILE: a new regular file (mode 0644, read-write) in `directory` with no name, which vanishes
/// when its last descriptor closes unless linked; the descriptor, or -1 with errno set (EOPNOTSUPP or EISDIR where
/// the file system or kernel has no O_TMPFILE; EOPNOTSUPP elsewhere than Linux).
int npyexp_open_unnamed(const char *directory);

/// linkat(2) of the unnamed file open as `fd` to `path`, through /proc/self/fd (no capability needed): 0, or -1
/// with errno set (EEXIST when `path` is taken).
int npyexp_link_unnamed(int fd, const char *path);

/// The process's argc and argv as the C runtime handed them to the program's constructors (glibc passes them to
/// .init_array functions); 0 and NULL where that did not happen. Swift's `CommandLine` reads /proc/self/cmdline on
/// Linux and sees no arguments at all where /proc is not mounted (a chroot, a bare container).
int npyexp_argc(void);
char **npyexp_argv(void);
#endif
