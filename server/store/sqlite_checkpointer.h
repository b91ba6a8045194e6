// Copies a SQLite database's write-ahead log back into the database file on
// a thread of its own, so that the writer's commits seldom wait for it.
//
// SQLite's own auto-checkpoint runs inside the commit that takes the log past
// 1,000 pages, on the writer's thread: it writes those pages into the
// database file and syncs it, while every write queued behind that commit
// waits (BENCHMARKS.md, "What a write costs the writer"). The checkpointer
// replaces it: each commit tells it how long the log has grown, and it
// checkpoints on a connection of its own, beside the writer's next
// transactions (SQLite lets one checkpoint run alongside one writer).
//
// The log starts over from its beginning only when a write begins after all
// of it has been copied, which under steady writes may not happen. So once
// the log reaches `restart_pages`, the writer's commit also copies what is
// left itself, as SQLite's auto-checkpoint would: little, since the
// checkpointer has copied the rest, and the next write then starts the log
// over (when no reader still needs its pages).
#ifndef SERVICEMANAGER_SERVER_STORE_SQLITE_CHECKPOINTER_H_
#define SERVICEMANAGER_SERVER_STORE_SQLITE_CHECKPOINTER_H_

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "SQLiteCpp/Database.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace servicemanager::store {

class SqliteCheckpointer {
 public:
  struct Options {
    // Pages not yet copied after which a checkpoint runs (SQLite's default
    // for its auto-checkpoint).
    int checkpoint_pages = 1000;
    // The log's length after which the writer's commit copies what is left.
    int restart_pages = 4000;
  };

  // Checkpoints the log of `writer`'s database through `connection`, a
  // read-write connection of its own to the same file, and takes over the
  // log's checkpoints from `writer` (its auto-checkpoint is off from here
  // on). `writer` must outlive the checkpointer, and be used by one thread at
  // a time, as the store's writer is.
  SqliteCheckpointer(sqlite3* writer,
                     std::unique_ptr<SQLite::Database> connection,
                     Options options);
  // Stops the thread after the checkpoint under way, if any. The writer must
  // not be in use.
  ~SqliteCheckpointer();

  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

  // The log's length in pages after the writer's last commit.
  int log_pages() const { return log_pages_.load(std::memory_order_relaxed); }

  // Waits until the thread has run `count` checkpoints in all, or for
  // `timeout`; whether it has.
  bool AwaitCheckpoints(int64_t count, absl::Duration timeout);

 private:
  // sqlite3_wal_hook's callback, on the writer's thread after each commit.
  static int OnCommit(void* self, sqlite3* writer, const char* schema,
                      int pages);
  void Run();

  sqlite3* const writer_;
  const std::unique_ptr<SQLite::Database> connection_;
  const Options options_;
  std::atomic<int> log_pages_ = 0;

  absl::Mutex mu_;
  // The log's pages copied by the last checkpoint (0 once the log started
  // over), and whether the writer asks for another.
  int copied_pages_ ABSL_GUARDED_BY(mu_) = 0;
  bool requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t checkpoints_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_SQLITE_CHECKPOINTER_H_
