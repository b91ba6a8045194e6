// Where services' compute runs. The worker calls it for each operation before
// committing the operation's result; every call is idempotent, because after
// a crash the worker runs an unfinished operation's call again.
//
// How a Kubernetes driver would map: Deploy applies a Deployment (replicas 1,
// the stored image, the configuration as env and probes) and waits for it to
// be available; Stop scales it to 0; Remove deletes the Deployment and the
// stored image; List lists the Deployments labelled as ServiceManager's.
#ifndef SERVICEMANAGER_SERVER_RUNTIME_RUNTIME_H_
#define SERVICEMANAGER_SERVER_RUNTIME_RUNTIME_H_

#include <cstdint>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "domain/service.h"

namespace servicemanager::runtime {

struct Deployment {
  std::string service_id;
  domain::ImageVersion image;
  domain::ServiceConfig config;
  // Resolve the image identifier again although a copy of this version is
  // kept, and keep what it names now (StartDeployment: deploy the image the
  // tag names today). Otherwise an existing copy is used as it is.
  bool refresh_image = false;
};

// What a runtime holds, by service id, for reconciling it with the database.
struct Inventory {
  // Services whose compute is up.
  std::set<std::string> running;
  // Services of which the runtime holds anything: compute (up or not) or
  // image copies.
  std::set<std::string> held;
};

// Implementations are thread-safe.
class Runtime {
 public:
  virtual ~Runtime() = default;

  // Keeps a copy of the image version (if not kept yet) and replaces the
  // service's compute with fresh compute running it with the configuration.
  virtual absl::Status Deploy(const Deployment& deployment) = 0;

  // Pause: removes the compute and its ephemeral storage. The stored image
  // copies stay.
  virtual absl::Status Stop(absl::string_view service_id) = 0;

  // Delete: removes the compute and every stored image copy of the service.
  virtual absl::Status Remove(absl::string_view service_id) = 0;

  // What the runtime holds now.
  virtual absl::StatusOr<Inventory> List() = 0;
};

}  // namespace servicemanager::runtime

#endif  // SERVICEMANAGER_SERVER_RUNTIME_RUNTIME_H_
