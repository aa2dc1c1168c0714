// The one wrapper every unary handler goes through: authentication and the
// role check (Authenticate), then the work, either on the handler's thread
// (Read) or in the store's writer (Write), and the translation of the
// outcome to a grpc::Status (Finish). Internal to server/.
#ifndef FIELDLEDGER_SERVER_HANDLER_H_
#define FIELDLEDGER_SERVER_HANDLER_H_

#include <initializer_list>
#include <iostream>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/sync.h"
#include "grpcpp/grpcpp.h"
#include "server/grpc_status.h"
#include "server/services.h"
#include "storage/store.h"

namespace fieldledger::server {

inline constexpr char kHighWaterMarkKey[] = "fieldledger-high-water-mark";

// Finishes `reactor` (unary or streaming) with `status`. Failures of the
// node itself are written to stderr for the operator; nothing about the
// caller is.
template <typename Reactor>
Reactor* Finish(Reactor* reactor, absl::string_view rpc,
                const absl::Status& status) {
  if (status.code() == absl::StatusCode::kInternal ||
      status.code() == absl::StatusCode::kDataLoss) {
    std::cerr << "fieldledgerd: " << rpc << ": " << status << std::endl;
  }
  reactor->Finish(ToGrpc(status));
  return reactor;
}

// Runs `fn(caller)` on this thread for a caller with one of `roles`: for
// reads, which never wait on a disk sync.
template <typename Fn>
grpc::ServerUnaryReactor* Read(storage::Store& store,
                               grpc::CallbackServerContext* context,
                               absl::string_view rpc,
                               std::initializer_list<v1::Role> roles, Fn fn) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::Principal> caller =
      Authenticate(store, *context, rpc, roles);
  if (!caller.ok()) return Finish(reactor, rpc, caller.status());
  return Finish(reactor, rpc, fn(*caller));
}

// Submits `fn(txn, caller)` to the writer for a caller with one of `roles`
// (none: no authentication); the reactor finishes once it is durable.
template <typename Fn>
grpc::ServerUnaryReactor* Write(storage::Store& store,
                                grpc::CallbackServerContext* context,
                                absl::string_view rpc,
                                std::initializer_list<v1::Role> roles, Fn fn) {
  // Taken here, on the handler's thread: a store thread finishes it.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  v1::Principal caller;
  if (roles.size() > 0) {
    absl::StatusOr<v1::Principal> found =
        Authenticate(store, *context, rpc, roles);
    if (!found.ok()) return Finish(reactor, rpc, found.status());
    caller = *std::move(found);
  }
  store.Submit(
      [fn = std::move(fn), caller = std::move(caller)](Txn& txn) {
        return fn(txn, caller);
      },
      [context, reactor, rpc](absl::Status committed) {
        if (const auto mark = HighWaterMarkOf(committed)) {
          context->AddTrailingMetadata(kHighWaterMarkKey, absl::StrCat(*mark));
        }
        Finish(reactor, rpc, committed);
      });
  return reactor;
}

// Stores `*result` in `*out` when OK.
template <typename T>
absl::Status Assign(absl::StatusOr<T> result, T* out) {
  if (!result.ok()) return result.status();
  *out = *std::move(result);
  return absl::OkStatus();
}

inline absl::Status Assign(absl::StatusOr<uint64_t> event_seq,
                           v1::CreateResponse* out) {
  if (!event_seq.ok()) return event_seq.status();
  out->set_event_seq(*event_seq);
  return absl::OkStatus();
}

}  // namespace fieldledger::server

#endif  // FIELDLEDGER_SERVER_HANDLER_H_
