// The server's Prometheus metrics, on prometheus-cpp (Debian's
// prometheus-cpp-dev). main serves them over HTTP when --metrics-listen is
// set; they are counted either way, which costs a few atomic adds per call.
//
// Families (all prefixed servicemanager_):
//   rpc_requests_total{method,code}            counter
//   rpc_duration_seconds{method}               histogram
//   operations_finished_total{type,status}     counter
//   operation_queue_depth                      gauge, read at scrape time
//   oldest_pending_operation_age_seconds       gauge, read at scrape time
//   database_size_bytes                        gauge, read at scrape time
#ifndef SERVICEMANAGER_SERVER_OBSERVABILITY_METRICS_H_
#define SERVICEMANAGER_SERVER_OBSERVABILITY_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "domain/operation.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "store/store.h"

namespace servicemanager::observability {

// Counters and histograms updated as calls and operations end. Thread-safe.
class Metrics {
 public:
  Metrics();

  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // What /metrics serves (besides the store's gauges).
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // Creates the series of these methods (full names) at zero: their latency
  // histograms and their count of OK calls. Prometheus computes rates only
  // from series that exist before the first call.
  void InitializeRpcs(const std::vector<std::string>& methods);

  // One finished RPC. `method` is the full gRPC method name
  // ("/servicemanager.v1.ServiceManager/PauseService") and `code` the status
  // code's name ("OK"); the caller keeps both to a bounded set.
  void RecordRpc(absl::string_view method, absl::string_view code,
                 absl::Duration latency);

  // One operation that ended (committed), however it ended, with its final
  // status.
  void RecordOperationFinished(const domain::Operation& operation);

 private:
  // The series of one method and code, created on first use.
  struct RpcPair {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };
  RpcPair Rpc(absl::string_view method, absl::string_view code)
      ABSL_LOCKS_EXCLUDED(mu_);

  struct RpcSeries {
    prometheus::Histogram* duration = nullptr;
    absl::flat_hash_map<std::string, prometheus::Counter*> by_code;
  };

  const std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& rpc_requests_;
  prometheus::Family<prometheus::Histogram>& rpc_duration_;
  prometheus::Family<prometheus::Counter>& operations_finished_;

  // prometheus-cpp's Family::Add builds a metric before looking the labels
  // up; these keep the per-call path to one map lookup.
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, RpcSeries> rpcs_ ABSL_GUARDED_BY(mu_);
};

// The gauges that describe the store, read with Store::GetStats at each
// scrape, so they are never stale and cost nothing between scrapes. A failed
// read leaves them out of that scrape (and logs a warning). Thread-safe. The
// store and clock must outlive it.
class StoreStatsCollector final : public prometheus::Collectable {
 public:
  StoreStatsCollector(store::Store& store, common::Clock& clock)
      : store_(store), clock_(clock) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  store::Store& store_;
  common::Clock& clock_;
};

}  // namespace servicemanager::observability

#endif  // SERVICEMANAGER_SERVER_OBSERVABILITY_METRICS_H_
