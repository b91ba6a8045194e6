// libFuzzer target over the gRPC API: request conversion, validation, the
// handlers and the store. An input picks one request type of
// servicemanager.v1.ServiceManager and is parsed as that message:
//   - binary: the first byte is the method's index in the service (0-16), the
//     rest is the message in protobuf's wire format;
//   - text: the first line is the method's name, the rest the message in
//     protobuf's text format (what the seed corpus mostly uses).
// Inputs that do not parse are rejected. The message goes through a real
// grpc::Server's in-process channel to ServiceManagerService over a SQLite
// store in a temporary directory; the worker finishes what was accepted after
// each input, so services move on. State carries over between inputs, and
// the server starts with one RUNNING service, "fuzz-web", whose ARN
// (arn:aws:apprunner:us-east-1:123456789012:service/fuzz-web/000...001) and
// operation ids (00000000-0000-4000-8000-00000000000N) the seeds use.
//
// Besides sanitizer reports, an input fails (abort) when its call ends with:
//   - a code the API does not give for a request on a healthy database (only
//     OK, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION and
//     ABORTED; CANCELLED only for the watch this target cancels itself);
//   - an App Runner exception name other than the one of its code;
//   - an INVALID_ARGUMENT message that does not start with "FIELD: " or
//     "FIELD, FIELD: ", each FIELD a path of the request's fields
//     ("source_configuration.image_repository.image_identifier");
//   - an error message longer than 2048 characters (every echo of input in a
//     message is bounded).
#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "api/authorizer.h"
#include "api/change_hub.h"
#include "api/grpc_status.h"
#include "api/service_manager_service.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/text_format.h"
#include "runtime/simulated_runtime.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "store/sqlite_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/sequential_ids.h"
#include "worker/operation_worker.h"

namespace servicemanager::fuzz {
namespace {

namespace v1 = ::servicemanager::v1;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using Stub = v1::ServiceManager::Stub;

constexpr absl::Duration kComputeTime = absl::Milliseconds(200);
constexpr size_t kMaxErrorMessage = 2048;

// The database's directory, removed when the run exits.
std::filesystem::path* temp_dir = nullptr;

void RemoveTempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(*temp_dir, ignored);
}

[[noreturn]] void Fail(absl::string_view method, const grpc::Status& status,
                       absl::string_view error_type, absl::string_view why) {
  std::fprintf(stderr, "api_fuzzer: %.*s: %.*s\n  code %d, %.*s\n  %.*s\n",
               static_cast<int>(method.size()), method.data(),
               static_cast<int>(why.size()), why.data(),
               static_cast<int>(status.error_code()),
               static_cast<int>(error_type.size()), error_type.data(),
               static_cast<int>(std::min<size_t>(status.error_message().size(),
                                                 kMaxErrorMessage)),
               status.error_message().data());
  std::abort();
}

// Whether `path` ("a.b.c") names a field of `message`, through nested
// messages.
bool IsFieldPath(const Descriptor* message, absl::string_view path) {
  const FieldDescriptor* field = nullptr;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (message == nullptr) {
      return false;
    }
    field = message->FindFieldByName(std::string(part));
    if (field == nullptr) {
      return false;
    }
    message = field->message_type();
  }
  return field != nullptr;
}

// The documented App Runner exception of each code the API gives.
absl::string_view ExpectedErrorType(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::ALREADY_EXISTS:
      return "InvalidRequestException";
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
      return "InvalidStateException";
    case grpc::StatusCode::NOT_FOUND:
      return "ResourceNotFoundException";
    default:
      return "";
  }
}

void Check(absl::string_view method, const Descriptor* request,
           const grpc::Status& status, const grpc::ClientContext& context,
           bool cancelled_by_us) {
  if (status.ok()) {
    return;
  }
  std::string error_type;
  const auto& trailers = context.GetServerTrailingMetadata();
  if (auto it = trailers.find(std::string(api::kErrorTypeKey));
      it != trailers.end()) {
    error_type.assign(it->second.data(), it->second.size());
  }
  if (status.error_code() == grpc::StatusCode::CANCELLED && cancelled_by_us) {
    return;
  }
  const absl::string_view expected = ExpectedErrorType(status.error_code());
  if (expected.empty()) {
    Fail(method, status, error_type, "a code the API does not document here");
  }
  if (error_type != expected) {
    Fail(method, status, error_type,
         absl::StrCat("x-amzn-errortype is not ", expected));
  }
  const std::string& message = status.error_message();
  if (message.size() > kMaxErrorMessage) {
    Fail(method, status, error_type, "the error message is too long");
  }
  if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
    return;
  }
  const size_t colon = message.find(": ");
  if (colon == std::string::npos) {
    Fail(method, status, error_type, "INVALID_ARGUMENT names no field");
  }
  for (absl::string_view path :
       absl::StrSplit(absl::string_view(message).substr(0, colon), ", ")) {
    if (!IsFieldPath(request, path)) {
      Fail(method, status, error_type,
           absl::StrCat("INVALID_ARGUMENT names \"", path,
                        "\", not a field of ", request->name()));
    }
  }
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
}

