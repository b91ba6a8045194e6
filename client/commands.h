// smctl's subcommands: their options, named like the AWS CLI's "aws apprunner"
// ones, and one function per subcommand that makes the call and prints the
// response.
#ifndef SERVICEMANAGER_CLIENT_COMMANDS_H_
#define SERVICEMANAGER_CLIENT_COMMANDS_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/service_manager_client.h"
#include "google/protobuf/message.h"
#include "servicemanager/v1/service_manager.pb.h"

namespace servicemanager::client {

// A subcommand added to a CLI::App, with the request its options fill in.
// Not thread-safe: parsing the command line writes the request.
struct Command {
  // The subcommand; owned by the CLI::App it was added to.
  CLI::App* app;
  // The operation it calls, as error messages name it: "PauseService".
  std::string operation;
  // Sends the request, prints the response to the stream and returns OK, or
  // returns the status of the failed call.
  std::function<absl::Status(const ServiceManagerClient&, std::ostream&)> run;
};

// Adds smctl's subcommands to `app`, which must outlive the result. A
// malformed JSON or tag option makes `app.parse` throw CLI::ValidationError.
std::vector<Command> AddCommands(CLI::App& app);

// Parses a tag written in the AWS CLI's shorthand, "Key=KEY,Value=VALUE".
absl::StatusOr<v1::Tag> ParseTag(absl::string_view text);

// Parses JSON into `message`, which it replaces. Field names may be the
// proto's ("image_repository") or lowerCamelCase ("imageRepository").
absl::Status ParseJson(absl::string_view json,
                       google::protobuf::Message* message);

// One function per subcommand: each sends `request`, prints the response to
// `out` as JSON and returns OK, or returns the status of the failed call.
absl::Status CreateService(const ServiceManagerClient& client,
                           const v1::CreateServiceRequest& request,
                           std::ostream& out);
absl::Status DescribeService(const ServiceManagerClient& client,
                             const v1::DescribeServiceRequest& request,
                             std::ostream& out);
absl::Status ListServices(const ServiceManagerClient& client,
                          const v1::ListServicesRequest& request,
                          std::ostream& out);
absl::Status UpdateService(const ServiceManagerClient& client,
                           const v1::UpdateServiceRequest& request,
                           std::ostream& out);
absl::Status StartDeployment(const ServiceManagerClient& client,
                             const v1::StartDeploymentRequest& request,
                             std::ostream& out);
absl::Status PauseService(const ServiceManagerClient& client,
                          const v1::PauseServiceRequest& request,
                          std::ostream& out);
absl::Status ResumeService(const ServiceManagerClient& client,
                           const v1::ResumeServiceRequest& request,
                           std::ostream& out);
absl::Status DeleteService(const ServiceManagerClient& client,
                           const v1::DeleteServiceRequest& request,
                           std::ostream& out);
absl::Status ListOperations(const ServiceManagerClient& client,
                            const v1::ListOperationsRequest& request,
                            std::ostream& out);
absl::Status TagResource(const ServiceManagerClient& client,
                         const v1::TagResourceRequest& request,
                         std::ostream& out);
absl::Status UntagResource(const ServiceManagerClient& client,
                           const v1::UntagResourceRequest& request,
                           std::ostream& out);
absl::Status ListTagsForResource(const ServiceManagerClient& client,
                                 const v1::ListTagsForResourceRequest& request,
                                 std::ostream& out);
absl::Status NotifySourceVersion(const ServiceManagerClient& client,
                                 const v1::NotifySourceVersionRequest& request,
                                 std::ostream& out);

}  // namespace servicemanager::client

#endif  // SERVICEMANAGER_CLIENT_COMMANDS_H_
