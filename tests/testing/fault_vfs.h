// A SQLite VFS for storage-fault tests. Registered as "fault", it passes
// every call to the default VFS, except that while a fault is set every
// write, truncate and sync fails the way the fault would fail it:
// - kFull: SQLITE_FULL, what the unix VFS returns when the disk is full;
// - kIoError: SQLITE_IOERR_WRITE / _TRUNCATE / _FSYNC;
// - kReadOnly: SQLITE_READONLY, as when the database can no longer be written.
// Reads keep working, so a test can see that nothing was written.
#ifndef SERVICEMANAGER_TESTS_TESTING_FAULT_VFS_H_
#define SERVICEMANAGER_TESTS_TESTING_FAULT_VFS_H_

#include <sqlite3.h>

#include <atomic>
#include <cstring>

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
      vfs.szOsFile = static_cast<int>(sizeof(File)) + Real()->szOsFile;
      vfs.xOpen = &Open;
      vfs.pNext = nullptr;
      return sqlite3_vfs_register(&vfs, /*makeDflt=*/0) == SQLITE_OK;
    }();
    (void)registered;
  }

  static void Set(StorageFault fault) { Current().store(fault); }

 private:
  // Our file, followed in memory by the default VFS's own.
  struct File {
    sqlite3_file base;
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };

  static sqlite3_vfs*& Real() {
    static sqlite3_vfs* real = nullptr;
    return real;
  }
  static std::atomic<StorageFault>& Current() {
    static std::atomic<StorageFault> fault{StorageFault::kNone};
    return fault;
  }
  static sqlite3_file* RealOf(sqlite3_file* file) {
    return reinterpret_cast<File*>(file)->real();
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
    File* ours = reinterpret_cast<File*>(file);
    std::memset(ours, 0, sizeof(File));
    const int rc = Real()->xOpen(Real(), name, ours->real(), flags, out_flags);
    if (ours->real()->pMethods != nullptr) {
      ours->base.pMethods = Methods(ours->real()->pMethods->iVersion);
    }
    return rc;
  }

  static const sqlite3_io_methods* Methods(int version) {
    static sqlite3_io_methods methods[4];
    sqlite3_io_methods& m = methods[version];
    m.iVersion = version;
    m.xClose = [](sqlite3_file* f) {
      return RealOf(f)->pMethods->xClose(RealOf(f));
    };
    m.xRead = [](sqlite3_file* f, void* buffer, int amount,
                 sqlite3_int64 offset) {
      return RealOf(f)->pMethods->xRead(RealOf(f), buffer, amount, offset);
    };
    m.xWrite = [](sqlite3_file* f, const void* buffer, int amount,
                  sqlite3_int64 offset) {
      const int injected = Injected(SQLITE_IOERR_WRITE);
      return injected != SQLITE_OK ? injected
                                   : RealOf(f)->pMethods->xWrite(
                                         RealOf(f), buffer, amount, offset);
    };
    m.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
      const int injected = Injected(SQLITE_IOERR_TRUNCATE);
      return injected != SQLITE_OK
                 ? injected
                 : RealOf(f)->pMethods->xTruncate(RealOf(f), size);
    };
    m.xSync = [](sqlite3_file* f, int flags) {
      const int injected = Injected(SQLITE_IOERR_FSYNC);
      return injected != SQLITE_OK
                 ? injected
                 : RealOf(f)->pMethods->xSync(RealOf(f), flags);
    };
    m.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) {
      return RealOf(f)->pMethods->xFileSize(RealOf(f), size);
    };
    m.xLock = [](sqlite3_file* f, int lock) {
      return RealOf(f)->pMethods->xLock(RealOf(f), lock);
    };
    m.xUnlock = [](sqlite3_file* f, int lock) {
      return RealOf(f)->pMethods->xUnlock(RealOf(f), lock);
    };
    m.xCheckReservedLock = [](sqlite3_file* f, int* out) {
      return RealOf(f)->pMethods->xCheckReservedLock(RealOf(f), out);
    };
    m.xFileControl = [](sqlite3_file* f, int op, void* arg) {
      return RealOf(f)->pMethods->xFileControl(RealOf(f), op, arg);
    };
    m.xSectorSize = [](sqlite3_file* f) {
      return RealOf(f)->pMethods->xSectorSize(RealOf(f));
    };
    m.xDeviceCharacteristics = [](sqlite3_file* f) {
      return RealOf(f)->pMethods->xDeviceCharacteristics(RealOf(f));
    };
    if (version >= 2) {
      m.xShmMap = [](sqlite3_file* f, int page, int size, int extend,
                     void volatile** out) {
        return RealOf(f)->pMethods->xShmMap(RealOf(f), page, size, extend, out);
      };
      m.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
        return RealOf(f)->pMethods->xShmLock(RealOf(f), offset, n, flags);
      };
      m.xShmBarrier = [](sqlite3_file* f) {
        RealOf(f)->pMethods->xShmBarrier(RealOf(f));
      };
      m.xShmUnmap = [](sqlite3_file* f, int delete_flag) {
        return RealOf(f)->pMethods->xShmUnmap(RealOf(f), delete_flag);
      };
    }
    if (version >= 3) {
      m.xFetch = [](sqlite3_file* f, sqlite3_int64 offset, int amount,
                    void** out) {
        return RealOf(f)->pMethods->xFetch(RealOf(f), offset, amount, out);
      };
      m.xUnfetch = [](sqlite3_file* f, sqlite3_int64 offset, void* page) {
        return RealOf(f)->pMethods->xUnfetch(RealOf(f), offset, page);
      };
    }
    return &m;
  }
};

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_TESTING_FAULT_VFS_H_
