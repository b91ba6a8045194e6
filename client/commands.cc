#include "client/commands.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/output.h"
#include "client/service_manager_client.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/stubs/stringpiece.h"
#include "google/protobuf/util/json_util.h"
#include "servicemanager/v1/service_manager.pb.h"

namespace servicemanager::client {
namespace {

template <typename Request, typename Response>
using ClientMethod =
    absl::StatusOr<Response> (ServiceManagerClient::*)(const Request&) const;

// Waits for the operation to end, with a progress line on a terminal. OK if
// it SUCCEEDED; otherwise a status with the kOperationFailed payload.
absl::Status AwaitOperation(const ServiceManagerClient& client,
                            const std::string& operation_id, const Io& io) {
  const absl::Time start = absl::Now();
  // On a terminal, short waits keep the progress line ticking.
  const absl::Duration slice =
      io.terminal ? absl::Seconds(1) : absl::Seconds(60);
  v1::WaitOperationRequest request;
  request.set_operation_id(operation_id);
  request.mutable_timeout()->set_seconds(absl::ToInt64Seconds(slice));
  while (true) {
    absl::StatusOr<v1::WaitOperationResponse> waited =
        client.WaitOperation(request);
    if (!waited.ok()) {
      if (io.terminal) io.err << "\r\033[K";
      return waited.status();
    }
    const v1::Operation& op = waited->operation();
    const std::string line =
        absl::StrCat(v1::OperationType_Name(op.type()), " ", operation_id, ": ",
                     v1::OperationStatus_Name(op.status()), " after ",
                     absl::FormatDuration(absl::Trunc(
                         absl::Now() - start, absl::Milliseconds(100))));
    if (io.terminal) io.err << "\r\033[K" << line << std::flush;
    if (!waited->done()) continue;
    if (io.terminal) io.err << "\n";
    if (op.status() == v1::SUCCEEDED) return absl::OkStatus();
    absl::Status failed = absl::AbortedError(absl::StrCat(
        "The operation ", operation_id, " (", v1::OperationType_Name(op.type()),
        ") ended ", v1::OperationStatus_Name(op.status()),
        op.has_error()
            ? absl::StrCat(": ", op.error().code(), ": ", op.error().message())
            : ""));
    failed.SetPayload(kOperationFailed, absl::Cord(operation_id));
    return failed;
  }
}

// The Command for `sub`: calls `method` with the request that the options of
// `sub` fill in and prints the response; with `*wait`, then waits for the
// operation the response names.
template <typename Request, typename Response>
Command MakeCommand(CLI::App* sub, std::string operation,
                    std::shared_ptr<const Request> request,
                    ClientMethod<Request, Response> method,
                    std::shared_ptr<const bool> wait = nullptr) {
  return Command{
      .app = sub,
      .operation = std::move(operation),
      .run = [request = std::move(request), method, wait](
                 const ServiceManagerClient& client,
                 const Io& io) -> absl::Status {
        absl::StatusOr<Response> response = (client.*method)(*request);
        if (!response.ok()) return response.status();
        if (absl::Status printed = PrintJson(*response, io.out);
            !printed.ok()) {
          return printed;
        }
        if constexpr (requires { response->operation_id(); }) {
          if (wait != nullptr && *wait && !response->operation_id().empty()) {
            return AwaitOperation(client, response->operation_id(), io);
          }
        }
        return absl::OkStatus();
      },
  };
}

// Adds an option taking one string, which `set` receives when it is given.
CLI::Option* AddText(CLI::App& sub, const std::string& name,
                     const std::string& type_name,
                     const std::string& description,
                     std::function<void(const std::string&)> set) {
  return sub
      .add_option_function<std::string>(name, std::move(set), description)
      ->type_name(type_name);
}

// Adds an option taking JSON, parsed into the message that `target` returns
// when the option is given.
CLI::Option* AddJson(CLI::App& sub, const std::string& name,
                     const std::string& description,
                     std::function<google::protobuf::Message*()> target) {
  return sub
      .add_option_function<std::string>(
          name,
          [name, target = std::move(target)](const std::string& json) {
            if (absl::Status status = ParseJson(json, target()); !status.ok()) {
              throw CLI::ValidationError(name, std::string(status.message()));
            }
          },
          description)
      ->type_name("JSON");
}

template <typename Request>
void AddServiceArn(CLI::App& sub, std::shared_ptr<Request> request) {
  AddText(sub, "--service-arn", "ARN", "The ARN of the service.",
          [request](const std::string& arn) { request->set_service_arn(arn); })
      ->required();
}

template <typename Request>
void AddResourceArn(CLI::App& sub, std::shared_ptr<Request> request) {
  AddText(sub, "--resource-arn", "ARN", "The ARN of the service.",
          [request](const std::string& arn) { request->set_resource_arn(arn); })
      ->required();
}

// Adds --max-results and --next-token.
template <typename Request>
void AddPaging(CLI::App& sub, std::shared_ptr<Request> request) {
  sub.add_option_function<int32_t>(
         "--max-results",
         [request](int32_t max_results) {
           request->set_max_results(max_results);
         },
         "The most results to return, 1-100 (default 20).")
      ->type_name("N");
  AddText(
      sub, "--next-token", "TOKEN",
      "The nextToken of the previous page, for the next one.",
      [request](const std::string& token) { request->set_next_token(token); });
}

// Adds the three parts of a service's configuration, and returns
// --source-configuration.
template <typename Request>
CLI::Option* AddConfigurations(CLI::App& sub,
                               std::shared_ptr<Request> request) {
  CLI::Option* source = AddJson(
      sub, "--source-configuration",
      "The source configuration as JSON, e.g. "
      R"('{"image_repository":{"image_identifier":"public.ecr.aws/nginx/)"
      R"(nginx:latest","image_repository_type":"ECR_PUBLIC"}}'.)",
      [request] { return request->mutable_source_configuration(); });
  AddJson(sub, "--instance-configuration",
          "The instance configuration as JSON, e.g. "
          R"('{"cpu":"1024","memory":"2048"}'.)",
          [request] { return request->mutable_instance_configuration(); });
  AddJson(sub, "--health-check-configuration",
          "The health check configuration as JSON, e.g. "
          R"('{"protocol":"HTTP","path":"/healthz"}'.)",
          [request] { return request->mutable_health_check_configuration(); });
  return source;
}

