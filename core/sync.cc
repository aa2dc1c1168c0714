#include "core/sync.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/case.h"
#include "core/projection.h"
#include "core/status_macros.h"
#include "core/validation.h"

namespace fieldledger {
namespace {

constexpr absl::string_view kHighWaterMarkPayload =
    "fieldledger.v1/high-water-mark";
constexpr uint32_t kDefaultPullLimit = 500;
constexpr uint32_t kMaxPullLimit = 5000;

// The caller's finding `id`, which must still be reported. Someone else's
// finding is reported as missing, so ids of others cannot be probed.
absl::StatusOr<v1::FindingRecord> OwnReportedFinding(
    Txn& txn, const v1::Principal& caller, absl::string_view field,
    absl::string_view id, absl::string_view action) {
  FL_ASSIGN_OR_RETURN(std::optional<v1::FindingRecord> record,
                      txn.GetFinding(id));
  if (!record || record->reporter() != caller.name()) {
    return absl::NotFoundError(
        absl::StrCat(field, ": you have no finding \"", id, "\""));
  }
  FL_ASSIGN_OR_RETURN(std::optional<v1::Case> c, txn.GetCase(id));
  const v1::FindingStatus status =
      c ? FindingStatusOf(c->status()) : v1::FINDING_STATUS_UNSPECIFIED;
  if (status != v1::FINDING_STATUS_REPORTED) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": finding is ", v1::FindingStatus_Name(status),
                     "; only a reported finding can be ", action));
  }
  return *std::move(record);
}

// Fills in the content of the finding a feed entry names.
absl::Status AddFindingContent(FeedReader& feeds, v1::FindingUpdate& update) {
  const std::string id = update.finding().id();
  FL_ASSIGN_OR_RETURN(std::optional<v1::FindingRecord> record,
                      feeds.ReadFinding(id));
  if (!record) {
    return absl::InternalError(
        absl::StrCat("the feed names finding ", id, ", which does not exist"));
  }
  *update.mutable_finding() = std::move(*record->mutable_finding());
  return absl::OkStatus();
}

// Validates one new mutation and turns it into an event body. Reads only.
absl::Status BuildEvent(Txn& txn, const v1::Principal& caller,
                        const v1::Mutation& m, absl::Time now,
                        const Limits& limits, v1::Event& event) {
  switch (m.payload_case()) {
    case v1::Mutation::kReportFinding: {
      const v1::Finding& f = m.report_finding().finding();
      FL_RETURN_IF_ERROR(
          ValidateFinding(txn, "report_finding.finding", f, now, limits));
      FL_ASSIGN_OR_RETURN(std::optional<v1::FindingRecord> existing,
                          txn.GetFinding(f.id()));
      if (existing) {
        return absl::AlreadyExistsError(
            absl::StrCat("report_finding.finding.id: finding \"", f.id(),
                         "\" already exists"));
      }
      v1::Finding* stored = event.mutable_finding_reported();
      *stored = f;
      if (stored->severity() == v1::SEVERITY_UNSPECIFIED) {
        stored->set_severity(v1::SEVERITY_MEDIUM);
      }
      return absl::OkStatus();
    }
    case v1::Mutation::kAmendFinding: {
      const v1::Finding& f = m.amend_finding().finding();
      FL_RETURN_IF_ERROR(
          ValidateFinding(txn, "amend_finding.finding", f, now, limits));
      FL_RETURN_IF_ERROR(OwnReportedFinding(txn, caller,
                                            "amend_finding.finding.id", f.id(),
                                            "amended")
                             .status());
      v1::Finding* stored = event.mutable_finding_amended();
      *stored = f;
      if (stored->severity() == v1::SEVERITY_UNSPECIFIED) {
        stored->set_severity(v1::SEVERITY_MEDIUM);
      }
      return absl::OkStatus();
    }
    case v1::Mutation::kWithdrawFinding: {
      const v1::WithdrawFinding& w = m.withdraw_finding();
      FL_RETURN_IF_ERROR(ValidateText("withdraw_finding.reason", w.reason(), 0,
                                      limits.max_note_chars));
      FL_RETURN_IF_ERROR(OwnReportedFinding(txn, caller,
                                            "withdraw_finding.finding_id",
                                            w.finding_id(), "withdrawn")
                             .status());
      v1::FindingWithdrawn* stored = event.mutable_finding_withdrawn();
      stored->set_finding_id(w.finding_id());
      stored->set_reason(w.reason());
      return absl::OkStatus();
    }
    case v1::Mutation::PAYLOAD_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "payload: is required (report_finding, amend_finding or "
      "withdraw_finding)");
}

