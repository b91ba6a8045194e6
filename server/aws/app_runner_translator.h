// The App Runner operations, served by calling the ServiceManager gRPC API:
// the JSON request becomes the proto request, the gRPC call runs every rule
// (validation, state machine, store, worker), and the proto response or the
// gRPC status (with its x-amzn-errortype trailer) becomes App Runner's answer.
// Nothing here decides whether a call is allowed.
//
// Thread-safe.
#ifndef SERVICEMANAGER_SERVER_AWS_APP_RUNNER_TRANSLATOR_H_
#define SERVICEMANAGER_SERVER_AWS_APP_RUNNER_TRANSLATOR_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"

namespace servicemanager::aws {

class AppRunnerTranslator {
 public:
  // The prefix of X-Amz-Target: "AppRunner.PauseService".
  static constexpr char kTargetPrefix[] = "AppRunner.";

  // `channel` reaches the ServiceManager gRPC API (main passes the server's
  // in-process channel). Each call may take `call_timeout`.
  explicit AppRunnerTranslator(std::shared_ptr<grpc::ChannelInterface> channel,
                               absl::Duration call_timeout = absl::Seconds(30));

  // The response body of the operation named by `target` called with `body`,
  // or an error carrying its AWS exception name (aws_error.h):
  // UnknownOperationException for a target this endpoint does not serve,
  // SerializationException or InvalidRequestException for a body that does
  // not translate, and otherwise the gRPC API's own error. A non-empty
  // `bearer_token` is presented to the API (authorization: Bearer), which
  // then acts as its principal.
  absl::StatusOr<std::string> Call(absl::string_view target,
                                   absl::string_view body,
                                   absl::string_view bearer_token = "") const;

  // The operations served, without the prefix, sorted.
  std::vector<std::string> Operations() const;

 private:
  using Handler = std::function<absl::StatusOr<std::string>(
      absl::string_view body, absl::string_view bearer_token)>;

  template <typename Request, typename Response>
  void Add(const std::string& operation,
           grpc::Status (servicemanager::v1::ServiceManager::Stub::*method)(
               grpc::ClientContext*, const Request&, Response*));

  std::unique_ptr<servicemanager::v1::ServiceManager::Stub> stub_;
  const absl::Duration call_timeout_;
  absl::flat_hash_map<std::string, Handler> operations_;
};

}  // namespace servicemanager::aws

#endif  // SERVICEMANAGER_SERVER_AWS_APP_RUNNER_TRANSLATOR_H_
