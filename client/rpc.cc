#include "client/rpc.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace fieldledger::client {

void PrepareContext(grpc::ClientContext& context, absl::string_view token,
                    absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!token.empty()) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view rpc) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(rpc, ": ", status.error_message()));
}

bool IsTransient(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
      return true;
    default:
      return false;
  }
}

absl::Duration FullJitterBackoff(int retry, absl::Duration initial,
                                 absl::Duration cap, std::mt19937_64& rng) {
  absl::Duration ceiling = initial;
  for (int i = 1; i < retry && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  if (ceiling <= absl::ZeroDuration()) return absl::ZeroDuration();
  std::uniform_int_distribution<int64_t> pick(
      0, absl::ToInt64Nanoseconds(ceiling));
  return absl::Nanoseconds(pick(rng));
}

}  // namespace fieldledger::client
