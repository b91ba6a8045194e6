#include "store/sqlite_log_buffer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/status/statusor.h"
#include "tests/store/temp_dir.h"
#include "tests/testing/fault_vfs.h"

namespace servicemanager::store {
namespace {

using ::servicemanager::testing::FaultVfs;
using ::servicemanager::testing::StorageFault;
using ::servicemanager::testing::TempDir;

// The body of the row whose id is `id`: ?2 characters, all the letter that
// the id picks.
std::string BodyOf(const std::string& id) {
  return "replace(hex(zeroblob(?2 / 2)), '0', char(65 + " + id + " % 26))";
}

class SqliteLogBufferTest : public ::testing::Test {
 protected:
  void SetUp() override { FaultVfs::Register(); }

  // A connection in WAL mode with synchronous FULL, as the store's writer.
  std::unique_ptr<SQLite::Database> Open(const std::string& vfs) {
    auto db = std::make_unique<SQLite::Database>(
        path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 5000, vfs);
    db->exec("PRAGMA journal_mode = WAL");
    db->exec("PRAGMA synchronous = FULL");
    db->exec(
        "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)");
    return db;
  }
  std::string Buffered(const std::string& base) {
    absl::StatusOr<std::string> vfs = LogBufferingVfs(base);
    EXPECT_TRUE(vfs.ok()) << vfs.status();
    return vfs.value_or("");
  }

  // Inserts rows [first, first + count) in one transaction.
  static void Insert(SQLite::Database& db, int first, int count, int chars) {
    SQLite::Transaction transaction(db);
    SQLite::Statement insert(db,
                             "INSERT INTO t VALUES (?1, " + BodyOf("?1") + ")");
    for (int id = first; id < first + count; ++id) {
      insert.bind(1, id);
      insert.bind(2, chars);
      insert.exec();
      insert.reset();
    }
    transaction.commit();
  }
  // The rows, and how many of them have the body their id gives them.
  static std::pair<int64_t, int64_t> Rows(SQLite::Database& db, int chars) {
    SQLite::Statement count(db, "SELECT COUNT(*), COALESCE(SUM(body = " +
                                    BodyOf("id") + "), 0) FROM t");
    count.bind(2, chars);
    EXPECT_TRUE(count.executeStep());
    return {count.getColumn(0).getInt64(), count.getColumn(1).getInt64()};
  }

  TempDir dir_;
  const std::string path_ = dir_.File("db.sqlite");
};

TEST_F(SqliteLogBufferTest, ACommitLargerThanTheBufferIsReadBackWholeAndKept) {
  auto writer = Open(Buffered(""));
  auto reader = Open("");
  // 100 rows of 4,000 bytes: about 400 KB of log in one commit.
  Insert(*writer, 1, 100, 4000);
  EXPECT_EQ(Rows(*reader, 4000), std::make_pair(int64_t{100}, int64_t{100}));
  writer.reset();
  reader.reset();
  EXPECT_EQ(Rows(*Open(""), 4000), std::make_pair(int64_t{100}, int64_t{100}));
}

TEST_F(SqliteLogBufferTest, ACommitWritesTheLogInOneCall) {
  auto writer = Open(Buffered(FaultVfs::kName));
  Insert(*writer, 1, 1, 100);  // The log's header, written and synced alone.
  int64_t before = FaultVfs::Writes();
  // 20 rows of 4,000 bytes: some 22 pages, 44 writes without the buffer.
  Insert(*writer, 2, 20, 4000);
  EXPECT_EQ(FaultVfs::Writes() - before, 1);

  writer = Open(FaultVfs::kName);
  before = FaultVfs::Writes();
  Insert(*writer, 22, 20, 4000);
  EXPECT_GE(FaultVfs::Writes() - before, 40);
}

TEST_F(SqliteLogBufferTest, AWriteThatFailsFailsItsCommitAndNothingOfItIsKept) {
  auto writer = Open(Buffered(FaultVfs::kName));
  auto reader = Open("");
  Insert(*writer, 1, 1, 100);
  writer->exec("BEGIN IMMEDIATE");
  writer->exec("INSERT INTO t VALUES (2, 'lost')");
  FaultVfs::Set(StorageFault::kFull);
  // The buffered write reaches the disk only at the commit's sync.
  EXPECT_EQ(
      sqlite3_exec(writer->getHandle(), "COMMIT", nullptr, nullptr, nullptr),
      SQLITE_FULL);
  FaultVfs::Set(StorageFault::kNone);
  if (sqlite3_get_autocommit(writer->getHandle()) == 0) {
    writer->exec("ROLLBACK");
  }
  EXPECT_EQ(Rows(*reader, 100).first, 1);

  Insert(*writer, 3, 1, 100);
  EXPECT_EQ(Rows(*reader, 100), std::make_pair(int64_t{2}, int64_t{2}));
}

TEST_F(SqliteLogBufferTest, AReaderSeesEveryCommitWholeWhileTheWriterWrites) {
  auto writer = Open(Buffered(""));
  auto reader = Open("");
  constexpr int kCommits = 200;
  std::atomic<bool> done = false;
  std::thread writes([&] {
    // Every tenth commit is larger than the buffer.
    for (int i = 0, id = 1; i < kCommits; ++i) {
      const int rows = i % 10 == 9 ? 40 : 2;
      Insert(*writer, id, rows, 3000);
      id += rows;
    }
    done = true;
  });
  int64_t last = 0;
  int reads = 0;
  bool ok = true;
  while (ok && (!done || reads == 0)) {
    try {
      const auto [rows, whole] = Rows(*reader, 3000);
      EXPECT_EQ(whole, rows);
      EXPECT_GE(rows, last);
      ok = whole == rows && rows >= last;
      last = rows;
    } catch (const SQLite::Exception& e) {
      ADD_FAILURE() << e.what();
      ok = false;
    }
    ++reads;
  }
  writes.join();
  EXPECT_EQ(Rows(*reader, 3000).first, kCommits / 10 * (9 * 2 + 40));
}

TEST_F(SqliteLogBufferTest, AnUnknownBaseIsNotFound) {
  EXPECT_EQ(LogBufferingVfs("no-such-vfs").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace servicemanager::store
