// The FieldSync rules: exactly-once Push and cursor-based Pull.
//
//   FL_ASSIGN_OR_RETURN(v1::PushResponse reply,
//                       ApplyPush(txn, principal, request, absl::Now(),
//                       limits));
#ifndef FIELDLEDGER_CORE_SYNC_H_
#define FIELDLEDGER_CORE_SYNC_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/limits.h"
#include "core/txn.h"
#include "fieldledger/v1/records.pb.h"
#include "fieldledger/v1/sync.pb.h"

namespace fieldledger {

// Applies the mutations of one Push in order. Mutations at or below the
// client's high-water mark are answered from their stored result; new ones
// are validated and either appended as events or rejected for good; both
// advance the mark.
//
// An error refuses the whole request and leaves `txn` as it was, except for
// a failed read or write, after which the caller must discard the txn:
// - INVALID_ARGUMENT: over the mutation limit, or client_seq not consecutive;
// - PERMISSION_DENIED: a client_id that is not the caller's;
// - FAILED_PRECONDITION: a gap after the high-water mark, which the status
//   carries (HighWaterMarkOf).
absl::StatusOr<v1::PushResponse> ApplyPush(Txn& txn,
                                           const v1::Principal& caller,
                                           const v1::PushRequest& request,
                                           absl::Time now,
                                           const Limits& limits);

// The high-water mark a gap refusal from ApplyPush carries.
std::optional<uint64_t> HighWaterMarkOf(const absl::Status& status);

// The changes after `request.cursor` that concern `caller`: the registry,
// and for inspectors their own findings. A cursor this data set cannot serve
// gets `reset` and changes from the start.
absl::StatusOr<v1::PullResponse> Pull(FeedReader& feeds,
                                      const v1::Principal& caller,
                                      const v1::PullRequest& request);

// Whether `caller` may read ledger entry `index` (the stored bytes of that
// event): an inspector only the events of its own device's mutations, to
// check the receipts its Pushes got; the other roles the rpc admits, any.
// PERMISSION_DENIED naming the entry otherwise.
absl::Status CheckEntryVisible(const v1::Principal& caller,
                               absl::string_view entry, uint64_t index);

// Whether a status from a rule is a verdict on the input (a rejection) rather
// than a failure to read or write.
bool IsRejection(const absl::Status& status);

// The wire form of a rejection: "field.path: reason" becomes field and
// message.
v1::Rejection ToRejection(const absl::Status& status);

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_SYNC_H_
