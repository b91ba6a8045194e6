#include "store/sqlite_log_buffer.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "store/sqlite_vfs_shim.h"

namespace servicemanager::store {
namespace {

// The most bytes kept before they are written: 31 frames of 4 KiB pages. The
// unix VFS takes writes shorter than 128 KiB only: it keeps the low 17 bits
// of a write's length (and asserts that they are all of it), so that a
// longer write fails with SQLITE_FULL.
constexpr sqlite3_int64 kBufferBytes = 0x1ffff;

// The VFS: a copy of the base VFS's struct with our xOpen. The copy keeps the
// base's pAppData, which the base's other methods may read.
struct LogVfs {
  sqlite3_vfs vfs;  // First, so that SQLite's pointer to it is ours.
  sqlite3_vfs* base;
  std::string name;
};

// An open file of ours; the base VFS's file follows it in memory.
struct File {
  ShimFile shim;  // First, so that SQLite's pointer to it is ours.
  bool buffered = false;
  // Bytes [start, start + size) of the file, not yet written.
  std::unique_ptr<char[]> data;
  sqlite3_int64 start = 0;
  sqlite3_int64 size = 0;
};

constexpr int kRealOffset = WrappedFileOffset(sizeof(File));

File& Of(sqlite3_file* file) { return *reinterpret_cast<File*>(file); }

// Writes the buffered bytes. They leave the buffer even if the write fails:
// SQLite then fails the commit, as it would have on the write itself.
int Flush(File& f) {
  if (f.size == 0) return SQLITE_OK;
  const sqlite3_int64 size = f.size;
  f.size = 0;
  sqlite3_file* real = f.shim.real;
  return real->pMethods->xWrite(real, f.data.get(), static_cast<int>(size),
                                f.start);
}

int Write(sqlite3_file* file, const void* bytes, int amount,
          sqlite3_int64 offset) {
  File& f = Of(file);
  sqlite3_file* real = f.shim.real;
  if (!f.buffered) return real->pMethods->xWrite(real, bytes, amount, offset);
  if (f.size > 0 && offset == f.start + f.size &&
      f.size + amount <= kBufferBytes) {
    std::memcpy(f.data.get() + f.size, bytes, amount);
    f.size += amount;
    return SQLITE_OK;
  }
  if (const int rc = Flush(f); rc != SQLITE_OK) return rc;
  if (amount > kBufferBytes) {
    return real->pMethods->xWrite(real, bytes, amount, offset);
  }
  if (f.data == nullptr) f.data = std::make_unique<char[]>(kBufferBytes);
  std::memcpy(f.data.get(), bytes, amount);
  f.start = offset;
  f.size = amount;
  return SQLITE_OK;
}

int Close(sqlite3_file* file) {
  File& f = Of(file);
  const int flushed = Flush(f);
  const int closed = f.shim.real->pMethods->xClose(f.shim.real);
  f.~File();
  return flushed != SQLITE_OK ? flushed : closed;
}

// The methods for files of the base's io version `version`: the base's,
// except that each call that reads, sizes, syncs or changes the file writes
// the buffer first.
const sqlite3_io_methods* Methods(int version) {
  static const auto* const kTables = [] {
    auto* tables = new sqlite3_io_methods[4]();
    for (int v = 1; v <= 3; ++v) {
      sqlite3_io_methods& m = tables[v];
      m = ForwardingMethods(v);
      m.xClose = &Close;
      m.xWrite = &Write;
      m.xRead = [](sqlite3_file* f, void* out, int amount,
                   sqlite3_int64 offset) {
        if (const int rc = Flush(Of(f)); rc != SQLITE_OK) return rc;
        return RealFile(f)->pMethods->xRead(RealFile(f), out, amount, offset);
      };
      m.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
        if (const int rc = Flush(Of(f)); rc != SQLITE_OK) return rc;
        return RealFile(f)->pMethods->xTruncate(RealFile(f), size);
      };
      m.xSync = [](sqlite3_file* f, int flags) {
        if (const int rc = Flush(Of(f)); rc != SQLITE_OK) return rc;
        return RealFile(f)->pMethods->xSync(RealFile(f), flags);
      };
      m.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) {
        if (const int rc = Flush(Of(f)); rc != SQLITE_OK) return rc;
        return RealFile(f)->pMethods->xFileSize(RealFile(f), size);
      };
      m.xFileControl = [](sqlite3_file* f, int op, void* arg) {
        if (const int rc = Flush(Of(f)); rc != SQLITE_OK) return rc;
        return RealFile(f)->pMethods->xFileControl(RealFile(f), op, arg);
      };
      if (v < 3) continue;
      m.xFetch = [](sqlite3_file* f, sqlite3_int64 offset, int amount,
                    void** out) {
        if (const int rc = Flush(Of(f)); rc != SQLITE_OK) return rc;
        return RealFile(f)->pMethods->xFetch(RealFile(f), offset, amount, out);
      };
    }
    return tables;
  }();
  return &kTables[version];
}

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags,
         int* out_flags) {
  sqlite3_vfs* base = reinterpret_cast<LogVfs*>(vfs)->base;
  // Any file but a log is the base VFS's own, in the same memory.
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    return base->xOpen(base, name, file, flags, out_flags);
  }
  File* f = new (file) File();
  sqlite3_file* real = reinterpret_cast<sqlite3_file*>(
      reinterpret_cast<char*>(file) + kRealOffset);
  f->shim.real = real;
  std::memset(real, 0, base->szOsFile);
  const int rc = base->xOpen(base, name, real, flags, out_flags);
  if (real->pMethods == nullptr) {
    f->~File();
    file->pMethods = nullptr;
    return rc;
  }
  f->buffered = (real->pMethods->xDeviceCharacteristics(real) &
                 SQLITE_IOCAP_POWERSAFE_OVERWRITE) != 0;
  f->shim.handle.pMethods = Methods(std::clamp(real->pMethods->iVersion, 1, 3));
  return rc;
}

}  // namespace

absl::StatusOr<std::string> LogBufferingVfs(const std::string& base_name) {
  static absl::Mutex mu;
  static auto* const registered =
      new std::map<std::string, std::unique_ptr<LogVfs>>();
  absl::MutexLock lock(&mu);
  sqlite3_vfs* base =
      sqlite3_vfs_find(base_name.empty() ? nullptr : base_name.c_str());
  if (base == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no SQLite VFS named \"", base_name, "\""));
  }
  std::unique_ptr<LogVfs>& ours = (*registered)[base->zName];
  if (ours == nullptr) {
    auto vfs = std::make_unique<LogVfs>();
    vfs->base = base;
    vfs->name = absl::StrCat("log-buffer-", base->zName);
    vfs->vfs = *base;
    vfs->vfs.zName = vfs->name.c_str();
    vfs->vfs.szOsFile = kRealOffset + base->szOsFile;
    vfs->vfs.xOpen = &Open;
    vfs->vfs.pNext = nullptr;
    if (const int rc = sqlite3_vfs_register(&vfs->vfs, /*makeDflt=*/0);
        rc != SQLITE_OK) {
      return absl::InternalError(absl::StrCat(
          "cannot register SQLite VFS ", vfs->name, ": ", sqlite3_errstr(rc)));
    }
    ours = std::move(vfs);
  }
  return ours->name;
}

}  // namespace servicemanager::store
