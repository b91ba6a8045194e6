// A fixed set of threads running queued tasks in order of arrival. For work
// that blocks (a write waiting for its group commit), so that it does not
// hold one of gRPC's few callback threads.
//
// Thread-safe. The destructor runs every queued task, then joins.
#ifndef SERVICEMANAGER_SERVER_COMMON_THREAD_POOL_H_
#define SERVICEMANAGER_SERVER_COMMON_THREAD_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace servicemanager::common {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Schedule(std::function<void()> task);

 private:
  void Work();

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace servicemanager::common

#endif  // SERVICEMANAGER_SERVER_COMMON_THREAD_POOL_H_
