// HTTP/1.1 requests over a unix socket (libcurl), for daemons such as Podman
// that serve their REST API on one. Thread-safe: every request has its own
// handle.
#ifndef SERVICEMANAGER_SERVER_RUNTIME_UNIX_HTTP_CLIENT_H_
#define SERVICEMANAGER_SERVER_RUNTIME_UNIX_HTTP_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace servicemanager::runtime {

struct HttpResponse {
  long status = 0;
  std::string body;
};

class UnixHttpClient {
 public:
  explicit UnixHttpClient(std::string socket_path);

  // `method` `path` (with its query) with `json_body` if not empty.
  // UNAVAILABLE if the socket does not answer within `timeout`; any HTTP
  // status is a response.
  absl::StatusOr<HttpResponse> Call(absl::string_view method,
                                    absl::string_view path,
                                    absl::string_view json_body,
                                    absl::Duration timeout) const;

  // `text` escaped for a path segment or a query value.
  static std::string Escape(absl::string_view text);

  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
};

// One HTTP GET of http://`host_port``path`, or UNAVAILABLE if no answer
// came within `timeout`. Health checks use it.
absl::StatusOr<HttpResponse> HttpGet(absl::string_view host_port,
                                     absl::string_view path,
                                     absl::Duration timeout);

// Whether a TCP connection to `host_port` opens within `timeout`.
bool TcpConnects(absl::string_view host_port, absl::Duration timeout);

}  // namespace servicemanager::runtime

#endif  // SERVICEMANAGER_SERVER_RUNTIME_UNIX_HTTP_CLIENT_H_
