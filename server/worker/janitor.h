// Purges what is past retention: finished operations, deleted services (with
// their operations), client tokens and released certificate records. It works
// in small batches, each its own short transaction, so API calls wait at most
// one batch for the write lock.
//
// Thread-safe. The store and clock must outlive the janitor.
#ifndef SERVICEMANAGER_SERVER_WORKER_JANITOR_H_
#define SERVICEMANAGER_SERVER_WORKER_JANITOR_H_

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "store/store.h"

namespace servicemanager::worker {

struct JanitorOptions {
  // Finished operations and deleted services are kept this long after they
  // ended.
  absl::Duration retention = absl::Hours(24 * 30);
  // Client tokens are kept this long, so a retry within it is safe.
  absl::Duration client_token_retention = absl::Hours(24);
  // Certificate records are kept this long after their domain was unlinked
  // (or its service deleted).
  absl::Duration certificate_retention = domain::kDefaultCertificateRetention;
  // Rows of each kind per transaction.
  int batch_size = 500;
  // Time between two passes of the thread.
  absl::Duration interval = absl::Minutes(1);
};

class Janitor {
 public:
  Janitor(store::Store& store, common::Clock& clock, JanitorOptions options);
  ~Janitor();  // Stops the thread if it runs.

  Janitor(const Janitor&) = delete;
  Janitor& operator=(const Janitor&) = delete;

  // Purges everything past retention at the clock's now, batch after batch.
  // Returns what it removed, or the store's error. Tests call it directly.
  absl::StatusOr<store::Purged> RunOnce();

  // Runs RunOnce every interval in a thread until Stop().
  void Start();
  void Stop();

 private:
  void Loop();

  store::Store& store_;
  common::Clock& clock_;
  const JanitorOptions options_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace servicemanager::worker

#endif  // SERVICEMANAGER_SERVER_WORKER_JANITOR_H_
