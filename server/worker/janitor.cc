#include "worker/janitor.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace servicemanager::worker {

Janitor::Janitor(store::Store& store, common::Clock& clock,
                 JanitorOptions options)
    : store_(store), clock_(clock), options_(options) {}

Janitor::~Janitor() { Stop(); }

absl::StatusOr<store::Purged> Janitor::RunOnce() {
  const absl::Time now = clock_.Now();
  const store::PurgeRequest request{
      .operations_ended_before = now - options_.retention,
      .services_deleted_before = now - options_.retention,
      .client_tokens_created_before = now - options_.client_token_retention,
      .certificates_released_before = now - options_.certificate_retention,
      .batch_size = options_.batch_size,
  };
  store::Purged total;
  while (true) {
    ASSIGN_OR_RETURN(store::Purged batch, store_.Purge(request));
    total.operations += batch.operations;
    total.services += batch.services;
    total.client_tokens += batch.client_tokens;
    total.certificates += batch.certificates;
    // Deleting a service also deletes its operations, so an operation count
    // can pass the batch size; only a batch short of it on every kind ends.
    if (batch.operations < options_.batch_size &&
        batch.services < options_.batch_size &&
        batch.client_tokens < options_.batch_size &&
        batch.certificates < options_.batch_size) {
      return total;
    }
  }
}

void Janitor::Start() {
  absl::MutexLock lock(&mu_);
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Janitor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Janitor::Loop() {
  while (true) {
    absl::StatusOr<store::Purged> purged = RunOnce();
    if (!purged.ok()) {
      common::Log(common::LogLevel::kError,
                  absl::StrCat("janitor: ", purged.status().ToString()));
    } else if (purged->operations + purged->services + purged->client_tokens +
                   purged->certificates >
               0) {
      common::Log(common::LogLevel::kInfo,
                  absl::StrCat("janitor: purged ", purged->operations,
                               " operations, ", purged->services,
                               " deleted services, ", purged->client_tokens,
                               " client tokens, ", purged->certificates,
                               " certificate records past retention"));
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.interval)) {
      return;
    }
  }
}

}  // namespace servicemanager::worker
