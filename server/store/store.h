// The persistence interface that api/ and worker/ use. Each mutating method is
// one transaction: it either commits all of its changes or none.
//
// Errors: NOT_FOUND for an unknown service or operation, FAILED_PRECONDITION
// when the service's status refuses the change, INVALID_ARGUMENT for a bad
// page token or a tag limit, ALREADY_EXISTS for a taken name, UNAVAILABLE when
// the database stays busy, RESOURCE_EXHAUSTED when it is full, DATA_LOSS when
// it is corrupt, INTERNAL otherwise. Implementations are thread-safe.
#ifndef SERVICEMANAGER_SERVER_STORE_STORE_H_
#define SERVICEMANAGER_SERVER_STORE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "domain/arn.h"
#include "domain/operation.h"
#include "domain/service.h"

namespace servicemanager::store {

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_token;  // Empty on the last page.
};

struct NewService {
  std::string name;
  domain::ServiceConfig config;  // Already validated.
  std::vector<domain::Tag> tags;
};

// An accepted mutating call: the service as it now stands (usually
// OPERATION_IN_PROGRESS) and the PENDING operation.
struct Accepted {
  domain::Service service;
  domain::Operation operation;
};

struct SourceVersionRecorded {
  domain::Service service;
  // The deployment the new version started, if it started one.
  std::optional<domain::Operation> deployment;
};

// What the worker needs to carry out one operation.
struct Work {
  domain::Operation operation;
  // For operations that deploy (create, update, deployment, resume): the
  // configuration and image version to run.
  std::optional<domain::ServiceConfig> config;
  std::optional<domain::ImageVersion> image;
};

// A snapshot of the store for monitoring.
struct StoreStats {
  // Operations accepted and not yet ended (PENDING or IN_PROGRESS).
  int64_t open_operations = 0;
  // How long the oldest of them has been open (since it was accepted); zero
  // when none is.
  absl::Duration oldest_open_operation_age;
  // The database's size: pages in use times the page size.
  int64_t database_size_bytes = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Inserts the service (OPERATION_IN_PROGRESS), its configuration, image
  // version 1 and tags, and a PENDING CREATE_SERVICE operation due at once.
  // ALREADY_EXISTS if a service that is not deleted has the name.
  virtual absl::StatusOr<Accepted> CreateService(const NewService& service) = 0;

  // Every method that takes a ServiceRef answers NOT_FOUND unless a service
  // with that id and name exists (a deleted one included).

  // Any service ever created, including DELETED ones.
  virtual absl::StatusOr<domain::Service> GetService(
      const domain::ServiceRef& service) = 0;

  // Services that are not deleted, oldest first.
  virtual absl::StatusOr<Page<domain::Service>> ListServices(
      int page_size, absl::string_view page_token) = 0;

  // Checks the service's status against domain::lifecycle and, if allowed,
  // records a PENDING operation of `type` and sets OPERATION_IN_PROGRESS.
  // `update` is used by UPDATE_SERVICE only.
  virtual absl::StatusOr<Accepted> StartOperation(
      const domain::ServiceRef& service, domain::OperationType type,
      const domain::ConfigUpdate& update) = 0;

  // Records a new image version. If the service is RUNNING with auto
  // deployments on, also starts a START_DEPLOYMENT of it. FAILED_PRECONDITION
  // on a DELETED service.
  virtual absl::StatusOr<SourceVersionRecorded> RecordSourceVersion(
      const domain::ServiceRef& service,
      absl::string_view image_identifier) = 0;

  // The service's operations, newest first.
  virtual absl::StatusOr<Page<domain::Operation>> ListOperations(
      const domain::ServiceRef& service, int page_size,
      absl::string_view page_token) = 0;

  // Adds tags, overwriting the values of existing keys. INVALID_ARGUMENT if
  // the service would have more than domain::kMaxTagsPerResource tags.
  virtual absl::Status TagService(const domain::ServiceRef& service,
                                  const std::vector<domain::Tag>& tags) = 0;
  virtual absl::Status UntagService(const domain::ServiceRef& service,
                                    const std::vector<std::string>& keys) = 0;
  // Sorted by key.
  virtual absl::StatusOr<std::vector<domain::Tag>> ListTags(
      const domain::ServiceRef& service) = 0;

  // For the worker. In one transaction: marks the PENDING operations due at
  // `now` IN_PROGRESS, due again at `now + compute_time`; then returns up to
  // `limit` IN_PROGRESS operations due at `now`, oldest due first.
  virtual absl::StatusOr<std::vector<Work>> TakeDueOperations(
      absl::Time now, absl::Duration compute_time, int limit) = 0;

  // Ends an open operation in one transaction: on success SUCCEEDED and the
  // service in its new status (DELETED purges configuration, images and
  // tags); on failure the operation's failure status with `error`, and the
  // service rolled back. FAILED_PRECONDITION if the operation already ended.
  virtual absl::Status FinishOperation(absl::string_view operation_id,
                                       bool succeeded, absl::string_view error,
                                       absl::Time now) = 0;

  // After a restart: an IN_PROGRESS operation whose compute step was cut off
  // by the stop runs again, due no later than `latest_due`. Returns how many
  // operations are open.
  virtual absl::StatusOr<int> RecoverOperations(absl::Time latest_due) = 0;

  // When the earliest open operation is due, if any is open.
  virtual absl::StatusOr<std::optional<absl::Time>> NextDueTime() = 0;

  // For monitoring, at `now`. Reads only; its cost grows with the number of
  // open operations, not with the history.
  virtual absl::StatusOr<StoreStats> GetStats(absl::Time now) = 0;
};

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_STORE_H_