// One request type: parses the message and makes the call.
struct Method {
  std::string name;
  const Descriptor* request;
  std::function<bool(Stub&, bool text, absl::string_view bytes)> call;
};

class QuietErrors final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, int, const std::string&) override {}
};

// Whether `bytes` is a request. The text parser lets strings that are not
// UTF-8 through; gRPC refuses them before any handler runs (see the README's
// Errors), so they test nothing of ours and are not requests here either.
template <typename Request>
bool Parse(bool text, absl::string_view bytes, Request& request) {
  if (!text) {
    return request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  }
  google::protobuf::TextFormat::Parser parser;
  QuietErrors errors;
  parser.RecordErrorsTo(&errors);
  Request wire;
  return parser.ParseFromString(std::string(bytes), &request) &&
         wire.ParseFromString(request.SerializeAsString());
}

template <typename Request, typename Response>
Method Unary(std::string name,
             grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&,
                                       Response*)) {
  return Method{name, Request::descriptor(),
                [name, rpc](Stub& stub, bool text, absl::string_view bytes) {
                  Request request;
                  if (!Parse(text, bytes, request)) {
                    return false;
                  }
                  grpc::ClientContext context;
                  SetDeadline(context);
                  Response response;
                  const grpc::Status status =
                      (stub.*rpc)(&context, request, &response);
                  Check(name, Request::descriptor(), status, context, false);
                  return true;
                }};
}

// WatchService streams until the service is deleted: read the first message,
// then cancel.
Method Watch() {
  return Method{
      "WatchService", v1::WatchServiceRequest::descriptor(),
      [](Stub& stub, bool text, absl::string_view bytes) {
        v1::WatchServiceRequest request;
        if (!Parse(text, bytes, request)) {
          return false;
        }
        grpc::ClientContext context;
        SetDeadline(context);
        std::unique_ptr<grpc::ClientReader<v1::WatchServiceResponse>> reader =
            stub.WatchService(&context, request);
        v1::WatchServiceResponse response;
        const bool read = reader->Read(&response);
        if (read) {
          context.TryCancel();
        }
        const grpc::Status status = reader->Finish();
        Check("WatchService", v1::WatchServiceRequest::descriptor(), status,
              context, read);
        return true;
      }};
}

std::vector<Method> Methods() {
  std::vector<Method> methods = {
      Unary("CreateService", &Stub::CreateService),
      Unary("DescribeService", &Stub::DescribeService),
      Unary("ListServices", &Stub::ListServices),
      Unary("UpdateService", &Stub::UpdateService),
      Unary("StartDeployment", &Stub::StartDeployment),
      Unary("PauseService", &Stub::PauseService),
      Unary("ResumeService", &Stub::ResumeService),
      Unary("DeleteService", &Stub::DeleteService),
      Unary("ListOperations", &Stub::ListOperations),
      Unary("DescribeOperation", &Stub::DescribeOperation),
      Unary("WaitOperation", &Stub::WaitOperation),
      Unary("CancelOperation", &Stub::CancelOperation),
      Watch(),
      Unary("TagResource", &Stub::TagResource),
      Unary("UntagResource", &Stub::UntagResource),
      Unary("ListTagsForResource", &Stub::ListTagsForResource),
      Unary("NotifySourceVersion", &Stub::NotifySourceVersion),
      Unary("CreateConnection", &Stub::CreateConnection),
      Unary("DeleteConnection", &Stub::DeleteConnection),
      Unary("ListConnections", &Stub::ListConnections),
      Unary("AssociateCustomDomain", &Stub::AssociateCustomDomain),
      Unary("DisassociateCustomDomain", &Stub::DisassociateCustomDomain),
      Unary("DescribeCustomDomains", &Stub::DescribeCustomDomains),
  };
  // Every method of the service, in the proto's order, and no other.
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::ServiceManager::service_full_name());
  bool same = service != nullptr &&
              static_cast<int>(methods.size()) == service->method_count();
  for (int i = 0; same && i < service->method_count(); ++i) {
    same = service->method(i)->name() == methods[i].name &&
           service->method(i)->input_type() == methods[i].request;
  }
  if (!same) {
    std::fprintf(stderr, "api_fuzzer: the method table is not the proto's\n");
    std::abort();
  }
  return methods;
}

