#include "common/id_generator.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace servicemanager::common {

uint64_t RandomIdGenerator::Next() {
  absl::MutexLock lock(&mu_);
  return absl::Uniform<uint64_t>(gen_);
}

std::string RandomIdGenerator::NewServiceId() {
  return absl::StrFormat("%016x%016x", Next(), Next());
}

std::string RandomIdGenerator::NewOperationId() {
  const auto millis = static_cast<uint64_t>(absl::ToUnixMillis(clock_.Now()));
  uint64_t hi = (millis << 16) | (Next() & 0xffff);
  uint64_t lo = Next();
  hi = (hi & ~uint64_t{0xf000}) | uint64_t{0x4000};            // version 4
  lo = (lo & ~(uint64_t{0x3} << 62)) | (uint64_t{0x2} << 62);  // variant 10
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", hi >> 32,
                         (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                         lo & 0xffffffffffffULL);
}

std::string RandomIdGenerator::NewUrlLabel() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string label;
  uint64_t bits = Next();
  for (int i = 0; i < 10; ++i) {
    label.push_back(kAlphabet[bits % 36]);
    bits /= 36;
  }
  return label;
}

}  // namespace servicemanager::common
