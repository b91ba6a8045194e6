// What a mutating call does, once, for both stores: templates over a
// transaction `Tx` of one store that provides these primitives:
//
//   std::optional<domain::ServiceConfig> LoadConfig(int64_t pk,
//                                                   int64_t version);
//   absl::Status InsertConfig(int64_t pk, int64_t version,
//                             const domain::ServiceConfig& config);
//   std::optional<domain::ImageVersion> LoadImage(
//       int64_t pk, std::optional<int64_t> version);  // none: the newest
//   int64_t InsertImage(int64_t pk, absl::string_view identifier,
//                       absl::Time now);
//   void SetConfigVersion(int64_t pk, int64_t version);
//   void TouchService(int64_t pk, absl::Time now);  // updated_at only
//   void SetServiceStatus(int64_t pk, domain::ServiceStatus status,
//                         absl::Time now);
//   void InsertOperation(int64_t pk, const domain::Operation& operation,
//                        std::optional<domain::ServiceStatus> prior,
//                        const domain::Transition& transition,
//                        const OperationTargets& targets);
//   domain::Service LoadService(int64_t pk);
//   // The response stored with an earlier call's token, if any;
//   // INVALID_ARGUMENT if that call's request was another.
//   absl::StatusOr<std::optional<std::string>> FindClientToken(
//       const ClientToken& token);
//   void SaveClientToken(const ClientToken& token,
//                        const std::string& response, absl::Time now);
#ifndef SERVICEMANAGER_SERVER_STORE_STORE_LOGIC_H_
#define SERVICEMANAGER_SERVER_STORE_STORE_LOGIC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/id_generator.h"
#include "common/status_macros.h"
#include "domain/lifecycle.h"
#include "domain/operation.h"
#include "domain/service.h"
#include "store/store.h"
#include "store/store_common.h"

