#include "aws/aws_endpoint.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "aws/aws_error.h"
#include "common/log.h"

namespace servicemanager::aws {
namespace {

using common::Log;
using common::LogLevel;

constexpr char kContentType[] = "application/x-amz-json-1.0";

// httplib's task queue, bounded: the accept loop hands each connection to
// enqueue, which waits while every thread already has one. So at most
// `threads` connections are served at once, and the others wait in the
// listen backlog instead of piling up in an unbounded queue.
class BoundedThreadPool final : public httplib::TaskQueue {
 public:
  explicit BoundedThreadPool(size_t threads) : capacity_(threads) {
    for (size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { Work(); });
    }
  }

  ~BoundedThreadPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mu_);
    slot_free_.wait(
        lock, [this] { return stopping_ || busy_ + jobs_.size() < capacity_; });
    jobs_.push_back(std::move(fn));
    job_ready_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    job_ready_.notify_all();
    slot_free_.notify_all();
    for (std::thread& thread : threads_) {
      thread.join();
    }
  }

 private:
  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      job_ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      // Queued connections are still served (and so closed) on shutdown;
      // httplib answers nothing on them once the listener is closed.
      if (jobs_.empty()) return;
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      ++busy_;
      lock.unlock();
      job();
      lock.lock();
      --busy_;
      slot_free_.notify_one();
    }
  }

  const size_t capacity_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable job_ready_;
  std::condition_variable slot_free_;
  std::deque<std::function<void()>> jobs_;
  size_t busy_ = 0;
  bool stopping_ = false;
};

std::string ErrorBody(absl::string_view type, absl::string_view message) {
  return absl::StrCat("{\"__type\":", common::JsonString(type),
                      ",\"Message\":", common::JsonString(message), "}");
}

void SetError(httplib::Response& response, int http_status,
              absl::string_view type, absl::string_view message) {
  response.status = http_status;
  response.set_header("x-amzn-ErrorType", std::string(type));
  response.set_content(ErrorBody(type, message), kContentType);
}

time_t WholeSeconds(absl::Duration duration) {
  return static_cast<time_t>(absl::ToInt64Seconds(duration));
}

// HOST and PORT of "HOST:PORT" ("[::1]:8080" too).
bool SplitListen(absl::string_view listen, std::string& host, int& port) {
  const size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return false;
  }
  absl::string_view h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  host = std::string(h);
  return !host.empty();
}

}  // namespace

bool IsLoopbackListenAddress(absl::string_view listen) {
  std::string host;
  int port = 0;
  if (!SplitListen(listen, host, port)) {
    return false;
  }
  if (absl::AsciiStrToLower(host) == "localhost") {
    return true;
  }
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 &&
         IN6_IS_ADDR_LOOPBACK(&v6);
}

AwsEndpoint::AwsEndpoint(const AppRunnerTranslator& translator,
                         const SigV4Verifier* verifier, common::Clock& clock,
                         AwsEndpointOptions options)
    : translator_(translator),
      verifier_(verifier),
      options_(std::move(options)),
      request_ids_(clock),
      server_(std::make_unique<httplib::Server>()) {}

