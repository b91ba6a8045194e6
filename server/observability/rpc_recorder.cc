#include "observability/rpc_recorder.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>

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

RpcRecorder::RpcRecorder(Metrics& metrics,
                         absl::flat_hash_set<std::string> known_methods)
    : metrics_(metrics), known_methods_(std::move(known_methods)) {}

void RpcRecorder::Record(absl::string_view method, grpc::StatusCode code,
                         absl::Duration latency) const {
  const bool fault = code == grpc::StatusCode::UNKNOWN ||
                     code == grpc::StatusCode::INTERNAL ||
                     code == grpc::StatusCode::UNAVAILABLE ||
                     code == grpc::StatusCode::DATA_LOSS;
  (fault ? common::Log : common::LogBuffered)(
      fault ? common::LogLevel::kWarning : common::LogLevel::kInfo, "rpc",
      {{"method", method},
       {"code", GrpcCodeName(code)},
       {"latency_ms", absl::ToDoubleMilliseconds(latency)}});
  metrics_.RecordRpc(known_methods_.contains(method) ? method : "unknown",
                     GrpcCodeName(code), latency);
}

grpc::ServerGenericBidiReactor* UnknownMethods::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    Reactor(const RpcRecorder& recorder, std::string method)
        : recorder_(recorder),
          method_(std::move(method)),
          start_(std::chrono::steady_clock::now()) {
      Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""));
    }
    void OnDone() override {
      recorder_.Record(
          method_, grpc::StatusCode::UNIMPLEMENTED,
          absl::FromChrono(std::chrono::steady_clock::now() - start_));
      delete this;
    }

   private:
    const RpcRecorder& recorder_;
    const std::string method_;
    const std::chrono::steady_clock::time_point start_;
  };
  return new Reactor(recorder_, context->method());
}

}  // namespace servicemanager::observability
