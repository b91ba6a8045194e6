// Records each RPC of the API when it ends: one log line (method, status
// code, latency) and its count and latency in Metrics.
//
// The API's handlers call it themselves rather than through a gRPC server
// interceptor: with any interceptor registered, gRPC 1.51 takes a slower path
// for every call, which cost a DescribeService call about a third of the
// server's CPU time (BENCHMARKS.md). Calls to methods the server does not
// have are recorded by UnknownMethods; gRPC's health and reflection services
// are not recorded.
#ifndef SERVICEMANAGER_SERVER_OBSERVABILITY_RPC_RECORDER_H_
#define SERVICEMANAGER_SERVER_OBSERVABILITY_RPC_RECORDER_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <initializer_list>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "observability/metrics.h"

namespace servicemanager::observability {

// The status code's name as in the gRPC documentation: "OK",
// "INVALID_ARGUMENT", ...
absl::string_view GrpcCodeName(grpc::StatusCode code);

// The full method names ("/package.Service/Method") of the named services, as
// described by the process's generated descriptor pool. A service the pool
// does not know adds nothing.
absl::flat_hash_set<std::string> MethodsOf(
    std::initializer_list<absl::string_view> services);

// Thread-safe. The metrics must outlive it.
class RpcRecorder {
 public:
  // RPCs to a method outside `known_methods` are counted under the method
  // "unknown", so that a client cannot add series to the metrics without
  // bound; the log line names the method it asked for.
  RpcRecorder(Metrics& metrics, absl::flat_hash_set<std::string> known_methods);

  // `method` is the full name. Faults (UNKNOWN, INTERNAL, UNAVAILABLE,
  // DATA_LOSS) are logged as warnings at once; the other lines are buffered
  // (common::LogBuffered).
  void Record(absl::string_view method, grpc::StatusCode code,
              absl::Duration latency) const;

 private:
  Metrics& metrics_;
  const absl::flat_hash_set<std::string> known_methods_;
};

// Answers every method that no registered service has with UNIMPLEMENTED,
// as gRPC would, and records the call. Register it with
// grpc::ServerBuilder::RegisterCallbackGenericService.
class UnknownMethods final : public grpc::CallbackGenericService {
 public:
  explicit UnknownMethods(const RpcRecorder& recorder) : recorder_(recorder) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

 private:
  const RpcRecorder& recorder_;
};

}  // namespace servicemanager::observability

#endif  // SERVICEMANAGER_SERVER_OBSERVABILITY_RPC_RECORDER_H_
