#include "store/sqlite_checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/time/time.h"
#include "tests/store/temp_dir.h"

namespace {

using ::servicemanager::store::SqliteCheckpointer;
using ::servicemanager::testing::TempDir;

constexpr int kPageSize = 4096;

class SqliteCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("checkpointed.db");
    writer_ = std::make_unique<SQLite::Database>(
        path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    writer_->exec("PRAGMA journal_mode = WAL");
    writer_->exec("PRAGMA synchronous = NORMAL");
    writer_->exec("CREATE TABLE rows (body BLOB NOT NULL)");
  }

  void Start(SqliteCheckpointer::Options options) {
    checkpointer_ = std::make_unique<SqliteCheckpointer>(
        writer_->getHandle(),
        std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE),
        options);
  }

  // One transaction that adds a page of data to the log.
  void WriteAPage() {
    writer_->exec("INSERT INTO rows (body) VALUES (randomblob(3000))");
  }
  void WritePages(int count) {
    for (int i = 0; i < count; ++i) {
      WriteAPage();
    }
  }

  struct LogLengths {
    int longest = 0;
    // How often the log's length fell from one commit to the next.
    int restarts = 0;
  };
  // Writes `count` pages, one transaction each, and follows the log's length.
  LogLengths WriteAndFollowTheLog(int count) {
    LogLengths log;
    int last = 0;
    for (int i = 0; i < count; ++i) {
      WriteAPage();
      const int pages = checkpointer_->log_pages();
      if (pages < last) {
        ++log.restarts;
      }
      last = pages;
      log.longest = std::max(log.longest, pages);
    }
    return log;
  }

  int64_t DatabaseFilePages() const {
    return static_cast<int64_t>(std::filesystem::file_size(path_)) / kPageSize;
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<SQLite::Database> writer_;
  std::unique_ptr<SqliteCheckpointer> checkpointer_;
};

TEST_F(SqliteCheckpointerTest, CopiesTheLogIntoTheDatabaseOffTheWriter) {
  Start({.checkpoint_pages = 100, .restart_pages = 100000});
  const int64_t before = DatabaseFilePages();
  // Each transaction writes a new page and rewrites the table's root: more
  // than 100 pages of log in all.
  WritePages(100);
  // The writer's commits copied nothing (its auto-checkpoint is off, and
  // the log is far from restart_pages); the checkpointer did.
  ASSERT_TRUE(checkpointer_->AwaitCheckpoints(1, absl::Seconds(30)));
  EXPECT_GE(DatabaseFilePages() - before, 20)
      << "the database file did not receive the log's pages";
}

TEST_F(SqliteCheckpointerTest, BelowTheThresholdNothingIsCopied) {
  Start({.checkpoint_pages = 100, .restart_pages = 100000});
  const int64_t before = DatabaseFilePages();
  WritePages(20);
  EXPECT_FALSE(checkpointer_->AwaitCheckpoints(1, absl::Milliseconds(200)));
  EXPECT_EQ(DatabaseFilePages(), before);
}

TEST_F(SqliteCheckpointerTest, TheWritersCommitStartsTheLogOverAtRestartPages) {
  // The checkpointer never runs here, so nothing else holds the log: the
  // commit that takes it to restart_pages copies all of it, and the next
  // write starts it over. Without that copy it would grow to ~1,800 pages.
  Start({.checkpoint_pages = 1'000'000, .restart_pages = 100});
  const LogLengths log = WriteAndFollowTheLog(600);
  EXPECT_GE(log.restarts, 5);
  // The last commit before a restart may pass restart_pages by its own pages.
  EXPECT_LE(log.longest, 100 + 10);
  EXPECT_FALSE(checkpointer_->AwaitCheckpoints(1, absl::ZeroDuration()));
}

TEST_F(SqliteCheckpointerTest, TheLogStartsOverUnderSteadyWrites) {
  // Each commit synced, as the store's are.
  writer_->exec("PRAGMA synchronous = FULL");
  Start({.checkpoint_pages = 25, .restart_pages = 100});
  // Writes without a pause, beside the checkpointer's checkpoints: the log
  // starts over (its length falls), and stays far below the ~3,600 pages
  // that 1,200 commits write. While a checkpoint of the checkpointer runs,
  // the writer's own copy must wait, so the log may pass restart_pages by
  // what the commits during one checkpoint add: on a loaded CI machine, once
  // more than 100 pages.
  const LogLengths log = WriteAndFollowTheLog(1200);
  EXPECT_GE(log.restarts, 5);
  EXPECT_LE(log.longest, 5 * 100);
}

TEST_F(SqliteCheckpointerTest, DataSurvivesReopeningAfterCheckpoints) {
  Start({.checkpoint_pages = 20, .restart_pages = 60});
  WritePages(500);
  checkpointer_.reset();
  writer_.reset();
  SQLite::Database db(path_, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM rows").getInt(), 500);
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

}  // namespace
