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
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "domain/arn.h"
#include "domain/connection.h"
#include "domain/lifecycle.h"
#include "domain/operation.h"
#include "domain/service.h"

namespace servicemanager::store {

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_token;  // Empty on the last page.
};

struct NewService {
  std::string account_id;  // 12 digits: the account it is created in.
  std::string name;
  domain::ServiceConfig config;  // Already validated.
  std::vector<domain::Tag> tags;
};

// An accepted mutating call: the service as it now stands (usually
// OPERATION_IN_PROGRESS), the PENDING operation and what it will do.
struct Accepted {
  domain::Service service;
  domain::Operation operation;
  domain::Transition transition;
  // Set instead of the rest when the call repeated an earlier one's client
  // token: the response the earlier call got, as ClientToken::encode_response
  // made it.
  std::optional<std::string> replayed_response;
};

// A mutating call made with a client token, so that a retry of it is safe.
struct ClientToken {
  // The caller's token within its account ("ACCOUNT_ID/TOKEN"), so that
  // one account's token never replays another's response.
  std::string token;
  // The method and its request without the token, in canonical bytes: a
  // retry must send the same.
  std::string request;
  // Encodes the response of the first call; stored with the token in the
  // call's own transaction.
  std::function<std::string(const Accepted&)> encode_response;
};

// What a mutating call asks for besides its arguments.
struct CallOptions {
  // Run every check, then write nothing: the result says what would happen
  // and its operation has no id.
  bool validate_only = false;
  // The etag the caller last saw: ABORTED, changing nothing, if the service
  // has changed since.
  std::optional<std::string> expected_etag;
  std::optional<ClientToken> client_token;
};

// What one committed transaction changed, for ChangeObserver.
struct Change {
  std::optional<domain::Service> service;      // As committed.
  std::optional<domain::Operation> operation;  // As committed.
  // Committed by another replica sharing the database (PostgreSQL), read
  // back after its notification: news for listeners, not an event of this
  // replica to count.
  bool remote = false;
};

// Told of every committed change of a service or an operation, in commit
// order, while the store still holds its write lock: it must return quickly
// and must not call the store.
class ChangeObserver {
 public:
  virtual ~ChangeObserver() = default;
  virtual void OnCommit(const Change& change) = 0;

  // For stores that several replicas share (PostgreSQL). Whether a remote
  // change of this service or operation would reach anyone here: the store
  // reads a remote change back, and calls OnCommit, only if so.
  virtual bool Watches(absl::string_view /*service_id*/,
                       absl::string_view /*operation_id*/) const {
    return true;
  }
  // Another replica committed an operation that has not ended: this
  // replica's worker may have work. Called outside any transaction.
  virtual void OnRemoteWork() {}
};

// What the janitor removes, older first, at most `batch_size` rows of each
// kind per call.
struct PurgeRequest {
  absl::Time operations_ended_before;
  absl::Time services_deleted_before;
  absl::Time client_tokens_created_before;
  // Certificate records unlinked (released) before this.
  absl::Time certificates_released_before;
  int batch_size = 500;
};
struct Purged {
  int operations = 0;
  int services = 0;
  int client_tokens = 0;
  int certificates = 0;
};

struct NewConnection {
  std::string account_id;
  std::string name;  // Already validated.
  domain::ProviderType provider_type = domain::ProviderType::kGithub;
  std::vector<domain::Tag> tags;
};

// A service's custom domains, and the service they belong to (its URL is
// their DNS target).
struct ServiceDomains {
  domain::Service service;
  Page<domain::CustomDomain> domains;
};

// One custom domain that a call linked or unlinked, and its service.
struct DomainChange {
  domain::Service service;
  domain::CustomDomain domain;
};

struct SourceVersionRecorded {
  domain::Service service;
  // The deployment the new version started, if it started one.
  std::optional<domain::Operation> deployment;
};

