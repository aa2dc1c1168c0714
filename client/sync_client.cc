#include "client/sync_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/rpc.h"
#include "core/status_macros.h"

namespace fieldledger::client {
namespace {

constexpr char kMarkTrailer[] = "fieldledger-high-water-mark";

std::string FindingIdOf(const v1::Mutation& m) {
  switch (m.payload_case()) {
    case v1::Mutation::kReportFinding:
      return m.report_finding().finding().id();
    case v1::Mutation::kAmendFinding:
      return m.amend_finding().finding().id();
    case v1::Mutation::kWithdrawFinding:
      return m.withdraw_finding().finding_id();
    case v1::Mutation::PAYLOAD_NOT_SET:
      break;
  }
  return "";
}

std::string ActionOf(const v1::Mutation& m) {
  switch (m.payload_case()) {
    case v1::Mutation::kReportFinding:
      return "report";
    case v1::Mutation::kAmendFinding:
      return "amend";
    case v1::Mutation::kWithdrawFinding:
      return "withdraw";
    case v1::Mutation::PAYLOAD_NOT_SET:
      break;
  }
  return "unknown";
}

}  // namespace

SyncClient::SyncClient(storage::Outbox& outbox,
                       v1::FieldSync::StubInterface& stub, std::string token,
                       std::string client_id, SyncOptions options)
    : outbox_(outbox),
      stub_(stub),
      token_(std::move(token)),
      client_id_(std::move(client_id)),
      options_(std::move(options)),
      rng_(std::random_device{}()) {}

absl::Status SyncClient::Retry(const std::function<absl::Status()>& rpc,
                               int* retries) {
  const int attempts = std::max(1, options_.max_attempts);
  absl::Status status;
  for (int attempt = 1;; ++attempt) {
    status = rpc();
    if (status.ok() || !IsTransient(status.code()) || attempt >= attempts) {
      return status;
    }
    ++*retries;
    const absl::Duration wait = FullJitterBackoff(
        attempt, options_.initial_backoff, options_.max_backoff, rng_);
    if (wait > absl::ZeroDuration() && options_.sleep) options_.sleep(wait);
  }
}

absl::Status SyncClient::CallPush(const v1::PushRequest& request,
                                  v1::PushResponse* reply,
                                  std::optional<uint64_t>* trailer_mark) {
  grpc::ClientContext context;
  PrepareContext(context, token_, options_.rpc_timeout);
  reply->Clear();
  const grpc::Status status = stub_.Push(&context, request, reply);
  trailer_mark->reset();
  if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    const auto& trailers = context.GetServerTrailingMetadata();
    auto it = trailers.find(kMarkTrailer);
    uint64_t mark = 0;
    if (it != trailers.end() &&
        absl::SimpleAtoi(
            absl::string_view(it->second.data(), it->second.size()), &mark)) {
      *trailer_mark = mark;
    }
  }
  return FromGrpc(status, "Push");
}

absl::StatusOr<uint64_t> SyncClient::FetchHighWaterMark() {
  v1::PushRequest empty;
  v1::PushResponse reply;
  std::optional<uint64_t> unused;
  int retries = 0;
  FL_RETURN_IF_ERROR(
      Retry([&] { return CallPush(empty, &reply, &unused); }, &retries));
  return reply.high_water_mark();
}