template <typename Request>
CLI::Option* AddTags(CLI::App& sub, std::shared_ptr<Request> request) {
  return sub
      .add_option_function<std::vector<std::string>>(
          "--tags",
          [request](const std::vector<std::string>& texts) {
            for (const std::string& text : texts) {
              absl::StatusOr<v1::Tag> tag = ParseTag(text);
              if (!tag.ok()) {
                throw CLI::ValidationError("--tags",
                                           std::string(tag.status().message()));
              }
              *request->add_tags() = *std::move(tag);
            }
          },
          "The tags, each Key=KEY,Value=VALUE.")
      ->type_name("TAG");
}

// Adds --client-token, --validate-only, --etag (where the call takes one)
// and --wait, which sets `*wait`.
template <typename Request>
void AddCallOptions(CLI::App& sub, std::shared_ptr<Request> request,
                    std::shared_ptr<bool> wait) {
  AddText(sub, "--client-token", "TOKEN",
          "1-64 printable characters: a retry with the same token and "
          "request gets the first call's response instead of a second "
          "operation.",
          [request](const std::string& token) {
            request->set_client_token(token);
          });
  sub.add_flag_function(
      "--validate-only",
      [request](int64_t) { request->set_validate_only(true); },
      "Run every check and show what would happen; change nothing.");
  if constexpr (requires { request->set_etag(""); }) {
    AddText(sub, "--etag", "ETAG",
            "The service's etag as last seen; the call is refused if the "
            "service has changed since.",
            [request](const std::string& etag) { request->set_etag(etag); });
  }
  sub.add_flag("--wait", *wait,
               "Wait until the operation ends (progress on a terminal); exit "
               "1 unless it SUCCEEDED.");
}