// What the worker needs to carry out one operation, or to roll it back when
// its status is ROLLBACK_IN_PROGRESS.
struct Work {
  domain::Operation operation;
  // The service's status before the operation; absent for a create.
  std::optional<domain::ServiceStatus> prior_status;
  // What to run: for an operation that deploys (create, update, deployment,
  // resume), its configuration and image version; for a rollback, those that
  // ran before it.
  std::optional<domain::ServiceConfig> config;
  std::optional<domain::ImageVersion> image;
  // How many times the operation has been claimed, this claim included:
  // its finish must name it (see Store::Finish).
  int attempt = 0;
};

// A snapshot of the store for monitoring.
struct StoreStats {
  // Operations accepted and not yet ended (PENDING, IN_PROGRESS or
  // ROLLBACK_IN_PROGRESS).
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

  // Mutating calls that take CallOptions honour them: a client token used
  // before with the same request returns Accepted::replayed_response and
  // changes nothing (INVALID_ARGUMENT with another request); validate_only
  // writes nothing. The others take validate_only alone: every check runs
  // and the result is what it would be, then nothing is written.

  // Inserts the service (OPERATION_IN_PROGRESS), its configuration, image
  // version 1 and tags, and a PENDING CREATE_SERVICE operation due at once.
  // ALREADY_EXISTS if a service of the account that is not deleted has the
  // name. INVALID_ARGUMENT if the configuration names a connection that does
  // not exist (as does UPDATE_SERVICE's).
  virtual absl::StatusOr<Accepted> CreateService(
      const NewService& service, const CallOptions& options) = 0;

  // Every method that takes a ServiceRef answers NOT_FOUND unless a service
  // with that id, name and account exists (a deleted one included).

  // Any service ever created, including DELETED ones.
  virtual absl::StatusOr<domain::Service> GetService(
      const domain::ServiceRef& service) = 0;

  // The services of the accounts in `scope` that are not deleted, oldest
  // first; with `deleted_since`, also those deleted at or after it.
  virtual absl::StatusOr<Page<domain::Service>> ListServices(
      const domain::AccountScope& scope, int page_size,
      absl::string_view page_token,
      std::optional<absl::Time> deleted_since) = 0;

  // Checks the service's status against domain::lifecycle and, if allowed,
  // records a PENDING operation of `type` and sets OPERATION_IN_PROGRESS.
  // `update` is used by UPDATE_SERVICE only.
  virtual absl::StatusOr<Accepted> StartOperation(
      const domain::ServiceRef& service, domain::OperationType type,
      const domain::ConfigUpdate& update, const CallOptions& options) = 0;

  // An operation by id, ended or not. NOT_FOUND if there is none (or it was
  // purged), or if its service's account is not in `scope`.
  virtual absl::StatusOr<domain::Operation> GetOperation(
      const domain::AccountScope& scope, absl::string_view operation_id) = 0;

  // Cancels an operation (see domain::Cancel): a PENDING one ends FAILED with
  // error code CANCELLED and the service goes back to its prior status; an
  // IN_PROGRESS one becomes ROLLBACK_IN_PROGRESS, due at once, for the worker
  // to roll back. Returns the operation as it now stands.
  // FAILED_PRECONDITION if it has ended; NOT_FOUND as GetOperation.
  virtual absl::StatusOr<domain::Operation> CancelOperation(
      const domain::AccountScope& scope, absl::string_view operation_id,
      bool validate_only) = 0;

  // Records a new image version. If the service is RUNNING with auto
  // deployments on, also starts a START_DEPLOYMENT of it. FAILED_PRECONDITION
  // on a DELETED service.
  virtual absl::StatusOr<SourceVersionRecorded> RecordSourceVersion(
      const domain::ServiceRef& service, absl::string_view image_identifier,
      bool validate_only) = 0;

  // The service's operations, newest first, as summaries: without their
  // deadlines and errors.
  virtual absl::StatusOr<Page<domain::Operation>> ListOperations(
      const domain::ServiceRef& service, int page_size,
      absl::string_view page_token) = 0;

