// Small helpers shared by the client's gRPC calls: per-call context set-up
// (deadline, bearer token) and translation of grpc::Status to absl::Status.
// Internal to client/.
//
//   grpc::ClientContext ctx;
//   PrepareContext(ctx, token, absl::Seconds(10));
//   grpc::Status s = stub.Pull(&ctx, request, &reply);
//   FL_RETURN_IF_ERROR(FromGrpc(s, "Pull"));
//
// Thread-safety: stateless functions (FullJitterBackoff uses the caller's
// generator).
#ifndef FIELDLEDGER_CLIENT_RPC_H_
#define FIELDLEDGER_CLIENT_RPC_H_

#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace fieldledger::client {

// Sets the deadline to now + `timeout` and, when `token` is not empty, the
// "authorization: Bearer <token>" metadata.
void PrepareContext(grpc::ClientContext& context, absl::string_view token,
                    absl::Duration timeout);

// The same canonical code, with the message "<rpc>: <server's message>".
absl::Status FromGrpc(const grpc::Status& status, absl::string_view rpc);

// Whether a failed call may succeed if tried again unchanged: UNAVAILABLE,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN.
bool IsTransient(absl::StatusCode code);

// The wait before retry `retry` (1, 2 ...) with "full jitter": uniform in
// [0, min(cap, initial * 2^(retry-1))].
absl::Duration FullJitterBackoff(int retry, absl::Duration initial,
                                 absl::Duration cap, std::mt19937_64& rng);

}  // namespace fieldledger::client

#endif  // FIELDLEDGER_CLIENT_RPC_H_