// The server and everything under it, for the whole run.
class Harness {
 public:
  Harness()
      : dir_(MakeTempDir()),
        store_(OpenStore(dir_)),
        worker_(*store_, runtime_, clock_,
                worker::WorkerOptions{.compute_time = kComputeTime}),
        authorizer_(api::AuthorizerOptions{.account_id = "123456789012"}),
        service_(*store_, hub_, clock_, authorizer_,
                 api::ApiOptions{.region = "us-east-1", .write_threads = 4},
                 [] {}),
        methods_(Methods()) {
    grpc::ServerBuilder builder;
    builder.SetMaxReceiveMessageSize(api::kMaxRequestBytes);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::ServiceManager::NewStub(
        server_->InProcessChannel(grpc::ChannelArguments()));
    SeedService();
  }

  // 0 for an input that was called, -1 for one that does not parse.
  int Run(absl::string_view input) {
    if (input.empty()) {
      return -1;
    }
    const auto index = static_cast<unsigned char>(input[0]);
    bool called = false;
    if (index < methods_.size()) {
      called = methods_[index].call(*stub_, false, input.substr(1));
    } else {
      const size_t newline = input.find('\n');
      const absl::string_view name = input.substr(0, newline);
      const absl::string_view text = newline == absl::string_view::npos
                                         ? absl::string_view()
                                         : input.substr(newline + 1);
      for (const Method& method : methods_) {
        if (method.name == name) {
          called = method.call(*stub_, true, text);
          break;
        }
      }
    }
    if (!called) {
      return -1;
    }
    FinishOperations();
    return 0;
  }

 private:
  static std::filesystem::path MakeTempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sm-api-fuzzer-XXXXXX")
            .string();
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("api_fuzzer: mkdtemp");
      std::abort();
    }
    temp_dir = new std::filesystem::path(pattern);
    std::atexit(RemoveTempDir);
    return pattern;
  }

  std::unique_ptr<store::SqliteStore> OpenStore(
      const std::filesystem::path& dir) {
    store::SqliteOptions options;
    options.path = (dir / "db.sqlite").string();
    options.url_suffix = "us-east-1.fuzz";
    options.synchronous_full = false;
    options.read_connections = 2;
    auto opened = store::SqliteStore::Open(options, clock_, ids_, &hub_);
    if (!opened.ok()) {
      std::fprintf(stderr, "api_fuzzer: %s\n",
                   opened.status().ToString().c_str());
      std::abort();
    }
    return *std::move(opened);
  }

  void FinishOperations() {
    for (int i = 0; i < 2; ++i) {
      if (!worker_.RunOnce().ok()) {
        std::fprintf(stderr, "api_fuzzer: the worker failed\n");
        std::abort();
      }
      clock_.Advance(kComputeTime);
    }
  }

  void SeedService() {
    v1::CreateServiceRequest request;
    request.set_service_name("fuzz-web");
    request.mutable_source_configuration()
        ->mutable_image_repository()
        ->set_image_identifier("public.ecr.aws/fuzz/web:1");
    v1::Tag* tag = request.add_tags();
    tag->set_key("team");
    tag->set_value("fuzz");
    grpc::ClientContext context;
    SetDeadline(context);
    v1::CreateServiceResponse response;
    if (!stub_->CreateService(&context, request, &response).ok()) {
      std::fprintf(stderr, "api_fuzzer: cannot create the seed service\n");
      std::abort();
    }
    FinishOperations();
  }

  std::filesystem::path dir_;
  testing::FakeClock clock_;
  testing::SequentialIds ids_;
  api::ChangeHub hub_;
  std::unique_ptr<store::SqliteStore> store_;
  runtime::SimulatedRuntime runtime_;
  worker::OperationWorker worker_;
  api::Authorizer authorizer_;
  api::ServiceManagerService service_;
  std::vector<Method> methods_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Stub> stub_;
};

Harness* harness = nullptr;

}  // namespace
}  // namespace servicemanager::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Parse errors of random bytes (bad UTF-8) would flood the log.
  google::protobuf::SetLogHandler(nullptr);
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
  servicemanager::fuzz::harness = new servicemanager::fuzz::Harness();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return servicemanager::fuzz::harness->Run(
      absl::string_view(reinterpret_cast<const char*>(data), size));
}