  // Adds tags, overwriting the values of existing keys. INVALID_ARGUMENT if
  // the service would have more than domain::kMaxTagsPerResource tags.
  virtual absl::Status TagService(const domain::ServiceRef& service,
                                  const std::vector<domain::Tag>& tags,
                                  bool validate_only) = 0;
  virtual absl::Status UntagService(const domain::ServiceRef& service,
                                    const std::vector<std::string>& keys,
                                    bool validate_only) = 0;
  // Sorted by key.
  virtual absl::StatusOr<std::vector<domain::Tag>> ListTags(
      const domain::ServiceRef& service) = 0;

  // Connections. Their methods answer NOT_FOUND unless a connection with
  // that account, name and id exists; a deleted connection no longer does.

  // Inserts an AVAILABLE connection and its tags. ALREADY_EXISTS if the
  // account has a connection of that name.
  virtual absl::StatusOr<domain::Connection> CreateConnection(
      const NewConnection& connection) = 0;
  // Deletes the connection and its tags; returns it with status DELETED.
  // FAILED_PRECONDITION, naming them, while services that are not deleted
  // use it (any configuration version they keep), PAUSED ones included.
  virtual absl::StatusOr<domain::Connection> DeleteConnection(
      const domain::ConnectionRef& connection) = 0;
  // The account's connections in creation order; with `name`, only the one
  // of that name.
  virtual absl::StatusOr<Page<domain::Connection>> ListConnections(
      absl::string_view account_id, std::optional<std::string> name,
      int page_size, absl::string_view page_token) = 0;
  // Tags of a connection, as TagService and its siblings for a service (in
  // every status of the connection).
  virtual absl::Status TagConnection(const domain::ConnectionRef& connection,
                                     const std::vector<domain::Tag>& tags,
                                     bool validate_only) = 0;
  virtual absl::Status UntagConnection(const domain::ConnectionRef& connection,
                                       const std::vector<std::string>& keys,
                                       bool validate_only) = 0;
  virtual absl::StatusOr<std::vector<domain::Tag>> ListConnectionTags(
      const domain::ConnectionRef& connection) = 0;

  // Custom domains. Changes check domain::CheckCanChangeCustomDomains.

  // Links `domain_name` (canonical) to the service, with the certificate
  // record of `account_id` and that domain: the one kept from an earlier
  // link if there is one, otherwise a new one. ALREADY_EXISTS if the domain
  // is linked to a service (this one or another).
  virtual absl::StatusOr<DomainChange> AssociateCustomDomain(
      const domain::ServiceRef& service, absl::string_view account_id,
      absl::string_view domain_name, bool enable_www_subdomain) = 0;
  // Unlinks it; its certificate record is released (kept until the janitor
  // purges it). NOT_FOUND if the domain is not linked to the service.
  virtual absl::StatusOr<DomainChange> DisassociateCustomDomain(
      const domain::ServiceRef& service, absl::string_view domain_name) = 0;
  // The service's domains by name (none once it is deleted).
  virtual absl::StatusOr<ServiceDomains> ListCustomDomains(
      const domain::ServiceRef& service, int page_size,
      absl::string_view page_token) = 0;

  // For the worker. In one transaction: marks the PENDING operations due at
  // `now` IN_PROGRESS, due again at `now + compute_time`; then claims up to
  // `limit` IN_PROGRESS and ROLLBACK_IN_PROGRESS operations due at `now`,
  // oldest due first, that no one holds (no owner, or a lease that ran out
  // before `now`), and returns them. A claim writes this store's replica id
  // as the owner, counts one more attempt, and holds until `now + lease`
  // (when the operation is due again, for a takeover, unless the owner
  // renews or finishes it). On PostgreSQL, replicas claim disjoint sets.
  virtual absl::StatusOr<std::vector<Work>> TakeDueOperations(
      absl::Time now, absl::Duration compute_time, absl::Duration lease,
      int limit) = 0;

  // Extends this replica's claims on the open operations `operation_ids`
  // until `until`. Claims lost since (taken over, cancelled, ended) stay
  // lost.
  virtual absl::Status RenewLeases(
      const std::vector<std::string>& operation_ids, absl::Time until) = 0;

