#include "observability/rpc_observer.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/interceptor.h>
#include <grpcpp/support/server_interceptor.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/log.h"

namespace servicemanager::observability {

using grpc::experimental::InterceptionHookPoints;

absl::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    default:
      // Codes outside the 17 of the gRPC specification are not sent.
      return "UNKNOWN";
  }
}

absl::flat_hash_set<std::string> MethodsOf(
    std::initializer_list<absl::string_view> services) {
  absl::flat_hash_set<std::string> methods;
  const google::protobuf::DescriptorPool* pool =
      google::protobuf::DescriptorPool::generated_pool();
  for (absl::string_view name : services) {
    const google::protobuf::ServiceDescriptor* service =
        pool->FindServiceByName(std::string(name));
    if (service == nullptr) {
      continue;
    }
    for (int i = 0; i < service->method_count(); ++i) {
      methods.insert(absl::StrCat("/", service->full_name(), "/",
                                  service->method(i)->name()));
    }
  }
  return methods;
}

// One per RPC. gRPC destroys it when the call is over, which is when the
// line is written: the latency covers sending the status.
class RpcObserverFactory::Observer final
    : public grpc::experimental::Interceptor {
 public:
  Observer(std::shared_ptr<const Shared> shared,
           grpc::experimental::ServerRpcInfo* info)
      : shared_(std::move(shared)),
        method_(info->method() != nullptr ? info->method() : ""),
        start_(std::chrono::steady_clock::now()) {}

  ~Observer() override {
    const absl::Duration latency =
        absl::FromChrono(std::chrono::steady_clock::now() - start_);
    // The code is the one the handler sent; a call that ended before it
    // sent one (cancelled by the client or by the server's shutdown) is
    // CANCELLED.
    const grpc::StatusCode code = code_.value_or(grpc::StatusCode::CANCELLED);
    const bool fault = code == grpc::StatusCode::UNKNOWN ||
                       code == grpc::StatusCode::INTERNAL ||
                       code == grpc::StatusCode::UNAVAILABLE ||
                       code == grpc::StatusCode::DATA_LOSS;
    common::Log(fault ? common::LogLevel::kWarning : common::LogLevel::kInfo,
                "rpc",
                {{"method", method_},
                 {"code", GrpcCodeName(code)},
                 {"latency_ms", absl::ToDoubleMilliseconds(latency)}});
    shared_->metrics.RecordRpc(
        shared_->known_methods.contains(method_) ? method_ : "unknown",
        GrpcCodeName(code), latency);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    // Not ServerContextBase::IsCancelled() here: on a call of the sync API
    // it finalizes the call's completion, which runs the interceptors again.
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      code_ = methods->GetSendStatus().error_code();
    }
    methods->Proceed();
  }

 private:
  const std::shared_ptr<const Shared> shared_;
  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
  // Written once, by the PRE_SEND_STATUS hook; the destructor runs after it
  // (the reference count of the call's ServerRpcInfo orders them).
  std::optional<grpc::StatusCode> code_;
};

RpcObserverFactory::RpcObserverFactory(
    Metrics& metrics, absl::flat_hash_set<std::string> known_methods)
    : shared_(std::make_shared<const Shared>(
          Shared{metrics, std::move(known_methods)})) {}

grpc::experimental::Interceptor* RpcObserverFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new Observer(shared_, info);
}

}  // namespace servicemanager::observability