template <typename Request>
void AddOperationId(CLI::App& sub, std::shared_ptr<Request> request) {
  AddText(sub, "--operation-id", "ID", "The id of the operation.",
          [request](const std::string& id) { request->set_operation_id(id); })
      ->required();
}

Command AddCreateService(CLI::App& app) {
  auto request = std::make_shared<v1::CreateServiceRequest>();
  auto wait = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "create-service", "Creates a service and starts its first deployment.");
  AddText(
      *sub, "--service-name", "NAME",
      "The name of the service: 4-40 letters, digits, '-' and '_'.",
      [request](const std::string& name) { request->set_service_name(name); })
      ->required();
  AddConfigurations(*sub, request)->required();
  AddTags(*sub, request);
  AddCallOptions(*sub, request, wait);
  return MakeCommand<v1::CreateServiceRequest, v1::CreateServiceResponse>(
      sub, "CreateService", request, &ServiceManagerClient::CreateService,
      wait);
}

Command AddDescribeService(CLI::App& app) {
  auto request = std::make_shared<v1::DescribeServiceRequest>();
  CLI::App* sub = app.add_subcommand(
      "describe-service",
      "Describes a service in any state, including DELETED.");
  AddServiceArn(*sub, request);
  return MakeCommand<v1::DescribeServiceRequest, v1::DescribeServiceResponse>(
      sub, "DescribeService", request, &ServiceManagerClient::DescribeService);
}

Command AddListServices(CLI::App& app) {
  auto request = std::make_shared<v1::ListServicesRequest>();
  CLI::App* sub = app.add_subcommand(
      "list-services",
      "Lists the services that are not deleted, oldest first.");
  AddPaging(*sub, request);
  sub->add_flag_function(
      "--show-deleted", [request](int64_t) { request->set_show_deleted(true); },
      "Also list the services deleted within the server's retention.");
  return MakeCommand<v1::ListServicesRequest, v1::ListServicesResponse>(
      sub, "ListServices", request, &ServiceManagerClient::ListServices);
}

Command AddUpdateService(CLI::App& app) {
  auto request = std::make_shared<v1::UpdateServiceRequest>();
  auto wait = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "update-service",
      "Replaces the given parts of a service's configuration and redeploys.");
  AddServiceArn(*sub, request);
  AddConfigurations(*sub, request);
  AddCallOptions(*sub, request, wait);
  return MakeCommand<v1::UpdateServiceRequest, v1::UpdateServiceResponse>(
      sub, "UpdateService", request, &ServiceManagerClient::UpdateService,
      wait);
}

// Pause, resume, delete and deployment: a service ARN and the call options.
template <typename Request, typename Response>
Command AddLifecycleCommand(CLI::App& app, const std::string& name,
                            const std::string& description,
                            const std::string& operation,
                            ClientMethod<Request, Response> method) {
  auto request = std::make_shared<Request>();
  auto wait = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(name, description);
  AddServiceArn(*sub, request);
  AddCallOptions(*sub, request, wait);
  return MakeCommand<Request, Response>(sub, operation, request, method, wait);
}

Command AddListOperations(CLI::App& app) {
  auto request = std::make_shared<v1::ListOperationsRequest>();
  CLI::App* sub = app.add_subcommand(
      "list-operations", "Lists a service's operations, newest first.");
  AddServiceArn(*sub, request);
  AddPaging(*sub, request);
  return MakeCommand<v1::ListOperationsRequest, v1::ListOperationsResponse>(
      sub, "ListOperations", request, &ServiceManagerClient::ListOperations);
}

