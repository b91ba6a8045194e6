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
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "client/output.h"
#include "client/service_manager_client.h"
#include "google/protobuf/message.h"
#include "google/protobuf/stubs/stringpiece.h"
#include "google/protobuf/util/json_util.h"
#include "servicemanager/v1/service_manager.pb.h"

namespace servicemanager::client {
namespace {

// Prints the response of a call that succeeded, or returns the status of one
// that failed.
template <typename Response>
absl::Status Print(const absl::StatusOr<Response>& response,
                   std::ostream& out) {
  if (!response.ok()) return response.status();
  return PrintJson(*response, out);
}

// The Command for `sub`, which runs `function` with the request that the
// options of `sub` fill in.
template <typename Request>
Command MakeCommand(CLI::App* sub, std::string operation,
                    std::shared_ptr<const Request> request,
                    absl::Status (*function)(const ServiceManagerClient&,
                                             const Request&, std::ostream&)) {
  return Command{
      .app = sub,
      .operation = std::move(operation),
      .run = [request = std::move(request), function](
                 const ServiceManagerClient& client,
                 std::ostream& out) { return function(client, *request, out); },
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

Command AddCreateService(CLI::App& app) {
  auto request = std::make_shared<v1::CreateServiceRequest>();
  CLI::App* sub = app.add_subcommand(
      "create-service", "Creates a service and starts its first deployment.");
  AddText(
      *sub, "--service-name", "NAME",
      "The name of the service: 4-40 letters, digits, '-' and '_'.",
      [request](const std::string& name) { request->set_service_name(name); })
      ->required();
  AddConfigurations(*sub, request)->required();
  AddTags(*sub, request);
  return MakeCommand<v1::CreateServiceRequest>(sub, "CreateService", request,
                                               &CreateService);
}

Command AddDescribeService(CLI::App& app) {
  auto request = std::make_shared<v1::DescribeServiceRequest>();
  CLI::App* sub = app.add_subcommand(
      "describe-service",
      "Describes a service in any state, including DELETED.");
  AddServiceArn(*sub, request);
  return MakeCommand<v1::DescribeServiceRequest>(sub, "DescribeService",
                                                 request, &DescribeService);
}

Command AddListServices(CLI::App& app) {
  auto request = std::make_shared<v1::ListServicesRequest>();
  CLI::App* sub = app.add_subcommand(
      "list-services",
      "Lists the services that are not deleted, oldest first.");
  AddPaging(*sub, request);
  return MakeCommand<v1::ListServicesRequest>(sub, "ListServices", request,
                                              &ListServices);
}

Command AddUpdateService(CLI::App& app) {
  auto request = std::make_shared<v1::UpdateServiceRequest>();
  CLI::App* sub = app.add_subcommand(
      "update-service",
      "Replaces the given parts of a service's configuration and redeploys.");
  AddServiceArn(*sub, request);
  AddConfigurations(*sub, request);
  return MakeCommand<v1::UpdateServiceRequest>(sub, "UpdateService", request,
                                               &UpdateService);
}

Command AddStartDeployment(CLI::App& app) {
  auto request = std::make_shared<v1::StartDeploymentRequest>();
  CLI::App* sub = app.add_subcommand(
      "start-deployment", "Deploys the newest recorded source version.");
  AddServiceArn(*sub, request);
  return MakeCommand<v1::StartDeploymentRequest>(sub, "StartDeployment",
                                                 request, &StartDeployment);
}

Command AddPauseService(CLI::App& app) {
  auto request = std::make_shared<v1::PauseServiceRequest>();
  CLI::App* sub = app.add_subcommand(
      "pause-service",
      "Drops the compute of a RUNNING service; image and configuration stay.");
  AddServiceArn(*sub, request);
  return MakeCommand<v1::PauseServiceRequest>(sub, "PauseService", request,
                                              &PauseService);
}

Command AddResumeService(CLI::App& app) {
  auto request = std::make_shared<v1::ResumeServiceRequest>();
  CLI::App* sub = app.add_subcommand(
      "resume-service",
      "Brings a PAUSED service back with the version it ran before the pause.");
  AddServiceArn(*sub, request);
  return MakeCommand<v1::ResumeServiceRequest>(sub, "ResumeService", request,
                                               &ResumeService);
}

Command AddDeleteService(CLI::App& app) {
  auto request = std::make_shared<v1::DeleteServiceRequest>();
  CLI::App* sub = app.add_subcommand(
      "delete-service",
      "Deletes a service: compute, stored image and configuration, tags.");
  AddServiceArn(*sub, request);
  return MakeCommand<v1::DeleteServiceRequest>(sub, "DeleteService", request,
                                               &DeleteService);
}

Command AddListOperations(CLI::App& app) {
  auto request = std::make_shared<v1::ListOperationsRequest>();
  CLI::App* sub = app.add_subcommand(
      "list-operations", "Lists a service's operations, newest first.");
  AddServiceArn(*sub, request);
  AddPaging(*sub, request);
  return MakeCommand<v1::ListOperationsRequest>(sub, "ListOperations", request,
                                                &ListOperations);
}

Command AddTagResource(CLI::App& app) {
  auto request = std::make_shared<v1::TagResourceRequest>();
  CLI::App* sub = app.add_subcommand(
      "tag-resource", "Adds tags, overwriting the value of keys that exist.");
  AddResourceArn(*sub, request);
  AddTags(*sub, request)->required();
  return MakeCommand<v1::TagResourceRequest>(sub, "TagResource", request,
                                             &TagResource);
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
  return MakeCommand<v1::UntagResourceRequest>(sub, "UntagResource", request,
                                               &UntagResource);
}

Command AddListTagsForResource(CLI::App& app) {
  auto request = std::make_shared<v1::ListTagsForResourceRequest>();
  CLI::App* sub = app.add_subcommand("list-tags-for-resource",
                                     "Lists the tags of a service.");
  AddResourceArn(*sub, request);
  return MakeCommand<v1::ListTagsForResourceRequest>(
      sub, "ListTagsForResource", request, &ListTagsForResource);
}

Command AddNotifySourceVersion(CLI::App& app) {
  auto request = std::make_shared<v1::NotifySourceVersionRequest>();
  CLI::App* sub = app.add_subcommand(
      "notify-source-version",
      "Records a new pushed version of the service's image; a RUNNING service "
      "with auto deployments on deploys it.");
  AddServiceArn(*sub, request);
  AddText(
      *sub, "--image-identifier", "ID", "The pushed image version.",
      [request](const std::string& id) { request->set_image_identifier(id); })
      ->required();
  return MakeCommand<v1::NotifySourceVersionRequest>(
      sub, "NotifySourceVersion", request, &NotifySourceVersion);
}

}  // namespace

std::vector<Command> AddCommands(CLI::App& app) {
  return {AddCreateService(app),      AddDescribeService(app),
          AddListServices(app),       AddUpdateService(app),
          AddStartDeployment(app),    AddPauseService(app),
          AddResumeService(app),      AddDeleteService(app),
          AddListOperations(app),     AddTagResource(app),
          AddUntagResource(app),      AddListTagsForResource(app),
          AddNotifySourceVersion(app)};
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

absl::Status CreateService(const ServiceManagerClient& client,
                           const v1::CreateServiceRequest& request,
                           std::ostream& out) {
  return Print(client.CreateService(request), out);
}

absl::Status DescribeService(const ServiceManagerClient& client,
                             const v1::DescribeServiceRequest& request,
                             std::ostream& out) {
  return Print(client.DescribeService(request), out);
}

absl::Status ListServices(const ServiceManagerClient& client,
                          const v1::ListServicesRequest& request,
                          std::ostream& out) {
  return Print(client.ListServices(request), out);
}

absl::Status UpdateService(const ServiceManagerClient& client,
                           const v1::UpdateServiceRequest& request,
                           std::ostream& out) {
  return Print(client.UpdateService(request), out);
}

absl::Status StartDeployment(const ServiceManagerClient& client,
                             const v1::StartDeploymentRequest& request,
                             std::ostream& out) {
  return Print(client.StartDeployment(request), out);
}

absl::Status PauseService(const ServiceManagerClient& client,
                          const v1::PauseServiceRequest& request,
                          std::ostream& out) {
  return Print(client.PauseService(request), out);
}

absl::Status ResumeService(const ServiceManagerClient& client,
                           const v1::ResumeServiceRequest& request,
                           std::ostream& out) {
  return Print(client.ResumeService(request), out);
}

absl::Status DeleteService(const ServiceManagerClient& client,
                           const v1::DeleteServiceRequest& request,
                           std::ostream& out) {
  return Print(client.DeleteService(request), out);
}

absl::Status ListOperations(const ServiceManagerClient& client,
                            const v1::ListOperationsRequest& request,
                            std::ostream& out) {
  return Print(client.ListOperations(request), out);
}

absl::Status TagResource(const ServiceManagerClient& client,
                         const v1::TagResourceRequest& request,
                         std::ostream& out) {
  return Print(client.TagResource(request), out);
}

absl::Status UntagResource(const ServiceManagerClient& client,
                           const v1::UntagResourceRequest& request,
                           std::ostream& out) {
  return Print(client.UntagResource(request), out);
}

absl::Status ListTagsForResource(const ServiceManagerClient& client,
                                 const v1::ListTagsForResourceRequest& request,
                                 std::ostream& out) {
  return Print(client.ListTagsForResource(request), out);
}

absl::Status NotifySourceVersion(const ServiceManagerClient& client,
                                 const v1::NotifySourceVersionRequest& request,
                                 std::ostream& out) {
  return Print(client.NotifySourceVersion(request), out);
}

}  // namespace servicemanager::client
