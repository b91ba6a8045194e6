#include "client/commands.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
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
#include "client/json_input.h"
#include "client/output.h"
#include "client/service_manager_client.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
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

// A field that the request needs, and the option that sets it.
struct Required {
  absl::string_view option;  // "--service-arn"
  absl::string_view field;   // "service_arn"
};

// Adds --cli-input-json to `sub` and checks, once `sub` is parsed, that the
// request has each of `required`: CLI11's own check cannot know that the
// JSON may give what the option would.
template <typename Request>
void AddCliInputJson(CLI::App& sub, std::shared_ptr<Request> request,
                     std::vector<Required> required) {
  auto input = std::make_shared<std::string>();
  CLI::Option* option =
      sub.add_option(
             "--cli-input-json", *input,
             "The whole request as JSON, or file://PATH to read it from a "
             "file. Field names as in the API (service_arn or serviceArn) or "
             "App Runner's (ServiceArn). Options given as well replace the "
             "fields they set.")
          ->type_name("JSON");
  sub.final_callback([request, input, option, required = std::move(required)] {
    if (option->count() > 0) {
      absl::StatusOr<std::string> json = ReadCliInputJson(*input);
      if (!json.ok()) {
        throw CLI::ValidationError("--cli-input-json",
                                   std::string(json.status().message()));
      }
      Request combined;
      if (absl::Status parsed = ParseJson(*json, &combined); !parsed.ok()) {
        throw CLI::ValidationError("--cli-input-json",
                                   std::string(parsed.message()));
      }
      OverrideFields(*request, &combined);
      *request = std::move(combined);
    }
    for (const Required& r : required) {
      const google::protobuf::FieldDescriptor* field =
          Request::descriptor()->FindFieldByName(std::string(r.field));
      const google::protobuf::Reflection* reflection = request->GetReflection();
      const bool set = field->is_repeated()
                           ? reflection->FieldSize(*request, field) > 0
                           : reflection->HasField(*request, field);
      if (!set) {
        throw CLI::RequiredError(
            absl::StrCat(r.option, " is required (as an option or as \"",
                         field->json_name(), "\" in --cli-input-json)"),
            CLI::ExitCodes::RequiredError);
      }
    }
  });
}

