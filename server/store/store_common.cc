#include "store/store_common.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "domain/lifecycle.h"
#include "domain/validation.h"

namespace servicemanager::store {

using domain::OperationStatus;

absl::Duration DeadlineOf(const StoreOptions& options,
                          domain::OperationType type) {
  auto it = options.operation_deadlines.find(type);
  return it == options.operation_deadlines.end()
             ? options.default_operation_deadline
             : it->second;
}

std::string EncodeToken(absl::string_view kind, int64_t scope, int64_t after) {
  return absl::WebSafeBase64Escape(absl::StrCat(kind, ":", scope, ":", after));
}

absl::StatusOr<int64_t> DecodeToken(absl::string_view token,
                                    absl::string_view kind, int64_t scope) {
  std::string plain;
  std::vector<absl::string_view> parts;
  int64_t token_scope = 0;
  int64_t after = 0;
  if (!absl::WebSafeBase64Unescape(token, &plain) ||
      (parts = absl::StrSplit(plain, ':')).size() != 3 || parts[0] != kind ||
      !absl::SimpleAtoi(parts[1], &token_scope) || token_scope != scope ||
      !absl::SimpleAtoi(parts[2], &after) || after < 0) {
    return absl::InvalidArgumentError(
        "next_token: not a token from the previous page of this listing");
  }
  return after;
}

absl::Status CheckEtag(const domain::Service& service,
                       const std::optional<std::string>& expected) {
  if (expected && *expected != domain::Etag(service)) {
    return absl::AbortedError(
        absl::StrCat("etag: the service has changed since etag ", *expected,
                     " (it is now ", domain::Etag(service),
                     "); describe it again and retry with the new etag"));
  }
  return absl::OkStatus();
}

absl::string_view RepositoryTypeName(domain::ImageRepositoryType type) {
  return type == domain::ImageRepositoryType::kEcrPublic ? "ECR_PUBLIC" : "ECR";
}

absl::string_view ProtocolName(domain::HealthCheckProtocol protocol) {
  return protocol == domain::HealthCheckProtocol::kHttp ? "HTTP" : "TCP";
}

absl::Status ServiceNotFound(const domain::ServiceRef& ref) {
  return absl::NotFoundError(
      absl::StrCat("service ", ref.name, "/", ref.id, " does not exist"));
}

absl::Status OperationNotFound(absl::string_view operation_id) {
  return absl::NotFoundError(
      absl::StrCat("operation_id: no operation ", operation_id));
}

absl::StatusOr<Outcome> FinishOutcome(const OperationRow& op,
                                      const Store::Finish& finish,
                                      absl::string_view owner) {
  const OperationStatus seen = finish.seen;
  const bool succeeded = finish.succeeded;
  const absl::string_view error = finish.error;
  const bool claimed = op.owner == owner && op.attempt == finish.attempt;
  if (!claimed && (domain::IsFinal(op.status) || op.status == seen)) {
    return absl::AbortedError(absl::StrCat(
        "operation ", op.id, ": attempt ", finish.attempt,
        " lost its claim (the operation is at attempt ", op.attempt, " of ",
        op.owner.value_or("no replica"), "); its result is dropped"));
  }
  if (domain::IsFinal(op.status)) {
    return absl::FailedPreconditionError(
        absl::StrCat("operation ", op.id, " has already ended"));
  }
  if (op.status != seen) {
    return absl::AbortedError(
        absl::StrCat("operation ", op.id, " changed to ", ToString(op.status),
                     " while the worker ran it as ", ToString(seen)));
  }
  if (seen == OperationStatus::kRollbackInProgress) {
    return Outcome{
        .succeeded = false,
        .status = succeeded ? OperationStatus::kRollbackSucceeded
                            : OperationStatus::kRollbackFailed,
        .service_status = succeeded ? domain::CancelledStatus(op.prior_status)
                                    : op.failure_status,
        .error_code = domain::kErrorCancelled,
        .error_message = succeeded
                             ? "cancelled while in progress; rolled back"
                             : absl::StrCat("cancelled while in progress; "
                                            "the rollback failed: ",
                                            error)};
  }
  if (succeeded) {
    return Outcome{.succeeded = true,
                   .status = OperationStatus::kSucceeded,
                   .service_status = op.success_status,
                   .error_code = "",
                   .error_message = ""};
  }
  return Outcome{.succeeded = false,
                 .status = op.failure_op_status,
                 .service_status = op.failure_status,
                 .error_code = domain::kErrorRuntime,
                 .error_message = std::string(error)};
}

Outcome CancelledOutcome(const OperationRow& op) {
  return {.succeeded = false,
          .status = OperationStatus::kFailed,
          .service_status = domain::CancelledStatus(op.prior_status),
          .error_code = domain::kErrorCancelled,
          .error_message = "cancelled before it started"};
}

Outcome ExpiredOutcome(const OperationRow& op, absl::Time now) {
  return {
      .succeeded = false,
      .status = OperationStatus::kFailed,
      .service_status = op.failure_status,
      .error_code = domain::kErrorDeadlineExceeded,
      .error_message = absl::StrCat(
          "did not end within its deadline of ",
          absl::FormatDuration(op.deadline_at.value_or(now) - op.started_at),
          "; the service was rolled back")};
}

absl::Status ConnectionNotFound(const domain::ConnectionRef& ref) {
  return absl::NotFoundError(
      absl::StrCat("connection ", ref.name, "/", ref.id, " does not exist"));
}

absl::Status ServiceNameTaken(absl::string_view name) {
  return absl::AlreadyExistsError(
      absl::StrCat("service_name: a service named ", name, " already exists"));
}

absl::Status ConnectionNameTaken(absl::string_view name) {
  return absl::AlreadyExistsError(absl::StrCat(
      "connection_name: a connection named ", name, " already exists"));
}

absl::Status NoSuchConnection(const domain::ConnectionRef& ref) {
  return absl::InvalidArgumentError(absl::StrCat(
      "source_configuration.authentication_configuration.connection_arn: "
      "no connection ",
      ref.name, "/", ref.id, " exists in account ", ref.account_id,
      " (it was never created, or was deleted)"));
}

absl::Status TooManyTags() {
  return absl::InvalidArgumentError(
      absl::StrCat("tags: a resource may have at most ",
                   domain::kMaxTagsPerResource, " tags"));
}

absl::Status ClientTokenReused() {
  return absl::InvalidArgumentError(
      "client_token: already used for a different request; use a new "
      "token for a new request");
}

absl::Status SourceVersionOfDeleted() {
  return absl::FailedPreconditionError(
      "cannot record a source version: the service is DELETED");
}

absl::Status ConnectionInUse(const domain::ConnectionRef& ref,
                             const std::vector<std::string>& users,
                             bool paused) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot delete connection ", ref.name, ": ",
                   paused ? "a service that uses it is PAUSED, and App Runner "
                            "refuses DeleteConnection for a paused service; "
                          : "",
                   "it is used by service ", absl::StrJoin(users, ", "),
                   "; delete those services, or update them to another "
                   "connection, first"));
}

absl::Status DomainLinked(absl::string_view domain_name, bool linked_here,
                          bool same_account, absl::string_view other_name) {
  const std::string where = linked_here ? std::string("this service")
                            : same_account
                                ? absl::StrCat("service ", other_name)
                                : std::string("a service of another account");
  return absl::AlreadyExistsError(
      absl::StrCat("domain_name: ", domain_name, " is already linked to ",
                   where, "; a domain links to one service at a time"));
}

absl::Status DomainNotLinked(absl::string_view domain_name,
                             absl::string_view service_name) {
  return absl::NotFoundError(absl::StrCat("domain_name: ", domain_name,
                                          " is not linked to service ",
                                          service_name));
}

absl::Status PortsExhausted(int first_port, int last_port) {
  return absl::ResourceExhaustedError(
      absl::StrCat("every host port from ", first_port, " to ", last_port,
                   " is held by another service"));
}

absl::Status NoImageVersion(absl::string_view service_id, int64_t version) {
  return absl::NotFoundError(
      absl::StrCat("service ", service_id, " has no image version ", version));
}

}  // namespace servicemanager::store
