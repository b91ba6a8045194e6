// What the API records of one call (observability::RpcRecorder): its method,
// its start, the code of the status it finished with and its latency. A
// unary call is recorded as it finishes; a stream (and WaitOperation, which
// waits) when gRPC is done with it, so its latency covers the sending of its
// status, and one that ended without finishing (cancelled by the client or by
// the server's shutdown) is CANCELLED.
#ifndef SERVICEMANAGER_SERVER_API_CALL_RECORD_H_
#define SERVICEMANAGER_SERVER_API_CALL_RECORD_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "observability/rpc_recorder.h"

namespace servicemanager::api {

// The full name of a method of the API, e.g. SM_API_METHOD("DescribeService").
#define SM_API_METHOD(name) "/servicemanager.v1.ServiceManager/" name

class CallRecord {
 public:
  // Without a recorder, nothing is recorded. `method` is a string literal.
  CallRecord(const observability::RpcRecorder* recorder, const char* method)
      : recorder_(recorder),
        method_(method),
        start_(std::chrono::steady_clock::now()) {}

  // Notes the code of the status the call finishes with, and returns it.
  grpc::Status Finishing(grpc::Status status) {
    code_ = status.error_code();
    return status;
  }

  // Records the call: once, when it finished or from its reactor's OnDone.
  void Done() const {
    if (recorder_ != nullptr) {
      recorder_->Record(
          method_, code_,
          absl::FromChrono(std::chrono::steady_clock::now() - start_));
    }
  }

 private:
  const observability::RpcRecorder* recorder_;
  const char* method_;
  std::chrono::steady_clock::time_point start_;
  grpc::StatusCode code_ = grpc::StatusCode::CANCELLED;
};

}  // namespace servicemanager::api

#endif  // SERVICEMANAGER_SERVER_API_CALL_RECORD_H_