absl::StatusOr<PushReport> SyncClient::Push() {
  PushReport report;
  size_t batch = std::clamp<size_t>(options_.batch_size, 1, kMaxPushBatch);

  FL_ASSIGN_OR_RETURN(const uint64_t server_mark, FetchHighWaterMark());
  report.high_water_mark = server_mark;
  if (server_mark > outbox_.last_seq()) {
    FL_RETURN_IF_ERROR(outbox_.Rebase(server_mark));
    report.rebased_to = server_mark;
  } else if (server_mark < outbox_.acked_mark()) {
    FL_RETURN_IF_ERROR(outbox_.SetAckedMark(server_mark));
    report.resent_from = server_mark + 1;
  }

  int gaps = 0;
  while (true) {
    FL_ASSIGN_OR_RETURN(std::vector<storage::OutboxEntry> entries,
                        outbox_.Unsettled(batch));
    if (entries.empty()) break;
    v1::PushRequest request;
    for (storage::OutboxEntry& entry : entries) {
      v1::Mutation* m = request.add_mutations();
      *m = std::move(entry.mutation);
      m->set_client_id(client_id_);
    }
    v1::PushResponse reply;
    std::optional<uint64_t> gap_mark;
    const absl::Status status = Retry(
        [&] { return CallPush(request, &reply, &gap_mark); }, &report.retries);

    if (status.code() == absl::StatusCode::kFailedPrecondition) {
      if (!gap_mark) {
        return absl::FailedPreconditionError(absl::StrCat(
            status.message(), " (and no ", kMarkTrailer, " trailer)"));
      }
      if (++gaps > options_.max_gap_resends) {
        return absl::FailedPreconditionError(absl::StrCat(
            status.message(), " (still a gap after ", gaps - 1, " resends)"));
      }
      if (*gap_mark > outbox_.last_seq()) {
        FL_RETURN_IF_ERROR(outbox_.Rebase(*gap_mark));
        report.rebased_to = *gap_mark;
      } else {
        FL_RETURN_IF_ERROR(outbox_.SetAckedMark(*gap_mark));
        report.resent_from = *gap_mark + 1;
      }
      continue;
    }
    if (status.code() == absl::StatusCode::kInvalidArgument &&
        absl::StrContains(status.message(), "over the limit") && batch > 1) {
      batch /= 2;
      ++report.batch_halvings;
      continue;
    }
    FL_RETURN_IF_ERROR(status);

    const uint64_t before = outbox_.acked_mark();
    std::vector<v1::MutationResult> results(reply.results().begin(),
                                            reply.results().end());
    FL_RETURN_IF_ERROR(outbox_.RecordResults(results, reply.high_water_mark()));
    report.pushed += request.mutations_size();
    report.high_water_mark = reply.high_water_mark();
    for (const v1::MutationResult& result : results) {
      if (result.outcome() == v1::OUTCOME_REJECTED) {
        ++report.rejected;
        RejectedMutation rejected;
        rejected.client_seq = result.client_seq();
        rejected.rejection = result.rejection();
        for (const v1::Mutation& m : request.mutations()) {
          if (m.client_seq() == result.client_seq()) {
            rejected.finding_id = FindingIdOf(m);
            rejected.action = ActionOf(m);
          }
        }
        report.rejections.push_back(std::move(rejected));
      } else {
        ++report.accepted;
      }
    }
    if (outbox_.acked_mark() <= before) {
      return absl::InternalError(
          absl::StrCat("Push: the server settled nothing (high-water mark ",
                       reply.high_water_mark(), " for mutations from ",
                       request.mutations(0).client_seq(), ")"));
    }
  }
  return report;
}

absl::StatusOr<PullReport> SyncClient::Pull() {
  PullReport report;
  FL_ASSIGN_OR_RETURN(std::string cursor, outbox_.GetCursor());
  while (true) {
    if (report.pages >= options_.max_pull_pages) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "Pull: still more after ", report.pages, " pages; sync again"));
    }
    v1::PullRequest request;
    request.set_cursor(cursor);
    request.set_limit(options_.pull_limit);
    v1::PullResponse reply;
    FL_RETURN_IF_ERROR(Retry(
        [&] {
          grpc::ClientContext context;
          PrepareContext(context, token_, options_.rpc_timeout);
          reply.Clear();
          return FromGrpc(stub_.Pull(&context, request, &reply), "Pull");
        },
        &report.retries));
    ++report.pages;
    FL_RETURN_IF_ERROR(outbox_.ApplyPull(reply));
    report.reset = report.reset || reply.reset();
    report.changes += reply.changes_size();
    cursor = reply.next_cursor();
    if (!reply.more()) break;
  }
  return report;
}

absl::StatusOr<SyncReport> SyncClient::Sync() {
  SyncReport report;
  FL_ASSIGN_OR_RETURN(report.push, Push());
  FL_ASSIGN_OR_RETURN(report.pull, Pull());
  return report;
}

absl::StatusOr<v1::EnrollResponse> Enroll(v1::FieldSync::StubInterface& stub,
                                          const std::string& code,
                                          absl::Duration timeout) {
  grpc::ClientContext context;
  PrepareContext(context, "", timeout);
  v1::EnrollRequest request;
  request.set_code(code);
  v1::EnrollResponse reply;
  FL_RETURN_IF_ERROR(
      FromGrpc(stub.Enroll(&context, request, &reply), "Enroll"));
  return reply;
}

}  // namespace fieldledger::client