Command AddDescribeOperation(CLI::App& app) {
  auto request = std::make_shared<v1::DescribeOperationRequest>();
  CLI::App* sub = app.add_subcommand(
      "describe-operation",
      "Describes an operation, with why it failed if it did.");
  AddOperationId(*sub, request);
  return MakeCommand<v1::DescribeOperationRequest,
                     v1::DescribeOperationResponse>(
      sub, "DescribeOperation", request,
      &ServiceManagerClient::DescribeOperation);
}

Command AddWaitOperation(CLI::App& app) {
  auto request = std::make_shared<v1::WaitOperationRequest>();
  CLI::App* sub = app.add_subcommand(
      "wait-operation",
      "Returns the operation once it has ended, or as it stands after "
      "--max-wait seconds (at most 60).");
  AddOperationId(*sub, request);
  sub->add_option_function<double>(
         "--max-wait",
         [request](double seconds) {
           const absl::Duration wait = absl::Seconds(seconds);
           request->mutable_timeout()->set_seconds(
               absl::ToInt64Seconds(absl::Trunc(wait, absl::Seconds(1))));
           request->mutable_timeout()->set_nanos(static_cast<int32_t>(
               absl::ToInt64Nanoseconds(wait % absl::Seconds(1))));
         },
         "How long to wait at most, in seconds (default 60).")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.0, 60.0));
  return MakeCommand<v1::WaitOperationRequest, v1::WaitOperationResponse>(
      sub, "WaitOperation", request, &ServiceManagerClient::WaitOperation);
}

Command AddCancelOperation(CLI::App& app) {
  auto request = std::make_shared<v1::CancelOperationRequest>();
  CLI::App* sub = app.add_subcommand(
      "cancel-operation",
      "Cancels an operation: a PENDING one at once, an IN_PROGRESS one by "
      "rolling it back.");
  AddOperationId(*sub, request);
  return MakeCommand<v1::CancelOperationRequest, v1::CancelOperationResponse>(
      sub, "CancelOperation", request, &ServiceManagerClient::CancelOperation);
}

Command AddWatchService(CLI::App& app) {
  auto request = std::make_shared<v1::WatchServiceRequest>();
  CLI::App* sub = app.add_subcommand(
      "watch-service",
      "Prints the service, then again at each change, one JSON line each, "
      "until it is deleted.");
  AddServiceArn(*sub, request);
  return Command{
      .app = sub,
      .operation = "WatchService",
      .run = [request](const ServiceManagerClient& client,
                       const Io& io) -> absl::Status {
        absl::Status printed;
        absl::Status watched = client.WatchService(
            *request, [&](const v1::WatchServiceResponse& change) {
              printed = PrintJsonLine(change.service(), io.out);
              return printed.ok();
            });
        return printed.ok() ? watched : printed;
      },
  };
}

Command AddTagResource(CLI::App& app) {
  auto request = std::make_shared<v1::TagResourceRequest>();
  CLI::App* sub = app.add_subcommand(
      "tag-resource", "Adds tags, overwriting the value of keys that exist.");
  AddResourceArn(*sub, request);
  AddTags(*sub, request)->required();
  return MakeCommand<v1::TagResourceRequest, v1::TagResourceResponse>(
      sub, "TagResource", request, &ServiceManagerClient::TagResource);
}

Command AddUntagResource(CLI::App& app) {
  auto request = std::make_shared<v1::UntagResourceRequest>();
  CLI::App* sub = app.add_subcommand(
      "untag-resource", "Removes tags by key; absent keys are ignored.");
  AddResourceArn(*sub, request);
  sub->add_option_function<std::vector<std::string>>(
         "--tag-keys",
         [request](const std::vector<std::string>& keys) {
           request->mutable_tag_keys()->Add(keys.begin(), keys.end());
         },
         "The keys of the tags to remove.")
      ->type_name("KEY")
      ->required();
  return MakeCommand<v1::UntagResourceRequest, v1::UntagResourceResponse>(
      sub, "UntagResource", request, &ServiceManagerClient::UntagResource);
}