// Applies one new mutation: its event, or the reason it is rejected.
absl::StatusOr<v1::MutationResult> ApplyNew(Txn& txn,
                                            const v1::Principal& caller,
                                            const v1::Mutation& m,
                                            absl::Time now,
                                            const Limits& limits) {
  v1::MutationResult result;
  result.set_client_seq(m.client_seq());
  v1::Event event;
  const absl::Status valid = BuildEvent(txn, caller, m, now, limits, event);
  if (!valid.ok()) {
    if (!IsRejection(valid)) return valid;
    result.set_outcome(v1::OUTCOME_REJECTED);
    *result.mutable_rejection() = ToRejection(valid);
    return result;
  }
  event.mutable_recorded_at()->set_seconds(absl::ToUnixSeconds(now));
  event.set_actor(caller.name());
  event.mutable_origin()->set_client_id(m.client_id());
  event.mutable_origin()->set_client_seq(m.client_seq());
  FL_ASSIGN_OR_RETURN(uint64_t seq, txn.AppendEvent(event));
  FL_RETURN_IF_ERROR(Project(event, txn));
  result.set_outcome(v1::OUTCOME_APPLIED);
  result.set_event_seq(seq);
  return result;
}

absl::Status CheckRequest(const v1::Principal& caller,
                          const v1::PushRequest& request,
                          const Limits& limits) {
  const auto& ms = request.mutations();
  if (static_cast<size_t>(ms.size()) > limits.max_push_mutations) {
    return absl::InvalidArgumentError(
        absl::StrCat("mutations: ", ms.size(), " mutations, over the limit of ",
                     limits.max_push_mutations, " per Push"));
  }
  for (int i = 0; i < ms.size(); ++i) {
    if (ms[i].client_id() != caller.client_id()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "mutations[", i, "].client_id: is not the caller's client id"));
    }
  }
  if (!ms.empty() && ms[0].client_seq() == 0) {
    return absl::InvalidArgumentError(
        "mutations[0].client_seq: must be at least 1, got 0");
  }
  for (int i = 1; i < ms.size(); ++i) {
    const uint64_t want = ms[0].client_seq() + i;
    if (ms[i].client_seq() != want) {
      return absl::InvalidArgumentError(
          absl::StrCat("mutations[", i, "].client_seq: must be ", want,
                       " (consecutive), got ", ms[i].client_seq()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckEntryVisible(const v1::Principal& caller,
                               absl::string_view entry, uint64_t index) {
  if (caller.role() != v1::ROLE_INSPECTOR) return absl::OkStatus();
  v1::Event event;
  if (!event.ParseFromArray(entry.data(), entry.size()) ||
      event.origin().client_id() != caller.client_id()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "leaf ", index,
        " is not the caller's; inspectors may read only their own"));
  }
  return absl::OkStatus();
}

bool IsRejection(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kOutOfRange:
      return true;
    default:
      return false;
  }
}

v1::Rejection ToRejection(const absl::Status& status) {
  v1::Rejection rejection;
  rejection.set_code(static_cast<int32_t>(status.code()));
  const absl::string_view text = status.message();
  const size_t colon = text.find(": ");
  const bool has_field =
      colon != absl::string_view::npos &&
      text.substr(0, colon).find(' ') == absl::string_view::npos;
  if (has_field) {
    rejection.set_field(std::string(text.substr(0, colon)));
    rejection.set_message(std::string(text.substr(colon + 2)));
  } else {
    rejection.set_message(std::string(text));
  }
  return rejection;
}

absl::StatusOr<v1::PushResponse> ApplyPush(Txn& txn,
                                           const v1::Principal& caller,
                                           const v1::PushRequest& request,
                                           absl::Time now,
                                           const Limits& limits) {
  FL_RETURN_IF_ERROR(CheckRequest(caller, request, limits));
  FL_ASSIGN_OR_RETURN(uint64_t mark, txn.GetHighWaterMark(caller.client_id()));
  v1::PushResponse reply;
  if (!request.mutations().empty() &&
      request.mutations(0).client_seq() > mark + 1) {
    absl::Status gap = absl::FailedPreconditionError(absl::StrCat(
        "mutations[0].client_seq: ", request.mutations(0).client_seq(),
        " leaves a gap after the high-water mark ", mark, "; resend from ",
        mark + 1));
    gap.SetPayload(kHighWaterMarkPayload, absl::Cord(absl::StrCat(mark)));
    return gap;
  }
  const uint64_t old_mark = mark;
  for (const v1::Mutation& m : request.mutations()) {
    v1::MutationResult* result = reply.add_results();
    if (m.client_seq() <= old_mark) {
      FL_ASSIGN_OR_RETURN(std::optional<v1::MutationResult> stored,
                          txn.GetResult(caller.client_id(), m.client_seq()));
      if (stored) *result = *std::move(stored);
      result->set_client_seq(m.client_seq());
      if (result->outcome() != v1::OUTCOME_REJECTED) {
        result->set_outcome(v1::OUTCOME_ALREADY_APPLIED);
      }
      continue;
    }
    FL_ASSIGN_OR_RETURN(*result, ApplyNew(txn, caller, m, now, limits));
    FL_RETURN_IF_ERROR(txn.PutResult(caller.client_id(), *result));
    mark = m.client_seq();
  }
  if (mark != old_mark) {
    FL_RETURN_IF_ERROR(txn.PutHighWaterMark(caller.client_id(), mark));
  }
  reply.set_high_water_mark(mark);
  return reply;
}

std::optional<uint64_t> HighWaterMarkOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kHighWaterMarkPayload);
  uint64_t mark;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &mark)) {
    return std::nullopt;
  }
  return mark;
}