// The Command for `sub`: calls `method` with the request that the options of
// `sub` fill in and prints the response; with `*wait`, then waits for the
// operation the response names.
template <typename Request, typename Response>
Command MakeCommand(CLI::App* sub, std::string operation,
                    std::shared_ptr<Request> request,
                    ClientMethod<Request, Response> method,
                    std::vector<Required> required,
                    std::shared_ptr<const bool> wait = nullptr) {
  AddCliInputJson(*sub, request, std::move(required));
  return Command{
      .app = sub,
      .operation = operation,
      .run = [request, method, wait, operation](
                 const ServiceManagerClient& client,
                 const Io& io) -> absl::Status {
        absl::StatusOr<Response> response = (client.*method)(*request);
        if (!response.ok()) return response.status();
        if (absl::Status printed =
                PrintResponse(*response, io.output, operation, io.out);
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

// The Command of a list subcommand: like MakeCommand, but unless
// `*no_paginate` it follows each nextToken and prints one response with the
// items of every page, as the AWS CLI does. No bound on the number of pages
// (neither has the AWS CLI): the server's keyset tokens always move forward.
template <typename Request, typename Response>
Command MakeListCommand(CLI::App* sub, std::string operation,
                        std::shared_ptr<Request> request,
                        ClientMethod<Request, Response> method,
                        std::vector<Required> required,
                        std::shared_ptr<const bool> no_paginate) {
  AddCliInputJson(*sub, request, std::move(required));
  return Command{
      .app = sub,
      .operation = operation,
      .run = [request, method, no_paginate, operation](
                 const ServiceManagerClient& client,
                 const Io& io) -> absl::Status {
        Request page_request = *request;
        Response merged;
        while (true) {
          absl::StatusOr<Response> page = (client.*method)(page_request);
          if (!page.ok()) return page.status();
          merged.MergeFrom(*page);  // Appends the page's items.
          merged.set_next_token(page->next_token());
          if (*no_paginate || page->next_token().empty()) break;
          if (page->next_token() == page_request.next_token()) {
            // A server that does not move forward would make this loop
            // forever.
            return absl::InternalError(
                "the server returned the nextToken it was given");
          }
          page_request.set_next_token(page->next_token());
        }
        return PrintResponse(merged, io.output, operation, io.out);
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

constexpr Required kServiceArn{"--service-arn", "service_arn"};
constexpr Required kResourceArn{"--resource-arn", "resource_arn"};
constexpr Required kOperationId{"--operation-id", "operation_id"};

template <typename Request>
void AddServiceArn(CLI::App& sub, std::shared_ptr<Request> request) {
  AddText(sub, "--service-arn", "ARN", "The ARN of the service. Required.",
          [request](const std::string& arn) { request->set_service_arn(arn); });
}

template <typename Request>
void AddResourceArn(CLI::App& sub, std::shared_ptr<Request> request) {
  AddText(
      sub, "--resource-arn", "ARN",
      "The ARN of the service or connection. Required.",
      [request](const std::string& arn) { request->set_resource_arn(arn); });
}

template <typename Request>
void AddDomainName(CLI::App& sub, std::shared_ptr<Request> request) {
  AddText(
      sub, "--domain-name", "DOMAIN",
      "The domain name, e.g. shop.example.com. Required.",
      [request](const std::string& name) { request->set_domain_name(name); });
}

constexpr Required kDomainName{"--domain-name", "domain_name"};

// Adds --max-results, --next-token (alias --starting-token) and
// --no-paginate, which sets `*no_paginate`.
template <typename Request>
void AddPaging(CLI::App& sub, std::shared_ptr<Request> request,
               std::shared_ptr<bool> no_paginate) {
  sub.add_option_function<int32_t>(
         "--max-results",
         [request](int32_t max_results) {
           request->set_max_results(max_results);
         },
         "The page size, 1-100 (default 20): how many results each call "
         "returns. smctl fetches every page unless --no-paginate is given.")
      ->type_name("N");
  AddText(
      sub, "--next-token,--starting-token", "TOKEN",
      "Start from the nextToken of an earlier call.",
      [request](const std::string& token) { request->set_next_token(token); });
  sub.add_flag("--no-paginate", *no_paginate,
               "Make one call and print its page, with a nextToken if there "
               "are more.");
}

// Adds the three parts of a service's configuration.
template <typename Request>
void AddConfigurations(CLI::App& sub, std::shared_ptr<Request> request,
                       const std::string& source_note) {
  AddJson(sub, "--source-configuration",
          "The source configuration as JSON, e.g. "
          R"('{"image_repository":{"image_identifier":"public.ecr.aws/nginx/)"
          R"(nginx:latest","image_repository_type":"ECR_PUBLIC"}}'.)" +
              source_note,
          [request] { return request->mutable_source_configuration(); });
  AddJson(sub, "--instance-configuration",
          "The instance configuration as JSON, e.g. "
          R"('{"cpu":"1024","memory":"2048"}'.)",
          [request] { return request->mutable_instance_configuration(); });
  AddJson(sub, "--health-check-configuration",
          "The health check configuration as JSON, e.g. "
          R"('{"protocol":"HTTP","path":"/healthz"}'.)",
          [request] { return request->mutable_health_check_configuration(); });
}

template <typename Request>
void AddTags(CLI::App& sub, std::shared_ptr<Request> request,
             const std::string& note) {
  sub.add_option_function<std::vector<std::string>>(
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
         "The tags, each Key=KEY,Value=VALUE." + note)
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
  AddText(sub, "--operation-id", "ID", "The id of the operation. Required.",
          [request](const std::string& id) { request->set_operation_id(id); });
}

// The footer of a subcommand's help: examples of its use.
std::string Examples(std::initializer_list<absl::string_view> lines) {
  std::string text = "Examples:";
  for (absl::string_view line : lines) absl::StrAppend(&text, "\n  ", line);
  return text;
}

constexpr char kArn[] =
    "arn:aws:apprunner:us-east-1:000000000000:service/hello-web/"
    "0123456789abcdef0123456789abcdef";

Command AddCreateService(CLI::App& app) {
  auto request = std::make_shared<v1::CreateServiceRequest>();
  auto wait = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "create-service", "Creates a service and starts its first deployment.");
  AddText(
      *sub, "--service-name", "NAME",
      "The name of the service: 4-40 letters, digits, '-' and '_'. Required.",
      [request](const std::string& name) { request->set_service_name(name); });
  AddConfigurations(*sub, request, " Required.");
  AddTags(*sub, request, "");
  AddCallOptions(*sub, request, wait);
  sub->footer(Examples({
      "smctl create-service --service-name hello-web \\",
      "  --source-configuration "
      R"('{"image_repository":{"image_identifier":)"
      R"("public.ecr.aws/nginx/nginx:latest",)"
      R"("image_repository_type":"ECR_PUBLIC"}}' \)",
      "  --instance-configuration '{\"cpu\":\"1 vCPU\",\"memory\":\"2 GB\"}' "
      "--tags Key=team,Value=web --wait",
      "smctl create-service --cli-input-json file://create-service.json",
  }));
  return MakeCommand<v1::CreateServiceRequest, v1::CreateServiceResponse>(
      sub, "CreateService", request, &ServiceManagerClient::CreateService,
      {{"--service-name", "service_name"},
       {"--source-configuration", "source_configuration"}},
      wait);
}

Command AddDescribeService(CLI::App& app) {
  auto request = std::make_shared<v1::DescribeServiceRequest>();
  CLI::App* sub = app.add_subcommand(
      "describe-service",
      "Describes a service in any state, including DELETED.");
  AddServiceArn(*sub, request);
  sub->footer(Examples({
      absl::StrCat("smctl describe-service --service-arn ", kArn),
      absl::StrCat("smctl describe-service --service-arn ", kArn,
                   " --output table"),
  }));
  return MakeCommand<v1::DescribeServiceRequest, v1::DescribeServiceResponse>(
      sub, "DescribeService", request, &ServiceManagerClient::DescribeService,
      {kServiceArn});
}

Command AddListServices(CLI::App& app) {
  auto request = std::make_shared<v1::ListServicesRequest>();
  auto no_paginate = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "list-services",
      "Lists the services that are not deleted, oldest first.");
  AddPaging(*sub, request, no_paginate);
  sub->add_flag_function(
      "--show-deleted", [request](int64_t) { request->set_show_deleted(true); },
      "Also list the services deleted within the server's retention.");
  sub->footer(Examples({
      "smctl list-services --output text",
      "smctl list-services --max-results 10 --no-paginate",
      "smctl list-services --starting-token TOKEN --no-paginate",
  }));
  return MakeListCommand<v1::ListServicesRequest, v1::ListServicesResponse>(
      sub, "ListServices", request, &ServiceManagerClient::ListServices, {},
      no_paginate);
}

Command AddUpdateService(CLI::App& app) {
  auto request = std::make_shared<v1::UpdateServiceRequest>();
  auto wait = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "update-service",
      "Replaces the given parts of a service's configuration and redeploys.");
  AddServiceArn(*sub, request);
  AddConfigurations(*sub, request, "");
  AddCallOptions(*sub, request, wait);
  sub->footer(Examples({
      absl::StrCat("smctl update-service --service-arn ", kArn, " \\"),
      "  --instance-configuration '{\"cpu\":\"2 vCPU\",\"memory\":\"4 GB\"}' "
      "--wait",
  }));
  return MakeCommand<v1::UpdateServiceRequest, v1::UpdateServiceResponse>(
      sub, "UpdateService", request, &ServiceManagerClient::UpdateService,
      {kServiceArn}, wait);
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
  sub->footer(Examples({
      absl::StrCat("smctl ", name, " --service-arn ", kArn, " --wait"),
      absl::StrCat("smctl ", name, " --service-arn ", kArn,
                   " --client-token nightly-2026-11-26"),
  }));
  return MakeCommand<Request, Response>(sub, operation, request, method,
                                        {kServiceArn}, wait);
}

Command AddListOperations(CLI::App& app) {
  auto request = std::make_shared<v1::ListOperationsRequest>();
  auto no_paginate = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "list-operations", "Lists a service's operations, newest first.");
  AddServiceArn(*sub, request);
  AddPaging(*sub, request, no_paginate);
  sub->footer(Examples({
      absl::StrCat("smctl list-operations --service-arn ", kArn,
                   " --output table"),
      absl::StrCat("smctl list-operations --service-arn ", kArn,
                   " --max-results 1 --no-paginate"),
  }));
  return MakeListCommand<v1::ListOperationsRequest, v1::ListOperationsResponse>(
      sub, "ListOperations", request, &ServiceManagerClient::ListOperations,
      {kServiceArn}, no_paginate);
}

