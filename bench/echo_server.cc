// sm_bench_echo: a gRPC server with one trivial RPC, built and threaded like
// servicemanager (callback API, default server threads) and started with the
// same process defaults. Prints "listening on 127.0.0.1:PORT" and serves
// until SIGTERM or SIGINT.
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "common/process_defaults.h"
#include "echo.grpc.pb.h"

namespace {

class EchoService final : public servicemanager::bench::Echo::CallbackService {
 public:
  explicit EchoService(int payload_bytes) : payload_(payload_bytes, 'x') {}

  grpc::ServerUnaryReactor* Echo(
      grpc::CallbackServerContext* context,
      const servicemanager::bench::EchoRequest* request,
      servicemanager::bench::EchoResponse* response) override {
    response->set_text(request->text());
    response->set_payload(payload_);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const std::string payload_;
};

}  // namespace

int main(int argc, char** argv) {
  servicemanager::common::SetServingProcessDefaults();
  CLI::App app{"A trivial gRPC server: the benchmark's baseline."};
  std::string listen = "127.0.0.1:0";
  int payload_bytes = 1000;
  app.add_option("--listen", listen, "HOST:PORT")->capture_default_str();
  app.add_option("--payload-bytes", payload_bytes,
                 "bytes of filler in each response")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  EchoService service(payload_bytes);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "cannot listen on " << listen << "\n";
    return 1;
  }
  std::cout << "listening on 127.0.0.1:" << port << std::endl;
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  server->Shutdown();
  return 0;
}
