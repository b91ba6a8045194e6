// What the SQLite VFSes of this project share: each wraps another VFS and
// passes on every call it does not change (store/sqlite_log_buffer.h, and the
// tests' fault-injecting VFS).
#ifndef SERVICEMANAGER_SERVER_STORE_SQLITE_VFS_SHIM_H_
#define SERVICEMANAGER_SERVER_STORE_SQLITE_VFS_SHIM_H_

#include <sqlite3.h>

#include <cstddef>

namespace servicemanager::store {

// The start of an open file of a wrapping VFS.
struct ShimFile {
  sqlite3_file handle;  // First, so that SQLite's pointer to it is ours.
  sqlite3_file* real;   // The wrapped VFS's file.
};

inline sqlite3_file* RealFile(sqlite3_file* file) {
  return reinterpret_cast<ShimFile*>(file)->real;
}

// Where the wrapped VFS's file begins in the memory SQLite gives a wrapping
// VFS's file whose own part is `own_bytes` long. The wrapping VFS's szOsFile
// is this plus the wrapped VFS's.
constexpr int WrappedFileOffset(size_t own_bytes) {
  constexpr size_t kAlign = alignof(std::max_align_t);
  return static_cast<int>((own_bytes + kAlign - 1) / kAlign * kAlign);
}

// The methods of io version `version` (1 to 3) that pass every call on to
// the wrapped file. A wrapping VFS copies them and replaces those it changes.
sqlite3_io_methods ForwardingMethods(int version);

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_SQLITE_VFS_SHIM_H_
