// A gRPC server interceptor that logs every RPC on one line (method, status
// code, latency) and counts it in Metrics. It sees every service on the
// server, health checks and reflection included.
#ifndef SERVICEMANAGER_SERVER_OBSERVABILITY_RPC_OBSERVER_H_
#define SERVICEMANAGER_SERVER_OBSERVABILITY_RPC_OBSERVER_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <initializer_list>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
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

// Give it to grpc::ServerBuilder::experimental().SetInterceptorCreators().
// The metrics must outlive every RPC of the server.
class RpcObserverFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // RPCs to a method outside `known_methods` are counted under the method
  // "unknown", so that a client cannot add series to the metrics without
  // bound; the log line names the method it asked for.
  RpcObserverFactory(Metrics& metrics,
                     absl::flat_hash_set<std::string> known_methods);

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  struct Shared {
    Metrics& metrics;
    const absl::flat_hash_set<std::string> known_methods;
  };
  class Observer;

  // Shared with every interceptor: gRPC may destroy the last one after the
  // factory.
  std::shared_ptr<const Shared> shared_;
};

}  // namespace servicemanager::observability

#endif  // SERVICEMANAGER_SERVER_OBSERVABILITY_RPC_OBSERVER_H_
