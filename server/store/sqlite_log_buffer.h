// A SQLite VFS that gathers the writes to a write-ahead log into one system
// call per 128 KiB.
//
// SQLite writes each frame of the log with two system calls, one for the
// frame's 24-byte header and one for its page, so a group commit of 24
// pauses, some 67 pages, made about 134 `pwrite64` calls before its sync
// (BENCHMARKS.md, "What a write costs the writer"). This VFS passes every
// call to the VFS beneath it, except that it keeps the appends to a log file
// in a buffer and writes them in one call (per 128 KiB, the most the unix VFS
// takes at once) when SQLite next syncs, reads, sizes or truncates that file,
// writes it elsewhere, or closes it. At each of those points the file holds
// exactly what it would hold without the buffer, so what a sync makes durable
// is the same; a write that fails is reported by the call that flushes it.
//
// Only for a connection with `PRAGMA synchronous = FULL` (or EXTRA): its
// commits sync the log before they make the new frames visible to other
// connections, so no other connection reads a frame still in the buffer. With
// NORMAL they do not, and the buffer would hide committed frames from them.
// The buffer also relies on SQLite not padding the log to a sector boundary,
// which it does only for a file without SQLITE_IOCAP_POWERSAFE_OVERWRITE; a
// log on such a file is passed through unbuffered.
#ifndef SERVICEMANAGER_SERVER_STORE_SQLITE_LOG_BUFFER_H_
#define SERVICEMANAGER_SERVER_STORE_SQLITE_LOG_BUFFER_H_

#include <string>

#include "absl/status/statusor.h"

namespace servicemanager::store {

// The name of the log-buffering VFS over `base` (a registered VFS; empty for
// the default), registered on first use. NOT_FOUND if `base` is not
// registered.
absl::StatusOr<std::string> LogBufferingVfs(const std::string& base);

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_SQLITE_LOG_BUFFER_H_
