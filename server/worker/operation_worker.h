// Finishes accepted operations in the background. It claims due operations
// (Store::TakeDueOperations), calls the runtime for each (outside any
// transaction) while a helper thread renews the claims' leases, then commits
// each result in one transaction through Store::FinishOperations, fenced by
// its claim: if another replica took the operation over meanwhile, the late
// result changes nothing. An operation claimed more than max_attempts times
// (the replicas that ran it stopped) ends failed without running again.
//
// Operations wait in the store, indexed by due time: the worker sleeps until
// the earliest is due, Wake() is called or the poll interval passes, so
// pending operations cost nothing while they wait. A store error leaves the
// operation due; the loop retries with backoff and never reports an operation
// done unless its commit succeeded.
//
// Thread-safe. The store, runtime and clock must outlive the worker.
#ifndef SERVICEMANAGER_SERVER_WORKER_OPERATION_WORKER_H_
#define SERVICEMANAGER_SERVER_WORKER_OPERATION_WORKER_H_

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "domain/operation.h"
#include "runtime/runtime.h"
#include "store/store.h"

namespace servicemanager::worker {

struct WorkerOptions {
  // How long the simulated compute step of an operation takes: an operation
  // stays IN_PROGRESS this long before the worker finishes it.
  absl::Duration compute_time = absl::Milliseconds(200);
  // Operations taken from the store per transaction.
  int batch_size = 256;
  // On Start, before the first operation, make the runtime agree with the
  // database (see Reconcile). For runtimes whose compute outlives the
  // process; the simulated one starts empty and must not.
  bool reconcile_on_start = false;
  // How long a claim on an operation holds unless renewed; the worker renews
  // its claims every third of it while it works. A replica that stops holds
  // its operations this long before another takes them over.
  absl::Duration lease = absl::Seconds(30);
  // Claims an operation may have; the next one ends it failed ("gave up
  // after N attempts") and rolls its service back as a failure does.
  int max_attempts = 3;
  // The longest the worker sleeps without looking for due operations. It is
  // woken when this replica accepts an operation and, on PostgreSQL, when
  // another replica's notification arrives; the poll finds work whose
  // notification was lost (a LISTEN connection reconnecting).
  absl::Duration poll_interval = absl::Seconds(5);
};

class OperationWorker {
 public:
  OperationWorker(store::Store& store, runtime::Runtime& runtime,
                  common::Clock& clock, WorkerOptions options);
  ~OperationWorker();  // Stops the thread if it runs.

  OperationWorker(const OperationWorker&) = delete;
  OperationWorker& operator=(const OperationWorker&) = delete;

  // Starts due operations and finishes those whose compute time has passed,
  // at the clock's now. Returns how many it finished, or the store's error.
  // Tests call it directly with a fake clock.
  absl::StatusOr<int> RunOnce();

  // Runs RunOnce in a thread until Stop(). First, operations left unfinished
  // by a previous process are made due within one compute time. The operation
  // being finished when Stop() is called is committed or left for the next
  // start, never half written.
  void Start();
  void Stop();

  // Tells the thread that an operation was accepted, here or by another
  // replica.
  void Wake();

  // Makes the runtime agree with the database, logging each fix: a RUNNING
  // service whose compute is not up is deployed again (its deployed version
  // and configuration); compute left up for a service that is PAUSED or
  // failed is stopped; whatever the runtime holds of a service that is
  // deleted or unknown is removed. Services with an open operation are left
  // to it. Returns how many fixes it made, or the first error (it goes on
  // with the other services after a runtime error).
  absl::StatusOr<int> Reconcile();

 private:
  void Loop();
  bool Stopping() const {
    absl::MutexLock lock(&mu_);
    return stopping_;
  }
  bool Woken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return woken_ || stopping_;
  }

  store::Store& store_;
  runtime::Runtime& runtime_;
  common::Clock& clock_;
  const WorkerOptions options_;

  mutable absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace servicemanager::worker

#endif  // SERVICEMANAGER_SERVER_WORKER_OPERATION_WORKER_H_