Command AddDescribeOperation(CLI::App& app) {
  auto request = std::make_shared<v1::DescribeOperationRequest>();
  CLI::App* sub = app.add_subcommand(
      "describe-operation",
      "Describes an operation, with why it failed if it did.");
  AddOperationId(*sub, request);
  sub->footer(Examples({
      "smctl describe-operation --operation-id "
      "0f6f3f4e-8a3b-4c1d-9e2f-5a6b7c8d9e0f",
  }));
  return MakeCommand<v1::DescribeOperationRequest,
                     v1::DescribeOperationResponse>(
      sub, "DescribeOperation", request,
      &ServiceManagerClient::DescribeOperation, {kOperationId});
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
  sub->footer(Examples({
      "smctl wait-operation --operation-id "
      "0f6f3f4e-8a3b-4c1d-9e2f-5a6b7c8d9e0f --max-wait 30",
  }));
  return MakeCommand<v1::WaitOperationRequest, v1::WaitOperationResponse>(
      sub, "WaitOperation", request, &ServiceManagerClient::WaitOperation,
      {kOperationId});
}

Command AddCancelOperation(CLI::App& app) {
  auto request = std::make_shared<v1::CancelOperationRequest>();
  CLI::App* sub = app.add_subcommand(
      "cancel-operation",
      "Cancels an operation: a PENDING one at once, an IN_PROGRESS one by "
      "rolling it back.");
  AddOperationId(*sub, request);
  return MakeCommand<v1::CancelOperationRequest, v1::CancelOperationResponse>(
      sub, "CancelOperation", request, &ServiceManagerClient::CancelOperation,
      {kOperationId});
}