Command AddListTagsForResource(CLI::App& app) {
  auto request = std::make_shared<v1::ListTagsForResourceRequest>();
  CLI::App* sub = app.add_subcommand("list-tags-for-resource",
                                     "Lists the tags of a service.");
  AddResourceArn(*sub, request);
  return MakeCommand<v1::ListTagsForResourceRequest,
                     v1::ListTagsForResourceResponse>(
      sub, "ListTagsForResource", request,
      &ServiceManagerClient::ListTagsForResource);
}

Command AddNotifySourceVersion(CLI::App& app) {
  auto request = std::make_shared<v1::NotifySourceVersionRequest>();
  auto wait = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "notify-source-version",
      "Records a new pushed version of the service's image; a RUNNING service "
      "with auto deployments on deploys it.");
  AddServiceArn(*sub, request);
  AddText(
      *sub, "--image-identifier", "ID", "The pushed image version.",
      [request](const std::string& id) { request->set_image_identifier(id); })
      ->required();
  sub->add_flag("--wait", *wait,
                "Wait until the deployment it started, if any, ends; exit 1 "
                "unless it SUCCEEDED.");
  return MakeCommand<v1::NotifySourceVersionRequest,
                     v1::NotifySourceVersionResponse>(
      sub, "NotifySourceVersion", request,
      &ServiceManagerClient::NotifySourceVersion, wait);
}

}  // namespace

std::vector<Command> AddCommands(CLI::App& app) {
  return {
      AddCreateService(app),
      AddDescribeService(app),
      AddListServices(app),
      AddUpdateService(app),
      AddLifecycleCommand<v1::StartDeploymentRequest,
                          v1::StartDeploymentResponse>(
          app, "start-deployment",
          "Deploys the newest recorded source version.", "StartDeployment",
          &ServiceManagerClient::StartDeployment),
      AddLifecycleCommand<v1::PauseServiceRequest, v1::PauseServiceResponse>(
          app, "pause-service",
          "Drops the compute of a RUNNING service; image and configuration "
          "stay.",
          "PauseService", &ServiceManagerClient::PauseService),
      AddLifecycleCommand<v1::ResumeServiceRequest, v1::ResumeServiceResponse>(
          app, "resume-service",
          "Brings a PAUSED service back with the version it ran before the "
          "pause.",
          "ResumeService", &ServiceManagerClient::ResumeService),
      AddLifecycleCommand<v1::DeleteServiceRequest, v1::DeleteServiceResponse>(
          app, "delete-service",
          "Deletes a service: compute, stored image and configuration, tags.",
          "DeleteService", &ServiceManagerClient::DeleteService),
      AddListOperations(app),
      AddDescribeOperation(app),
      AddWaitOperation(app),
      AddCancelOperation(app),
      AddWatchService(app),
      AddTagResource(app),
      AddUntagResource(app),
      AddListTagsForResource(app),
      AddNotifySourceVersion(app),
  };
}

absl::StatusOr<v1::Tag> ParseTag(absl::string_view text) {
  const absl::Status error = absl::InvalidArgumentError(
      absl::StrCat("expected Key=KEY,Value=VALUE, got \"", text, "\""));
  std::optional<std::string> key;
  std::optional<std::string> value;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    const size_t equals = part.find('=');
    if (equals == absl::string_view::npos) return error;
    const absl::string_view name = part.substr(0, equals);
    std::optional<std::string>* field = name == "Key"     ? &key
                                        : name == "Value" ? &value
                                                          : nullptr;
    if (field == nullptr || field->has_value()) return error;
    *field = std::string(part.substr(equals + 1));
  }
  if (!key.has_value() || !value.has_value()) return error;
  v1::Tag tag;
  tag.set_key(*std::move(key));
  tag.set_value(*std::move(value));
  return tag;
}

absl::Status ParseJson(absl::string_view json,
                       google::protobuf::Message* message) {
  google::protobuf::util::Status status =
      google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(json.data(), json.size()), message);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON: ", status.message().ToString()));
  }
  return absl::OkStatus();
}

}  // namespace servicemanager::client
