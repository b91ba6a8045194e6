// A Runtime on Podman, through its REST API (libpod) on a unix socket.
//
// - Image copy: Deploy resolves the service's image identifier once per
//   version (pulling it unless it is a localhost/ image) and tags that exact
//   image localhost/servicemanager/<service_id>:v<version>; the copy's digest
//   goes to the store. Later changes of the source tag change nothing until
//   a deployment with refresh_image (StartDeployment) resolves it again.
// - Compute: one container per service, labelled servicemanager.service_id,
//   named sm-<service_id>-a or -b (a deployment starts the new one before it
//   removes the old), publishing the image's port on the service's host port
//   (allocated once by the store) at the bind address, with the configuration's
//   environment variables and explicit nofile/nproc limits.
// - Deploy returns once the container passes the health check; if it does
//   not, the new container goes, the old one (stopped meanwhile) starts again
//   and Deploy fails.
// - Stop removes the containers (their filesystem goes, the copies stay);
//   Remove also removes every copy of the service.
//
// Thread-safe: changes are made one at a time.
#ifndef SERVICEMANAGER_SERVER_RUNTIME_PODMAN_RUNTIME_H_
#define SERVICEMANAGER_SERVER_RUNTIME_PODMAN_RUNTIME_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "runtime/runtime.h"
#include "runtime/unix_http_client.h"
#include "store/store.h"

namespace servicemanager::runtime {

struct PodmanOptions {
  std::string socket_path;
  // Host address the services' ports are published on.
  std::string bind_address = "127.0.0.1";
  // Host ports services get, inclusive.
  int first_port = 20000;
  int last_port = 20999;
};

class PodmanRuntime final : public Runtime {
 public:
  // The store keeps host ports and digests; it must outlive the runtime.
  PodmanRuntime(PodmanOptions options, store::Store& store);

  // OK if Podman answers on the socket; UNAVAILABLE otherwise.
  absl::Status Ping() const;

  absl::Status Deploy(const Deployment& deployment) override;
  absl::Status Stop(absl::string_view service_id) override;
  absl::Status Remove(absl::string_view service_id) override;
  absl::StatusOr<Inventory> List() override;

  // The name of the copy of a service's image version.
  static std::string ImageCopy(absl::string_view service_id, int64_t version);
  // The label that marks ServiceManager's containers, valued the service id.
  static constexpr char kServiceLabel[] = "servicemanager.service_id";

 private:
  struct Container {
    std::string name;
    bool running = false;
  };

  absl::StatusOr<std::vector<Container>> Containers(
      absl::string_view service_id) const;
  // Names ("repo:tag") of the image copies of the service, or of every
  // service when `service_id` is empty.
  absl::StatusOr<std::vector<std::string>> Copies(
      absl::string_view service_id) const;
  // Makes the copy of the deployment's version; returns the id of the image
  // the copy named before (empty if none), to put back on failure.
  absl::StatusOr<std::string> KeepCopy(const Deployment& deployment) const;
  // Calls `method` on the container `name`'s endpoint `path` (after
  // /containers/NAME); an HTTP status outside `accepted` is refused as
  // "WHAT container NAME".
  absl::Status ContainerAction(absl::string_view method, absl::string_view what,
                               absl::string_view name, absl::string_view path,
                               std::initializer_list<long> accepted) const;
  absl::Status RemoveContainer(absl::string_view name) const;
  absl::Status StopContainer(absl::string_view name) const;
  absl::Status StartContainer(absl::string_view name) const;
  absl::Status CreateContainer(const Deployment& deployment,
                               absl::string_view name, int host_port) const;
  absl::Status Tag(absl::string_view image, absl::string_view copy) const;
  absl::Status WaitHealthy(const domain::HealthCheckConfiguration& check,
                           absl::string_view endpoint) const;
  absl::Status StopLocked(absl::string_view service_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PodmanOptions options_;
  store::Store& store_;
  const UnixHttpClient http_;
  absl::Mutex mu_;
};

}  // namespace servicemanager::runtime

#endif  // SERVICEMANAGER_SERVER_RUNTIME_PODMAN_RUNTIME_H_
