#include "observability/metrics.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "domain/operation.h"
#include "prometheus/client_metric.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"
#include "prometheus/registry.h"

namespace servicemanager::observability {
namespace {

// From a quarter millisecond (a read served from the page cache) to 10 s
// (past the store's 5 s busy timeout).
const prometheus::Histogram::BucketBoundaries& RpcBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return *buckets;
}

prometheus::MetricFamily Gauge(std::string name, std::string help,
                               double value) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric metric;
  metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
  return family;
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      rpc_requests_(prometheus::BuildCounter()
                        .Name("servicemanager_rpc_requests_total")
                        .Help("RPCs handled, by full method name and status "
                              "code")
                        .Register(*registry_)),
      rpc_duration_(prometheus::BuildHistogram()
                        .Name("servicemanager_rpc_duration_seconds")
                        .Help("Time from the arrival of an RPC to its end, by "
                              "full method name")
                        .Register(*registry_)),
      operations_finished_(
          prometheus::BuildCounter()
              .Name("servicemanager_operations_finished_total")
              .Help("Operations that ended (worker, cancel or deadline), by "
                    "type and final status")
              .Register(*registry_)) {
  // Every final status of every type, at zero: besides the worker's
  // outcomes, a cancel or a deadline can end any operation.
  for (domain::OperationType type : {domain::OperationType::kCreateService,
                                     domain::OperationType::kUpdateService,
                                     domain::OperationType::kStartDeployment,
                                     domain::OperationType::kPauseService,
                                     domain::OperationType::kResumeService,
                                     domain::OperationType::kDeleteService}) {
    for (domain::OperationStatus status :
         {domain::OperationStatus::kSucceeded, domain::OperationStatus::kFailed,
          domain::OperationStatus::kRollbackSucceeded,
          domain::OperationStatus::kRollbackFailed}) {
      operations_finished_.Add(
          {{"type", std::string(domain::ToString(type))},
           {"status", std::string(domain::ToString(status))}});
    }
  }
}

Metrics::RpcPair Metrics::Rpc(absl::string_view method,
                              absl::string_view code) {
  absl::MutexLock lock(&mu_);
  RpcSeries& series = rpcs_[method];
  if (series.duration == nullptr) {
    series.duration =
        &rpc_duration_.Add({{"method", std::string(method)}}, RpcBuckets());
  }
  prometheus::Counter*& counter = series.by_code[code];
  if (counter == nullptr) {
    counter = &rpc_requests_.Add(
        {{"method", std::string(method)}, {"code", std::string(code)}});
  }
  return {counter, series.duration};
}

void Metrics::InitializeRpcs(const std::vector<std::string>& methods) {
  for (const std::string& method : methods) {
    Rpc(method, "OK");
  }
}

void Metrics::RecordRpc(absl::string_view method, absl::string_view code,
                        absl::Duration latency) {
  const RpcPair rpc = Rpc(method, code);
  // Both are thread-safe on their own.
  rpc.requests->Increment();
  rpc.duration->Observe(absl::ToDoubleSeconds(latency));
}

void Metrics::RecordOperationFinished(const domain::Operation& operation) {
  operations_finished_
      .Add({{"type", std::string(domain::ToString(operation.type))},
            {"status", std::string(domain::ToString(operation.status))}})
      .Increment();
}

std::vector<prometheus::MetricFamily> StoreStatsCollector::Collect() const {
  absl::StatusOr<store::StoreStats> stats = store_.GetStats(clock_.Now());
  if (!stats.ok()) {
    common::Log(common::LogLevel::kWarning,
                absl::StrCat("metrics: cannot read the store's statistics: ",
                             stats.status().ToString()));
    return {};
  }
  std::vector<prometheus::MetricFamily> families;
  families.push_back(Gauge("servicemanager_operation_queue_depth",
                           "Operations accepted and not yet ended (PENDING, "
                           "IN_PROGRESS or ROLLBACK_IN_PROGRESS)",
                           static_cast<double>(stats->open_operations)));
  families.push_back(
      Gauge("servicemanager_oldest_pending_operation_age_seconds",
            "How long the oldest operation not yet ended has been open; 0 "
            "when none is",
            absl::ToDoubleSeconds(stats->oldest_open_operation_age)));
  families.push_back(
      Gauge("servicemanager_database_size_bytes",
            "Size of the SQLite database: pages in use times the page size",
            static_cast<double>(stats->database_size_bytes)));
  return families;
}

}  // namespace servicemanager::observability