absl::StatusOr<v1::PullResponse> Pull(FeedReader& feeds,
                                      const v1::Principal& caller,
                                      const v1::PullRequest& request) {
  v1::PullResponse reply;
  const std::string dataset = feeds.DatasetId();
  const uint64_t next_seq = feeds.NextSeq();
  v1::PullCursor cursor;
  if (!request.cursor().empty()) {
    const bool usable = cursor.ParseFromString(request.cursor()) &&
                        cursor.dataset() == dataset &&
                        cursor.registry_next() <= next_seq &&
                        cursor.own_next() <= next_seq;
    if (!usable) {
      reply.set_reset(true);
      cursor.Clear();
    }
  }
  cursor.set_dataset(dataset);

  uint32_t limit = request.limit() == 0 ? kDefaultPullLimit : request.limit();
  limit = std::min(limit, kMaxPullLimit);
  // One more than the limit from each feed tells whether more are waiting.
  FL_ASSIGN_OR_RETURN(
      std::vector<v1::Change> registry,
      feeds.ReadFeed(kRegistryAudience, cursor.registry_next(), limit + 1));
  std::vector<v1::Change> own;
  if (caller.role() == v1::ROLE_INSPECTOR) {
    FL_ASSIGN_OR_RETURN(own, feeds.ReadFeed(InspectorAudience(caller.name()),
                                            cursor.own_next(), limit + 1));
  }
  size_t r = 0, o = 0;
  while (static_cast<uint32_t>(reply.changes_size()) < limit &&
         (r < registry.size() || o < own.size())) {
    const bool take_registry =
        o == own.size() ||
        (r < registry.size() && registry[r].seq() < own[o].seq());
    v1::Change& change = take_registry ? registry[r++] : own[o++];
    if (take_registry) {
      cursor.set_registry_next(change.seq() + 1);
    } else {
      cursor.set_own_next(change.seq() + 1);
    }
    if (change.has_finding()) {
      FL_RETURN_IF_ERROR(AddFindingContent(feeds, *change.mutable_finding()));
    }
    *reply.add_changes() = std::move(change);
  }
  reply.set_more(r < registry.size() || o < own.size());
  reply.set_next_cursor(cursor.SerializeAsString());
  return reply;
}

}  // namespace fieldledger
