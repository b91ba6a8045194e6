// The HTTP/1.1 endpoint of App Runner's wire protocol (awsJson1_0): every
// request is POST with X-Amz-Target: AppRunner.<Operation> and a JSON body;
// the answer is the operation's JSON, or an error body {"__type": NAME,
// "Message": TEXT} with HTTP 400 (500 for InternalServiceErrorException, 403
// for authentication failures), which is what the AWS SDKs parse.
//
// Served by cpp-httplib on a pool of max_connections threads: at most that
// many connections are served at once (the accept loop waits for a free
// thread, further clients wait in the kernel's backlog), a body over
// max_body_bytes is refused with 413 before it is read, a request must arrive
// within the read timeout, and an idle keep-alive connection is closed after
// the keep-alive timeout.
#ifndef SERVICEMANAGER_SERVER_AWS_AWS_ENDPOINT_H_
#define SERVICEMANAGER_SERVER_AWS_AWS_ENDPOINT_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "aws/app_runner_translator.h"
#include "aws/sigv4.h"
#include "common/clock.h"
#include "common/id_generator.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace servicemanager::aws {

struct AwsEndpointOptions {
  std::string listen;  // HOST:PORT; port 0 picks a free one.
  size_t max_body_bytes = 1 << 20;
  int max_connections = 16;
  absl::Duration read_timeout = absl::Seconds(5);
  // Short, because httplib (0.11) lets an idle keep-alive connection wait
  // this long before it notices a Stop; clients reconnect when it expires.
  absl::Duration keep_alive_timeout = absl::Seconds(1);
  int keep_alive_max_requests = 100;
  // With auth on: the bearer token the endpoint presents to the gRPC API for
  // a request signed with each access key, so that the API acts as the key's
  // principal. Made at startup, never leaves the process. Empty: none.
  absl::flat_hash_map<std::string, std::string> access_key_bearer_tokens = {};
};

// Whether HOST of "HOST:PORT" is a loopback address (127.0.0.0/8, ::1 or
// localhost), which only this machine can reach.
bool IsLoopbackListenAddress(absl::string_view listen);

// Thread-safe.
class AwsEndpoint {
 public:
  // Binds `options.listen` and serves on threads of its own. With a null
  // `verifier` any signature, or none, is accepted (local development; main
  // allows that only on a loopback address). `translator` and `verifier`
  // must outlive the endpoint, and so must `clock`, which dates the request
  // ids.
  static absl::StatusOr<std::unique_ptr<AwsEndpoint>> Start(
      const AppRunnerTranslator& translator, const SigV4Verifier* verifier,
      common::Clock& clock, AwsEndpointOptions options);

  AwsEndpoint(const AwsEndpoint&) = delete;
  AwsEndpoint& operator=(const AwsEndpoint&) = delete;
  ~AwsEndpoint();  // Stops.

  // The port bound.
  int port() const { return port_; }

  // Stops accepting connections and returns once the requests in flight
  // have been answered and idle connections closed (within the keep-alive
  // timeout). Idempotent.
  void Stop();

 private:
  AwsEndpoint(const AppRunnerTranslator& translator,
              const SigV4Verifier* verifier, common::Clock& clock,
              AwsEndpointOptions options);

  void Handle(const httplib::Request& request,
              httplib::Response& response) const;
  // The response body; sets `access_key` to the verified signer's.
  absl::StatusOr<std::string> Serve(const httplib::Request& request,
                                    absl::string_view target,
                                    std::string& access_key) const;

  const AppRunnerTranslator& translator_;
  const SigV4Verifier* const verifier_;
  const AwsEndpointOptions options_;
  // x-amzn-RequestId values (UUIDs).
  mutable common::RandomIdGenerator request_ids_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> listen_ended_ = false;
};

}  // namespace servicemanager::aws

#endif  // SERVICEMANAGER_SERVER_AWS_AWS_ENDPOINT_H_