  // One operation's end, as the worker saw it: for FinishOperations.
  struct Finish {
    std::string operation_id;
    domain::OperationStatus seen = domain::OperationStatus::kInProgress;
    bool succeeded = false;
    std::string error;
    // The claim the worker ran it under (Work::attempt).
    int attempt = 0;
  };

  // Ends an open operation, all or nothing, if this replica still holds the
  // claim `attempt` on it and it is still in `seen` (the status the worker
  // took it in). ABORTED, changing nothing, if the claim was lost (another
  // replica took the operation over, or a cancel released it) or a cancel
  // changed its status since.
  // From IN_PROGRESS: on success SUCCEEDED and the service in its new status
  // (DELETED removes the configuration, images, tags and domain
  // links: the purge list in sqlite_store.cc); on failure the
  // operation's failure status with error code RUNTIME_ERROR and `error`, and
  // the service rolled back.
  // From ROLLBACK_IN_PROGRESS: ROLLBACK_SUCCEEDED and the service back in its
  // prior status, or ROLLBACK_FAILED.
  // FAILED_PRECONDITION if the operation already ended.
  absl::Status FinishOperation(const Work& work, bool succeeded,
                               absl::string_view error, absl::Time now) {
    return FinishOperations({{work.operation.id, work.operation.status,
                              succeeded, std::string(error), work.attempt}},
                            now)
        .front();
  }
  // Ends several operations as FinishOperation would, each all or nothing:
  // SQLite commits them together, PostgreSQL one transaction each. One
  // status each, in order.
  virtual std::vector<absl::Status> FinishOperations(
      const std::vector<Finish>& finishes, absl::Time now) = 0;

  // Fails every open operation whose deadline is at or before `now` (FAILED,
  // error code DEADLINE_EXCEEDED) and rolls its service back as a failure
  // would. Returns how many it failed. On PostgreSQL one replica at a time
  // does it (an advisory lock): the others return 0 meanwhile.
  virtual absl::StatusOr<int> ExpireOperations(absl::Time now) = 0;

  // For the janitor: one batch of old rows, in one short transaction. On
  // PostgreSQL one replica at a time purges; the others purge nothing.
  virtual absl::StatusOr<Purged> Purge(const PurgeRequest& request) = 0;

  // After a restart: an IN_PROGRESS operation whose compute step was cut off
  // by the stop runs again, due no later than `latest_due`. Returns how many
  // operations are open. SQLite has one process, so its claims are released
  // (the next claim counts one more attempt); on PostgreSQL claims held by
  // other replicas stay theirs until their leases run out.
  virtual absl::StatusOr<int> RecoverOperations(absl::Time latest_due) = 0;

  // When the worker next has something to do (an open operation due, or past
  // its deadline), if any operation is open.
  virtual absl::StatusOr<std::optional<absl::Time>> NextDueTime() = 0;

  // For a runtime that publishes a service on a host port: the service's
  // port, the lowest in [first_port, last_port] that no other service holds,
  // allocated on the first call and the same on every later one until the
  // service is deleted (which frees it). The endpoint is then
  // "address:port" (see domain::Service::endpoint). NOT_FOUND for an unknown
  // service, FAILED_PRECONDITION for a deleted one, RESOURCE_EXHAUSTED when
  // other services hold every port of the range.
  virtual absl::StatusOr<int> AllocateEndpoint(absl::string_view service_id,
                                               absl::string_view address,
                                               int first_port,
                                               int last_port) = 0;

  // Records the digest of the runtime's private copy of an image version.
  // NOT_FOUND if the service has no such version.
  virtual absl::Status RecordImageDigest(absl::string_view service_id,
                                         int64_t version,
                                         absl::string_view digest) = 0;

  // For monitoring, at `now`. Reads only; its cost grows with the number of
  // open operations, not with the history.
  virtual absl::StatusOr<StoreStats> GetStats(absl::Time now) = 0;
};

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_STORE_H_
