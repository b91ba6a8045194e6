#include "store/sqlite_checkpointer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace servicemanager::store {

SqliteCheckpointer::SqliteCheckpointer(
    sqlite3* writer, std::unique_ptr<SQLite::Database> connection,
    Options options)
    : writer_(writer), connection_(std::move(connection)), options_(options) {
  // A connection learns that the database is in WAL mode, and opens the
  // log, when it first reads; until then its checkpoints do nothing.
  connection_->execAndGet("PRAGMA schema_version");
  thread_ = std::thread([this] { Run(); });
  // Replaces the auto-checkpoint, which is a hook of its own.
  sqlite3_wal_hook(writer_, &SqliteCheckpointer::OnCommit, this);
}

SqliteCheckpointer::~SqliteCheckpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

int SqliteCheckpointer::OnCommit(void* self, sqlite3* writer,
                                 const char* schema, int pages) {
  auto* checkpointer = static_cast<SqliteCheckpointer*>(self);
  checkpointer->log_pages_.store(pages, std::memory_order_relaxed);
  {
    absl::MutexLock lock(&checkpointer->mu_);
    int& copied = checkpointer->copied_pages_;
    if (pages < copied) {
      copied = 0;  // The log started over.
    }
    if (pages - copied >= checkpointer->options_.checkpoint_pages) {
      checkpointer->requested_ = true;
    }
  }
  if (pages >= checkpointer->options_.restart_pages) {
    // BUSY while the checkpointer's checkpoint runs: then the next commit
    // tries again. Other failures leave the log as it is, as SQLite's
    // auto-checkpoint does.
    sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE,
                              nullptr, nullptr);
  }
  return SQLITE_OK;
}

bool SqliteCheckpointer::AwaitCheckpoints(int64_t count,
                                          absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return checkpoints_ >= count;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

void SqliteCheckpointer::Run() {
  sqlite3* db = connection_->getHandle();
  bool failing = false;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return requested_ || stopping_;
      };
      mu_.Await(absl::Condition(&woken));
      if (stopping_) {
        return;
      }
      requested_ = false;
    }
    int copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(
        db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, &copied);
    {
      absl::MutexLock lock(&mu_);
      ++checkpoints_;
      if (rc == SQLITE_OK) {
        copied_pages_ = copied;
      }
    }
    // BUSY: the writer's commit was checkpointing; it asks again. Failures
    // are logged once per run of them, as the writer asks again at every
    // commit.
    const bool failed = rc != SQLITE_OK && rc != SQLITE_BUSY;
    if (failed && !failing) {
      common::Log(common::LogLevel::kWarning,
                  absl::StrCat("checkpoint of the write-ahead log failed: ",
                               sqlite3_errmsg(db)));
    }
    failing = failed;
  }
}

}  // namespace servicemanager::store