namespace servicemanager::store {

// A mutating call that accepts an operation, in the caller's transaction,
// honouring `options`: a client token used before replays the response the
// first call got and changes nothing; otherwise `make()` does the call and,
// unless validate_only, the token is saved with its response. For
// validate_only, sets `discard` (the caller rolls back) and clears the
// operation's id; otherwise adds the change to `changes`.
template <typename Tx, typename Make>
absl::StatusOr<Accepted> AcceptIn(Tx& tx, const CallOptions& options,
                                  absl::Time now, Make&& make, bool& discard,
                                  std::vector<Change>& changes) {
  const ClientToken* token = options.validate_only || !options.client_token
                                 ? nullptr
                                 : &*options.client_token;
  if (token != nullptr) {
    ASSIGN_OR_RETURN(std::optional<std::string> replay,
                     tx.FindClientToken(*token));
    if (replay) {
      Accepted replayed;
      replayed.replayed_response = *std::move(replay);
      return replayed;
    }
  }
  ASSIGN_OR_RETURN(Accepted accepted, make());
  if (options.validate_only) {
    accepted.operation.id.clear();
    discard = true;
    return accepted;
  }
  if (token != nullptr) {
    tx.SaveClientToken(*token, token->encode_response(accepted), now);
  }
  changes.push_back({accepted.service, accepted.operation});
  return accepted;
}

// Records a PENDING operation of the service `row`, due at once. `prior` is
// the service's status before it (none for a create).
template <typename Tx>
domain::Operation StartPending(Tx& tx, common::IdGenerator& ids,
                               const ServiceRow& row,
                               domain::OperationType type,
                               std::optional<domain::ServiceStatus> prior,
                               const domain::Transition& transition,
                               const OperationTargets& targets, absl::Time now,
                               absl::Duration deadline) {
  domain::Operation op;
  op.id = ids.NewOperationId();
  op.type = type;
  op.status = domain::OperationStatus::kPending;
  op.service_id = row.service.id;
  op.service_account_id = row.service.account_id;
  op.service_name = row.service.name;
  op.started_at = now;
  op.updated_at = now;
  op.deadline_at = now + deadline;
  tx.InsertOperation(row.pk, op, prior, transition, targets);
  return op;
}

// StartOperation once the service `row` is found and its etag checked:
// checks its status against domain::lifecycle and, if allowed, records the
// operation (an update's new configuration and image version first) and
// sets OPERATION_IN_PROGRESS.
template <typename Tx>
absl::StatusOr<Accepted> StartOperationIn(Tx& tx, common::IdGenerator& ids,
                                          const ServiceRow& row,
                                          domain::OperationType type,
                                          const domain::ConfigUpdate& update,
                                          absl::Time now,
                                          absl::Duration deadline) {
  using domain::OperationType;
  Accepted accepted;
  ASSIGN_OR_RETURN(accepted.transition,
                   domain::Start(type, row.service.status));
  OperationTargets targets;
  switch (type) {
    case OperationType::kUpdateService: {
      std::optional<domain::ServiceConfig> current =
          tx.LoadConfig(row.pk, row.config_version.value_or(0));
      if (!current) {
        return absl::InternalError("the service has no configuration");
      }
      const domain::ServiceConfig next = update.ApplyTo(*current);
      targets.prior_config = row.config_version;
      targets.target_config = *row.config_version + 1;
      RETURN_IF_ERROR(tx.InsertConfig(row.pk, *targets.target_config, next));
      // A new image identifier is a new image version; otherwise the update
      // redeploys what runs (or, after a failed create, the image it could
      // not start).
      if (next.source.image_identifier != current->source.image_identifier) {
        targets.target_image =
            tx.InsertImage(row.pk, next.source.image_identifier, now);
      } else if (row.deployed_image_version) {
        targets.target_image = row.deployed_image_version;
      } else {
        targets.target_image = tx.LoadImage(row.pk, std::nullopt)->version;
      }
      tx.SetConfigVersion(row.pk, *targets.target_config);
      break;
    }
    case OperationType::kStartDeployment:
      targets.target_config = row.config_version;
      targets.target_image = tx.LoadImage(row.pk, std::nullopt)->version;
      break;
    case OperationType::kResumeService:
      // The version that ran before the pause, never a newer one.
      targets.target_config = row.config_version;
      targets.target_image = row.deployed_image_version;
      break;
    case OperationType::kPauseService:
    case OperationType::kDeleteService:
    case OperationType::kCreateService:
      break;
  }
  accepted.operation =
      StartPending(tx, ids, row, type, row.service.status, accepted.transition,
                   targets, now, deadline);
  tx.SetServiceStatus(row.pk, domain::ServiceStatus::kOperationInProgress, now);
  accepted.service = tx.LoadService(row.pk);
  return accepted;
}

// RecordSourceVersion once the service `row` is found: records the image
// version and, if the service is RUNNING with auto deployments on, starts a
// START_DEPLOYMENT of it (`deadline` is that type's).
template <typename Tx>
absl::StatusOr<SourceVersionRecorded> RecordSourceVersionIn(
    Tx& tx, common::IdGenerator& ids, const ServiceRow& row,
    absl::string_view image_identifier, absl::Time now,
    absl::Duration deadline) {
  using domain::OperationType;
  using domain::ServiceStatus;
  if (row.service.status == ServiceStatus::kDeleted) {
    return SourceVersionOfDeleted();
  }
  SourceVersionRecorded result;
  const int64_t version = tx.InsertImage(row.pk, image_identifier, now);
  std::optional<domain::ServiceConfig> config =
      tx.LoadConfig(row.pk, row.config_version.value_or(0));
  // A paused service records the version only; App Runner deploys nothing
  // that arrived while paused, even with auto deployments on.
  if (row.service.status == ServiceStatus::kRunning && config &&
      config->source.auto_deployments_enabled) {
    ASSIGN_OR_RETURN(
        domain::Transition transition,
        domain::Start(OperationType::kStartDeployment, row.service.status));
    result.deployment =
        StartPending(tx, ids, row, OperationType::kStartDeployment,
                     row.service.status, transition,
                     {.target_config = row.config_version,
                      .prior_config = std::nullopt,
                      .target_image = version},
                     now, deadline);
    tx.SetServiceStatus(row.pk, ServiceStatus::kOperationInProgress, now);
  } else {
    // The new latest image is a change of the service.
    tx.TouchService(row.pk, now);
  }
  result.service = tx.LoadService(row.pk);
  return result;
}

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_STORE_LOGIC_H_