absl::StatusOr<std::unique_ptr<AwsEndpoint>> AwsEndpoint::Start(
    const AppRunnerTranslator& translator, const SigV4Verifier* verifier,
    common::Clock& clock, AwsEndpointOptions options) {
  std::string host;
  int port = 0;
  if (!SplitListen(options.listen, host, port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not HOST:PORT: ", options.listen));
  }
  std::unique_ptr<AwsEndpoint> endpoint(
      new AwsEndpoint(translator, verifier, clock, std::move(options)));
  httplib::Server& server = *endpoint->server_;
  const AwsEndpointOptions& o = endpoint->options_;
  const size_t threads = static_cast<size_t>(std::max(1, o.max_connections));
  server.new_task_queue = [threads] { return new BoundedThreadPool(threads); };
  server.set_payload_max_length(o.max_body_bytes);
  server.set_read_timeout(WholeSeconds(o.read_timeout));
  server.set_write_timeout(WholeSeconds(o.read_timeout));
  server.set_keep_alive_timeout(WholeSeconds(o.keep_alive_timeout));
  server.set_keep_alive_max_count(
      static_cast<size_t>(o.keep_alive_max_requests));
  // A response is written in two pieces (headers, then the body); without
  // this, Nagle's algorithm and delayed ACKs hold the body back ~40 ms.
  server.set_tcp_nodelay(true);
  // httplib's default sets SO_REUSEPORT, with which a second server on the
  // same port would start and silently take half the connections. A taken
  // port must be an error; SO_REUSEADDR only allows a quick restart.
  server.set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  AwsEndpoint* self = endpoint.get();
  // App Runner's protocol ignores the path (the operation is in
  // X-Amz-Target); SigV4 still covers it.
  server.Post(".*", [self](const httplib::Request& request,
                           httplib::Response& response) {
    self->Handle(request, response);
  });
  // Errors httplib answers itself (no handler for the method, a body over
  // the limit, an unreadable request) get an AWS error body too. Called for
  // every status >= 400; the handler's own errors already have a body.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [self](const httplib::Request& request, httplib::Response& response) {
        if (!response.body.empty()) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        const int status = response.status;
        std::string type = kSerializationException;
        if (status == 404 || status == 405) {
          type = kUnknownOperationException;
          SetError(
              response, status, type,
              absl::StrCat("App Runner's API is POST with X-Amz-Target, not ",
                           request.method));
        } else if (status == 413) {
          SetError(response, status, type,
                   absl::StrCat("the request body is larger than ",
                                self->options_.max_body_bytes, " bytes"));
        } else {
          SetError(response, status, type,
                   "the HTTP request could not be read");
        }
        response.set_header("x-amzn-RequestId",
                            self->request_ids_.NewOperationId());
        Log(LogLevel::kInfo, "aws request",
            {{"target", request.get_header_value("X-Amz-Target")},
             {"http_status", status},
             {"error_type", type}});
        return httplib::Server::HandlerResponse::Handled;
      }));
  // Nothing here should throw; if something does (memory), the caller gets
  // a 500 rather than a dropped connection.
  server.set_exception_handler([](const httplib::Request&,
                                  httplib::Response& response,
                                  std::exception_ptr) {
    SetError(response, 500, kInternalServiceErrorException,
             "internal error while handling the request");
  });

  endpoint->port_ = port == 0 ? server.bind_to_any_port(host)
                              : (server.bind_to_port(host, port) ? port : -1);
  if (endpoint->port_ <= 0) {
    return absl::UnavailableError(
        "cannot bind: the port is taken or the host is not this machine's");
  }
  endpoint->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    self->listen_ended_ = true;
  });
  // httplib's stop() does nothing until the listen loop has started, so a
  // Stop right after Start would wait forever: Start returns once it runs.
  while (!server.is_running() && !endpoint->listen_ended_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return endpoint;
}

AwsEndpoint::~AwsEndpoint() { Stop(); }

void AwsEndpoint::Stop() {
  server_->stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

absl::StatusOr<std::string> AwsEndpoint::Serve(const httplib::Request& request,
                                               absl::string_view target,
                                               std::string& access_key) const {
  if (verifier_ != nullptr) {
    HttpRequestView view{request.method, request.target, {}, request.body};
    for (const auto& [name, value] : request.headers) {
      view.headers.emplace_back(name, value);
    }
    absl::StatusOr<std::string> verified = verifier_->Verify(view);
    if (!verified.ok()) {
      return verified.status();
    }
    access_key = *std::move(verified);
  }
  const std::string content_type = request.get_header_value("Content-Type");
  const absl::string_view media_type = absl::StripAsciiWhitespace(
      absl::string_view(content_type).substr(0, content_type.find(';')));
  if (!absl::EqualsIgnoreCase(media_type, kContentType)) {
    return AwsError(absl::StatusCode::kInvalidArgument, kSerializationException,
                    absl::StrCat("Content-Type must be ", kContentType,
                                 ", not \"", content_type, "\""));
  }
  std::string bearer_token;
  if (auto token = options_.access_key_bearer_tokens.find(access_key);
      token != options_.access_key_bearer_tokens.end()) {
    bearer_token = token->second;
  } else if (!options_.access_key_bearer_tokens.empty()) {
    return AwsError(absl::StatusCode::kUnauthenticated,
                    kUnrecognizedClientException,
                    "The security token included in the request is invalid.");
  }
  return translator_.Call(target, request.body, bearer_token);
}

void AwsEndpoint::Handle(const httplib::Request& request,
                         httplib::Response& response) const {
  const absl::Time start = absl::Now();
  const std::string target = request.get_header_value("X-Amz-Target");
  std::string access_key;  // Stays empty when signatures are not verified.
  absl::StatusOr<std::string> body = Serve(request, target, access_key);
  response.set_header("x-amzn-RequestId", request_ids_.NewOperationId());
  std::string error_type;
  if (body.ok()) {
    response.status = 200;
    response.set_content(*std::move(body), kContentType);
  } else {
    error_type = ErrorTypeOf(body.status());
    SetError(response, HttpStatusOf(error_type), error_type,
             body.status().message());
  }
  Log(response.status >= 500 ? LogLevel::kWarning : LogLevel::kInfo,
      "aws request",
      {{"target", target},
       {"http_status", response.status},
       {"error_type", error_type},
       {"access_key_id", access_key},
       {"latency_ms", absl::ToDoubleMilliseconds(absl::Now() - start)}});
}

}  // namespace servicemanager::aws
