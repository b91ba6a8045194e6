// A SQLite VFS for storage-fault tests. Registered as "fault", it passes
// every call to the default VFS, except that while a fault is set every
// write, truncate and sync fails the way the fault would fail it:
// - kFull: SQLITE_FULL, what the unix VFS returns when the disk is full;
// - kIoError: SQLITE_IOERR_WRITE / _TRUNCATE / _FSYNC;
// - kReadOnly: SQLITE_READONLY, as when the database can no longer be written.
// Reads keep working, so a test can see that nothing was written. It also
// counts the writes it passes on.
#ifndef SERVICEMANAGER_TESTS_TESTING_FAULT_VFS_H_
#define SERVICEMANAGER_TESTS_TESTING_FAULT_VFS_H_

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "store/sqlite_vfs_shim.h"

namespace servicemanager::testing {

enum class StorageFault { kNone, kFull, kIoError, kReadOnly };

class FaultVfs {
 public:
  static constexpr const char* kName = "fault";

  // Registers the VFS once; later calls do nothing.
  static void Register() {
    static const bool registered = [] {
      Real() = sqlite3_vfs_find(nullptr);
      static sqlite3_vfs vfs = *Real();
      vfs.zName = kName;
      vfs.szOsFile =
          store::WrappedFileOffset(sizeof(store::ShimFile)) + Real()->szOsFile;
      vfs.xOpen = &Open;
      vfs.pNext = nullptr;
      return sqlite3_vfs_register(&vfs, /*makeDflt=*/0) == SQLITE_OK;
    }();
    (void)registered;
  }

  static void Set(StorageFault fault) { Current().store(fault); }
  // The writes passed to the default VFS so far, to any file.
  static int64_t Writes() { return WriteCount().load(); }

 private:
  static sqlite3_vfs*& Real() {
    static sqlite3_vfs* real = nullptr;
    return real;
  }
  static std::atomic<int64_t>& WriteCount() {
    static std::atomic<int64_t> writes{0};
    return writes;
  }
  static std::atomic<StorageFault>& Current() {
    static std::atomic<StorageFault> fault{StorageFault::kNone};
    return fault;
  }
  // The error for a failed write of kind `io_error`, or SQLITE_OK.
  static int Injected(int io_error) {
    switch (Current().load()) {
      case StorageFault::kNone:
        return SQLITE_OK;
      case StorageFault::kFull:
        return SQLITE_FULL;
      case StorageFault::kIoError:
        return io_error;
      case StorageFault::kReadOnly:
        return SQLITE_READONLY;
    }
    return SQLITE_OK;
  }

  static int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file,
                  int flags, int* out_flags) {
    (void)vfs;
    auto* ours = reinterpret_cast<store::ShimFile*>(file);
    std::memset(ours, 0, sizeof(store::ShimFile));
    ours->real = reinterpret_cast<sqlite3_file*>(
        reinterpret_cast<char*>(file) +
        store::WrappedFileOffset(sizeof(store::ShimFile)));
    const int rc = Real()->xOpen(Real(), name, ours->real, flags, out_flags);
    if (ours->real->pMethods != nullptr) {
      ours->handle.pMethods = Methods(ours->real->pMethods->iVersion);
    }
    return rc;
  }

  // The default VFS's methods, except for the writes, truncates and syncs.
  static const sqlite3_io_methods* Methods(int version) {
    static const auto* const kTables = [] {
      auto* tables = new sqlite3_io_methods[4]();
      for (int v = 1; v <= 3; ++v) {
        sqlite3_io_methods& m = tables[v];
        m = store::ForwardingMethods(v);
        m.xWrite = [](sqlite3_file* f, const void* buffer, int amount,
                      sqlite3_int64 offset) {
          const int injected = Injected(SQLITE_IOERR_WRITE);
          if (injected != SQLITE_OK) return injected;
          WriteCount().fetch_add(1);
          return store::RealFile(f)->pMethods->xWrite(store::RealFile(f),
                                                      buffer, amount, offset);
        };
        m.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
          const int injected = Injected(SQLITE_IOERR_TRUNCATE);
          return injected != SQLITE_OK
                     ? injected
                     : store::RealFile(f)->pMethods->xTruncate(
                           store::RealFile(f), size);
        };
        m.xSync = [](sqlite3_file* f, int flags) {
          const int injected = Injected(SQLITE_IOERR_FSYNC);
          return injected != SQLITE_OK ? injected
                                       : store::RealFile(f)->pMethods->xSync(
                                             store::RealFile(f), flags);
        };
      }
      return tables;
    }();
    return &kTables[version];
  }
};

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_TESTING_FAULT_VFS_H_