Command AddWatchService(CLI::App& app) {
  auto request = std::make_shared<v1::WatchServiceRequest>();
  CLI::App* sub = app.add_subcommand(
      "watch-service",
      "Prints the service, then again at each change, until it is deleted: "
      "one JSON line each (--output text: one line of its own fields; "
      "--output table: one table each).");
  AddServiceArn(*sub, request);
  AddCliInputJson(*sub, request, {kServiceArn});
  sub->footer(Examples({
      absl::StrCat("smctl watch-service --service-arn ", kArn),
      absl::StrCat("smctl watch-service --service-arn ", kArn,
                   " --output text | cut -f 8"),
  }));
  return Command{
      .app = sub,
      .operation = "WatchService",
      .run = [request](const ServiceManagerClient& client,
                       const Io& io) -> absl::Status {
        absl::Status printed;
        absl::Status watched = client.WatchService(
            *request, [&](const v1::WatchServiceResponse& change) {
              switch (io.output) {
                case OutputFormat::kJson:
                  printed = PrintJsonLine(change.service(), io.out);
                  break;
                case OutputFormat::kText:
                  io.out << FormatTextLine(change.service()) << std::endl;
                  break;
                case OutputFormat::kTable:
                  io.out << FormatTable(change, "WatchService") << std::flush;
                  break;
              }
              return printed.ok() && io.out.good();
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
  AddTags(*sub, request, " Required.");
  sub->footer(Examples({
      absl::StrCat("smctl tag-resource --resource-arn ", kArn,
                   " --tags Key=env,Value=prod Key=team,Value=web"),
  }));
  return MakeCommand<v1::TagResourceRequest, v1::TagResourceResponse>(
      sub, "TagResource", request, &ServiceManagerClient::TagResource,
      {kResourceArn, {"--tags", "tags"}});
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
         "The keys of the tags to remove. Required.")
      ->type_name("KEY");
  sub->footer(Examples({
      absl::StrCat("smctl untag-resource --resource-arn ", kArn,
                   " --tag-keys env team"),
  }));
  return MakeCommand<v1::UntagResourceRequest, v1::UntagResourceResponse>(
      sub, "UntagResource", request, &ServiceManagerClient::UntagResource,
      {kResourceArn, {"--tag-keys", "tag_keys"}});
}

Command AddListTagsForResource(CLI::App& app) {
  auto request = std::make_shared<v1::ListTagsForResourceRequest>();
  CLI::App* sub = app.add_subcommand(
      "list-tags-for-resource", "Lists the tags of a service or connection.");
  AddResourceArn(*sub, request);
  return MakeCommand<v1::ListTagsForResourceRequest,
                     v1::ListTagsForResourceResponse>(
      sub, "ListTagsForResource", request,
      &ServiceManagerClient::ListTagsForResource, {kResourceArn});
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
      *sub, "--image-identifier", "ID", "The pushed image version. Required.",
      [request](const std::string& id) { request->set_image_identifier(id); });
  sub->add_flag("--wait", *wait,
                "Wait until the deployment it started, if any, ends; exit 1 "
                "unless it SUCCEEDED.");
  sub->footer(Examples({
      absl::StrCat("smctl notify-source-version --service-arn ", kArn,
                   " --image-identifier public.ecr.aws/nginx/nginx:1.27"),
  }));
  return MakeCommand<v1::NotifySourceVersionRequest,
                     v1::NotifySourceVersionResponse>(
      sub, "NotifySourceVersion", request,
      &ServiceManagerClient::NotifySourceVersion,
      {kServiceArn, {"--image-identifier", "image_identifier"}}, wait);
}

constexpr char kConnectionArn[] =
    "arn:aws:apprunner:us-east-1:000000000000:connection/my-github/"
    "fedcba9876543210fedcba9876543210";

Command AddCreateConnection(CLI::App& app) {
  auto request = std::make_shared<v1::CreateConnectionRequest>();
  CLI::App* sub = app.add_subcommand(
      "create-connection",
      "Creates a connection to a source code provider, which services can "
      "share.");
  AddText(*sub, "--connection-name", "NAME",
          "The name of the connection: 4-32 letters, digits, '-' and '_'. "
          "Required.",
          [request](const std::string& name) {
            request->set_connection_name(name);
          });
  sub->add_option_function<std::string>(
         "--provider-type",
         [request](const std::string& type) {
           v1::ProviderType value = v1::PROVIDER_TYPE_UNSPECIFIED;
           if (!v1::ProviderType_Parse(type, &value) ||
               value == v1::PROVIDER_TYPE_UNSPECIFIED) {
             throw CLI::ValidationError("--provider-type",
                                        "must be GITHUB or BITBUCKET");
           }
           request->set_provider_type(value);
         },
         "GITHUB or BITBUCKET. Required.")
      ->type_name("TYPE");
  AddTags(*sub, request, "");
  sub->footer(Examples({
      "smctl create-connection --connection-name my-github "
      "--provider-type GITHUB --tags Key=team,Value=web",
  }));
  return MakeCommand<v1::CreateConnectionRequest, v1::CreateConnectionResponse>(
      sub, "CreateConnection", request, &ServiceManagerClient::CreateConnection,
      {{"--connection-name", "connection_name"},
       {"--provider-type", "provider_type"}});
}

Command AddDeleteConnection(CLI::App& app) {
  auto request = std::make_shared<v1::DeleteConnectionRequest>();
  CLI::App* sub = app.add_subcommand(
      "delete-connection",
      "Deletes a connection that no service (deleted ones aside) uses.");
  AddText(
      *sub, "--connection-arn", "ARN", "The ARN of the connection. Required.",
      [request](const std::string& arn) { request->set_connection_arn(arn); });
  sub->footer(Examples({
      absl::StrCat("smctl delete-connection --connection-arn ", kConnectionArn),
  }));
  return MakeCommand<v1::DeleteConnectionRequest, v1::DeleteConnectionResponse>(
      sub, "DeleteConnection", request, &ServiceManagerClient::DeleteConnection,
      {{"--connection-arn", "connection_arn"}});
}

Command AddListConnections(CLI::App& app) {
  auto request = std::make_shared<v1::ListConnectionsRequest>();
  auto no_paginate = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("list-connections",
                                     "Lists the connections, oldest first.");
  AddText(*sub, "--connection-name", "NAME",
          "Only the connection of this name.",
          [request](const std::string& name) {
            request->set_connection_name(name);
          });
  AddPaging(*sub, request, no_paginate);
  sub->footer(Examples({
      "smctl list-connections --output table",
      "smctl list-connections --connection-name my-github",
  }));
  return MakeListCommand<v1::ListConnectionsRequest,
                         v1::ListConnectionsResponse>(
      sub, "ListConnections", request, &ServiceManagerClient::ListConnections,
      {}, no_paginate);
}

Command AddAssociateCustomDomain(CLI::App& app) {
  auto request = std::make_shared<v1::AssociateCustomDomainRequest>();
  CLI::App* sub = app.add_subcommand(
      "associate-custom-domain",
      "Links a domain name to a service, with a certificate record.");
  AddServiceArn(*sub, request);
  AddDomainName(*sub, request);
  sub->add_flag_function(
      "--enable-www-subdomain",
      [request](int64_t) { request->set_enable_www_subdomain(true); },
      "Also cover www.DOMAIN.");
  sub->footer(Examples({
      absl::StrCat("smctl associate-custom-domain --service-arn ", kArn, " \\"),
      "  --domain-name example.com --enable-www-subdomain",
  }));
  return MakeCommand<v1::AssociateCustomDomainRequest,
                     v1::AssociateCustomDomainResponse>(
      sub, "AssociateCustomDomain", request,
      &ServiceManagerClient::AssociateCustomDomain, {kServiceArn, kDomainName});
}

Command AddDisassociateCustomDomain(CLI::App& app) {
  auto request = std::make_shared<v1::DisassociateCustomDomainRequest>();
  CLI::App* sub = app.add_subcommand(
      "disassociate-custom-domain",
      "Unlinks a domain name from a service; its certificate record is kept "
      "for the server's certificate retention.");
  AddServiceArn(*sub, request);
  AddDomainName(*sub, request);
  sub->footer(Examples({
      absl::StrCat("smctl disassociate-custom-domain --service-arn ", kArn,
                   " --domain-name example.com"),
  }));
  return MakeCommand<v1::DisassociateCustomDomainRequest,
                     v1::DisassociateCustomDomainResponse>(
      sub, "DisassociateCustomDomain", request,
      &ServiceManagerClient::DisassociateCustomDomain,
      {kServiceArn, kDomainName});
}

Command AddDescribeCustomDomains(CLI::App& app) {
  auto request = std::make_shared<v1::DescribeCustomDomainsRequest>();
  auto no_paginate = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "describe-custom-domains", "Lists the domain names linked to a service.");
  AddServiceArn(*sub, request);
  AddPaging(*sub, request, no_paginate);
  sub->footer(Examples({
      absl::StrCat("smctl describe-custom-domains --service-arn ", kArn,
                   " --output table"),
  }));
  return MakeListCommand<v1::DescribeCustomDomainsRequest,
                         v1::DescribeCustomDomainsResponse>(
      sub, "DescribeCustomDomains", request,
      &ServiceManagerClient::DescribeCustomDomains, {kServiceArn}, no_paginate);
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
      AddCreateConnection(app),
      AddDeleteConnection(app),
      AddListConnections(app),
      AddAssociateCustomDomain(app),
      AddDisassociateCustomDomain(app),
      AddDescribeCustomDomains(app),
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

}  // namespace servicemanager::client
