#include "runtime/podman_runtime.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace servicemanager::runtime {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr char kApi[] = "/v4.0.0/libpod";
constexpr char kCopyRepository[] = "localhost/servicemanager/";
constexpr absl::Duration kCallTimeout = absl::Seconds(60);
constexpr absl::Duration kPullTimeout = absl::Minutes(10);
// Podman's defaults fail where limits cannot be raised (containers, CI), so
// every container gets these explicitly.
constexpr int kNofileLimit = 1024;
constexpr int kNprocLimit = 512;

absl::StatusOr<Value> ParseJson(absl::string_view text) {
  Value value;
  const auto status =
      google::protobuf::util::JsonStringToMessage(std::string(text), &value);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("podman answered JSON that does not parse: ",
                     status.message().ToString()));
  }
  return value;
}

std::string ToJson(const Struct& message) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json);
  return json;
}

std::string StringField(const Value& value, const std::string& key) {
  if (value.kind_case() != Value::kStructValue) {
    return "";
  }
  const auto& fields = value.struct_value().fields();
  auto it = fields.find(key);
  return it != fields.end() && it->second.kind_case() == Value::kStringValue
             ? it->second.string_value()
             : "";
}

const ListValue& ListField(const Value& value, const std::string& key) {
  static const ListValue* const kEmpty = new ListValue;
  if (value.kind_case() != Value::kStructValue) {
    return *kEmpty;
  }
  const auto& fields = value.struct_value().fields();
  auto it = fields.find(key);
  return it != fields.end() && it->second.kind_case() == Value::kListValue
             ? it->second.list_value()
             : *kEmpty;
}

Value StringValue(absl::string_view text) {
  Value value;
  value.set_string_value(std::string(text));
  return value;
}
Value NumberValue(double number) {
  Value value;
  value.set_number_value(number);
  return value;
}

// An error for a response Podman refused, with Podman's message.
absl::Status Refused(absl::string_view what, const HttpResponse& response) {
  absl::StatusOr<Value> body = ParseJson(response.body);
  std::string message = body.ok() ? StringField(*body, "message") : "";
  if (message.empty()) {
    message = response.body;
  }
  const std::string text =
      absl::StrCat("podman: ", what, ": HTTP ", response.status, ": ", message);
  if (response.status == 404) {
    return absl::NotFoundError(text);
  }
  return absl::UnavailableError(text);
}

bool OneOf(long status, std::initializer_list<long> accepted) {
  return absl::c_linear_search(accepted, status);
}

std::string ContainerName(absl::string_view service_id,
                          absl::string_view slot) {
  return absl::StrCat("sm-", service_id, "-", slot);
}

}  // namespace

PodmanRuntime::PodmanRuntime(PodmanOptions options, store::Store& store)
    : options_(std::move(options)),
      store_(store),
      http_(options_.socket_path) {}

std::string PodmanRuntime::ImageCopy(absl::string_view service_id,
                                     int64_t version) {
  return absl::StrCat(kCopyRepository, service_id, ":v", version);
}

