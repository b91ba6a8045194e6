#include "store/sqlite_vfs_shim.h"

namespace servicemanager::store {

sqlite3_io_methods ForwardingMethods(int version) {
  sqlite3_io_methods m{};
  m.iVersion = version;
  m.xClose = [](sqlite3_file* f) {
    return RealFile(f)->pMethods->xClose(RealFile(f));
  };
  m.xRead = [](sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
    return RealFile(f)->pMethods->xRead(RealFile(f), out, amount, offset);
  };
  m.xWrite = [](sqlite3_file* f, const void* bytes, int amount,
                sqlite3_int64 offset) {
    return RealFile(f)->pMethods->xWrite(RealFile(f), bytes, amount, offset);
  };
  m.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
    return RealFile(f)->pMethods->xTruncate(RealFile(f), size);
  };
  m.xSync = [](sqlite3_file* f, int flags) {
    return RealFile(f)->pMethods->xSync(RealFile(f), flags);
  };
  m.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) {
    return RealFile(f)->pMethods->xFileSize(RealFile(f), size);
  };
  m.xLock = [](sqlite3_file* f, int lock) {
    return RealFile(f)->pMethods->xLock(RealFile(f), lock);
  };
  m.xUnlock = [](sqlite3_file* f, int lock) {
    return RealFile(f)->pMethods->xUnlock(RealFile(f), lock);
  };
  m.xCheckReservedLock = [](sqlite3_file* f, int* out) {
    return RealFile(f)->pMethods->xCheckReservedLock(RealFile(f), out);
  };
  m.xFileControl = [](sqlite3_file* f, int op, void* arg) {
    return RealFile(f)->pMethods->xFileControl(RealFile(f), op, arg);
  };
  m.xSectorSize = [](sqlite3_file* f) {
    return RealFile(f)->pMethods->xSectorSize(RealFile(f));
  };
  m.xDeviceCharacteristics = [](sqlite3_file* f) {
    return RealFile(f)->pMethods->xDeviceCharacteristics(RealFile(f));
  };
  if (version < 2) return m;
  m.xShmMap = [](sqlite3_file* f, int page, int size, int extend,
                 void volatile** out) {
    return RealFile(f)->pMethods->xShmMap(RealFile(f), page, size, extend, out);
  };
  m.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
    return RealFile(f)->pMethods->xShmLock(RealFile(f), offset, n, flags);
  };
  m.xShmBarrier = [](sqlite3_file* f) {
    RealFile(f)->pMethods->xShmBarrier(RealFile(f));
  };
  m.xShmUnmap = [](sqlite3_file* f, int delete_flag) {
    return RealFile(f)->pMethods->xShmUnmap(RealFile(f), delete_flag);
  };
  if (version < 3) return m;
  m.xFetch = [](sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
    return RealFile(f)->pMethods->xFetch(RealFile(f), offset, amount, out);
  };
  m.xUnfetch = [](sqlite3_file* f, sqlite3_int64 offset, void* page) {
    return RealFile(f)->pMethods->xUnfetch(RealFile(f), offset, page);
  };
  return m;
}

}  // namespace servicemanager::store