absl::Status PodmanRuntime::Ping() const {
  ASSIGN_OR_RETURN(
      HttpResponse response,
      http_.Call("GET", absl::StrCat(kApi, "/_ping"), "", absl::Seconds(5)));
  if (response.status != 200) {
    return Refused("ping", response);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PodmanRuntime::Container>> PodmanRuntime::Containers(
    absl::string_view service_id) const {
  const std::string filters =
      absl::StrCat(R"({"label":[")", kServiceLabel, "=", service_id, R"("]})");
  ASSIGN_OR_RETURN(
      HttpResponse response,
      http_.Call("GET",
                 absl::StrCat(kApi, "/containers/json?all=true&filters=",
                              UnixHttpClient::Escape(filters)),
                 "", kCallTimeout));
  if (response.status != 200) {
    return Refused("list containers", response);
  }
  ASSIGN_OR_RETURN(Value list, ParseJson(response.body));
  std::vector<Container> containers;
  for (const Value& item : list.list_value().values()) {
    const ListValue& names = ListField(item, "Names");
    if (names.values().empty()) {
      continue;
    }
    containers.push_back({names.values(0).string_value(),
                          StringField(item, "State") == "running"});
  }
  return containers;
}

absl::StatusOr<std::vector<std::string>> PodmanRuntime::Copies(
    absl::string_view service_id) const {
  ASSIGN_OR_RETURN(
      HttpResponse response,
      http_.Call("GET", absl::StrCat(kApi, "/images/json"), "", kCallTimeout));
  if (response.status != 200) {
    return Refused("list images", response);
  }
  ASSIGN_OR_RETURN(Value list, ParseJson(response.body));
  const std::string prefix = absl::StrCat(kCopyRepository, service_id, ":");
  std::vector<std::string> copies;
  for (const Value& image : list.list_value().values()) {
    for (const Value& name : ListField(image, "Names").values()) {
      if (service_id.empty()
              ? absl::StartsWith(name.string_value(), kCopyRepository)
              : absl::StartsWith(name.string_value(), prefix)) {
        copies.push_back(name.string_value());
      }
    }
  }
  return copies;
}

absl::Status PodmanRuntime::Tag(absl::string_view image,
                                absl::string_view copy) const {
  const size_t colon = copy.rfind(':');
  ASSIGN_OR_RETURN(
      HttpResponse response,
      http_.Call(
          "POST",
          absl::StrCat(
              kApi, "/images/", UnixHttpClient::Escape(image),
              "/tag?repo=", UnixHttpClient::Escape(copy.substr(0, colon)),
              "&tag=", UnixHttpClient::Escape(copy.substr(colon + 1))),
          "", kCallTimeout));
  if (!OneOf(response.status, {200, 201})) {
    return Refused(absl::StrCat("tag ", image, " as ", copy), response);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PodmanRuntime::KeepCopy(
    const Deployment& deployment) const {
  const std::string copy =
      ImageCopy(deployment.service_id, deployment.image.version);
  auto inspect = [this](absl::string_view name) -> absl::StatusOr<Value> {
    ASSIGN_OR_RETURN(
        HttpResponse response,
        http_.Call("GET",
                   absl::StrCat(kApi, "/images/", UnixHttpClient::Escape(name),
                                "/json"),
                   "", kCallTimeout));
    if (response.status != 200) {
      return Refused(absl::StrCat("inspect image ", name), response);
    }
    return ParseJson(response.body);
  };
  std::string kept_id;
  if (absl::StatusOr<Value> kept = inspect(copy); kept.ok()) {
    kept_id = StringField(*kept, "Id");
    if (!deployment.refresh_image) {
      return std::string();
    }
  } else if (!absl::IsNotFound(kept.status())) {
    return kept.status();
  }
  const std::string& source = deployment.image.image_identifier;
  if (!absl::StartsWith(source, "localhost/")) {
    ASSIGN_OR_RETURN(HttpResponse pulled,
                     http_.Call("POST",
                                absl::StrCat(kApi, "/images/pull?reference=",
                                             UnixHttpClient::Escape(source)),
                                "", kPullTimeout));
    // The body is a stream of JSON objects; a failure is one with "error".
    if (pulled.status != 200 || absl::StrContains(pulled.body, "\"error\"")) {
      return Refused(absl::StrCat("pull ", source), pulled);
    }
  }
  ASSIGN_OR_RETURN(Value resolved, inspect(source));
  const std::string image_id = StringField(resolved, "Id");
  RETURN_IF_ERROR(Tag(image_id, copy));
  std::string digest = StringField(resolved, "Digest");
  if (digest.empty()) {
    digest = absl::StrCat("sha256:", image_id);
  }
  RETURN_IF_ERROR(store_.RecordImageDigest(deployment.service_id,
                                           deployment.image.version, digest));
  return kept_id == image_id ? std::string() : kept_id;
}

absl::Status PodmanRuntime::ContainerAction(
    absl::string_view method, absl::string_view what, absl::string_view name,
    absl::string_view path, std::initializer_list<long> accepted) const {
  ASSIGN_OR_RETURN(HttpResponse response,
                   http_.Call(method,
                              absl::StrCat(kApi, "/containers/",
                                           UnixHttpClient::Escape(name), path),
                              "", kCallTimeout));
  if (!OneOf(response.status, accepted)) {
    return Refused(absl::StrCat(what, " container ", name), response);
  }
  return absl::OkStatus();
}

absl::Status PodmanRuntime::RemoveContainer(absl::string_view name) const {
  return ContainerAction("DELETE", "remove", name, "?force=true&timeout=1",
                         {200, 204, 404});
}

absl::Status PodmanRuntime::StopContainer(absl::string_view name) const {
  return ContainerAction("POST", "stop", name, "/stop?timeout=1",
                         {204, 304, 404});
}

absl::Status PodmanRuntime::StartContainer(absl::string_view name) const {
  return ContainerAction("POST", "start", name, "/start", {204, 304});
}

absl::Status PodmanRuntime::CreateContainer(const Deployment& deployment,
                                            absl::string_view name,
                                            int host_port) const {
  const domain::ImageConfiguration& image =
      deployment.config.source.image_configuration;
  int container_port = 0;
  if (!absl::SimpleAtoi(image.port, &container_port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("image_configuration.port: not a number: ", image.port));
  }
  Struct spec;
  auto& fields = *spec.mutable_fields();
  fields["name"] = StringValue(name);
  fields["image"] =
      StringValue(ImageCopy(deployment.service_id, deployment.image.version));
  auto& labels = *fields["labels"].mutable_struct_value()->mutable_fields();
  labels[kServiceLabel] = StringValue(deployment.service_id);
  labels["servicemanager.image_version"] =
      StringValue(absl::StrCat(deployment.image.version));
  auto& env = *fields["env"].mutable_struct_value()->mutable_fields();
  for (const auto& [key, value] : image.runtime_environment_variables) {
    env[key] = StringValue(value);
  }
  if (!image.start_command.empty()) {
    ListValue* command = fields["command"].mutable_list_value();
    for (absl::string_view word :
         absl::StrSplit(image.start_command, ' ', absl::SkipEmpty())) {
      *command->add_values() = StringValue(word);
    }
  }
  Struct mapping;
  (*mapping.mutable_fields())["host_ip"] = StringValue(options_.bind_address);
  (*mapping.mutable_fields())["host_port"] = NumberValue(host_port);
  (*mapping.mutable_fields())["container_port"] = NumberValue(container_port);
  (*mapping.mutable_fields())["protocol"] = StringValue("tcp");
  *fields["portmappings"]
       .mutable_list_value()
       ->add_values()
       ->mutable_struct_value() = mapping;
  ListValue* limits = fields["r_limits"].mutable_list_value();
  for (const auto& [type, limit] :
       {std::pair{"nofile", kNofileLimit}, std::pair{"nproc", kNprocLimit}}) {
    Struct rlimit;
    (*rlimit.mutable_fields())["type"] = StringValue(type);
    (*rlimit.mutable_fields())["soft"] = NumberValue(limit);
    (*rlimit.mutable_fields())["hard"] = NumberValue(limit);
    *limits->add_values()->mutable_struct_value() = rlimit;
  }
  ASSIGN_OR_RETURN(HttpResponse response,
                   http_.Call("POST", absl::StrCat(kApi, "/containers/create"),
                              ToJson(spec), kCallTimeout));
  if (response.status != 201) {
    return Refused(absl::StrCat("create container ", name), response);
  }
  return absl::OkStatus();
}

absl::Status PodmanRuntime::WaitHealthy(
    const domain::HealthCheckConfiguration& check,
    absl::string_view endpoint) const {
  const absl::Duration timeout = absl::Seconds(check.timeout);
  const bool http = check.protocol == domain::HealthCheckProtocol::kHttp;
  int passed = 0;
  int failed = 0;
  std::string last_failure;
  while (true) {
    bool healthy = false;
    if (http) {
      absl::StatusOr<HttpResponse> got = HttpGet(endpoint, check.path, timeout);
      healthy = got.ok() && got->status >= 200 && got->status < 400;
      last_failure = got.ok() ? absl::StrCat("HTTP ", got->status)
                              : std::string(got.status().message());
    } else {
      healthy = TcpConnects(endpoint, timeout);
      last_failure = absl::StrCat("no TCP connection to ", endpoint);
    }
    if (healthy) {
      failed = 0;
      if (++passed >= check.healthy_threshold) {
        return absl::OkStatus();
      }
    } else {
      passed = 0;
      if (++failed >= check.unhealthy_threshold) {
        return absl::UnavailableError(
            absl::StrCat("the container did not become healthy: ", failed,
                         " failed ", http ? "HTTP" : "TCP",
                         " health checks in a row (", last_failure, ")"));
      }
    }
    absl::SleepFor(absl::Seconds(check.interval));
  }
}

absl::Status PodmanRuntime::Deploy(const Deployment& deployment) {
  absl::MutexLock lock(&mu_);
  const std::string& id = deployment.service_id;
  ASSIGN_OR_RETURN(
      const int port,
      store_.AllocateEndpoint(id, options_.bind_address, options_.first_port,
                              options_.last_port));
  const std::string endpoint = absl::StrCat(options_.bind_address, ":", port);
  const std::string copy = ImageCopy(id, deployment.image.version);
  ASSIGN_OR_RETURN(const std::string replaced_image, KeepCopy(deployment));

  // The running container is stopped, not removed, until the new one is
  // healthy; anything else of the service is a leftover.
  ASSIGN_OR_RETURN(std::vector<Container> containers, Containers(id));
  std::vector<std::string> old;
  for (const Container& container : containers) {
    if (container.running) {
      RETURN_IF_ERROR(StopContainer(container.name));
      old.push_back(container.name);
    } else {
      RETURN_IF_ERROR(RemoveContainer(container.name));
    }
  }
  std::string name = ContainerName(id, "a");
  if (absl::c_linear_search(old, name)) {
    name = ContainerName(id, "b");
    if (absl::c_linear_search(old, name)) {
      RETURN_IF_ERROR(RemoveContainer(name));
      old.erase(absl::c_find(old, name));
    }
  }

  auto restore = [&](const absl::Status& cause) {
    absl::Status restored = RemoveContainer(name);
    for (const std::string& previous : old) {
      restored.Update(StartContainer(previous));
    }
    // What ran before serves again before the operation says so: it takes
    // connections (the new health check is the one that failed).
    if (restored.ok() && !old.empty()) {
      domain::HealthCheckConfiguration serving = deployment.config.health_check;
      serving.protocol = domain::HealthCheckProtocol::kTcp;
      serving.healthy_threshold = 1;
      restored.Update(WaitHealthy(serving, endpoint));
    }
    if (!replaced_image.empty()) {
      restored.Update(Tag(replaced_image, copy));
    }
    if (!restored.ok()) {
      return absl::Status(
          cause.code(),
          absl::StrCat(cause.message(), "; restoring what ran before failed: ",
                       restored.message()));
    }
    return cause;
  };
  if (absl::Status created = CreateContainer(deployment, name, port);
      !created.ok()) {
    return restore(created);
  }
  if (absl::Status started = StartContainer(name); !started.ok()) {
    return restore(started);
  }
  if (absl::Status healthy =
          WaitHealthy(deployment.config.health_check, endpoint);
      !healthy.ok()) {
    return restore(healthy);
  }
  // The new container serves: an old one that cannot be removed now stays
  // stopped, and the next deployment or pause removes it.
  for (const std::string& previous : old) {
    if (absl::Status removed = RemoveContainer(previous); !removed.ok()) {
      common::Log(common::LogLevel::kWarning,
                  absl::StrCat("podman: the old container ", previous,
                               " stays stopped: ", removed.message()));
    }
  }
  // Older copies are no longer needed (the store keeps only the deployed
  // version and newer ones); a copy that cannot be removed now is removed
  // with the service.
  absl::StatusOr<std::vector<std::string>> copies = Copies(id);
  if (copies.ok()) {
    for (const std::string& other : *copies) {
      if (other == copy) {
        continue;
      }
      absl::StatusOr<HttpResponse> removed = http_.Call(
          "DELETE",
          absl::StrCat(kApi, "/images/", UnixHttpClient::Escape(other)), "",
          kCallTimeout);
      if (!removed.ok() || !OneOf(removed->status, {200, 404})) {
        common::Log(
            common::LogLevel::kWarning,
            absl::StrCat("podman: cannot remove the old copy ", other, " yet"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status PodmanRuntime::StopLocked(absl::string_view service_id) {
  ASSIGN_OR_RETURN(std::vector<Container> containers, Containers(service_id));
  for (const Container& container : containers) {
    RETURN_IF_ERROR(RemoveContainer(container.name));
  }
  return absl::OkStatus();
}

absl::Status PodmanRuntime::Stop(absl::string_view service_id) {
  absl::MutexLock lock(&mu_);
  return StopLocked(service_id);
}

absl::Status PodmanRuntime::Remove(absl::string_view service_id) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(StopLocked(service_id));
  ASSIGN_OR_RETURN(std::vector<std::string> copies, Copies(service_id));
  for (const std::string& copy : copies) {
    ASSIGN_OR_RETURN(
        HttpResponse response,
        http_.Call("DELETE",
                   absl::StrCat(kApi, "/images/", UnixHttpClient::Escape(copy)),
                   "", kCallTimeout));
    if (!OneOf(response.status, {200, 404})) {
      return Refused(absl::StrCat("remove image ", copy), response);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Inventory> PodmanRuntime::List() {
  const std::string filters =
      absl::StrCat(R"({"label":[")", kServiceLabel, R"("]})");
  ASSIGN_OR_RETURN(
      HttpResponse response,
      http_.Call("GET",
                 absl::StrCat(kApi, "/containers/json?all=true&filters=",
                              UnixHttpClient::Escape(filters)),
                 "", kCallTimeout));
  if (response.status != 200) {
    return Refused("list containers", response);
  }
  ASSIGN_OR_RETURN(Value list, ParseJson(response.body));
  Inventory inventory;
  for (const Value& item : list.list_value().values()) {
    const Value* labels = nullptr;
    if (auto it = item.struct_value().fields().find("Labels");
        it != item.struct_value().fields().end()) {
      labels = &it->second;
    }
    const std::string id =
        labels != nullptr ? StringField(*labels, kServiceLabel) : "";
    if (id.empty()) {
      continue;
    }
    inventory.held.insert(id);
    if (StringField(item, "State") == "running") {
      inventory.running.insert(id);
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::string> copies, Copies(""));
  for (const std::string& copy : copies) {
    absl::string_view rest = absl::string_view(copy).substr(
        absl::string_view(kCopyRepository).size());
    inventory.held.insert(std::string(rest.substr(0, rest.find(':'))));
  }
  return inventory;
}

}  // namespace servicemanager::runtime
