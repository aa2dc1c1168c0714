#include "client/field_client.h"

#include <filesystem>
#include <map>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/evidence_upload.h"
#include "core/status_macros.h"
#include "core/text.h"
#include "core/validation.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace fieldledger::client {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

void Apply(const FindingInput& in, v1::Finding& f) {
  if (in.unit_id) f.set_unit_id(*in.unit_id);
  if (in.category_id) f.set_category_id(*in.category_id);
  if (in.summary) f.set_summary(*in.summary);
  if (in.detail) f.set_detail(*in.detail);
  if (in.observed_at) SetTime(*in.observed_at, f.mutable_observed_at());
  if (in.location) {
    f.mutable_location()->set_latitude(in.location->first);
    f.mutable_location()->set_longitude(in.location->second);
  }
  if (in.severity) f.set_severity(*in.severity);
}

}  // namespace

const char* SyncStateName(SyncState state) {
  switch (state) {
    case SyncState::kPending:
      return "pending";
    case SyncState::kAccepted:
      return "accepted";
    case SyncState::kRejected:
      return "rejected";
  }
  return "?";
}

std::string FindingStatusName(v1::FindingStatus status) {
  switch (status) {
    case v1::FINDING_STATUS_UNSPECIFIED:
      return "-";
    case v1::FINDING_STATUS_REPORTED:
      return "reported";
    case v1::FINDING_STATUS_WITHDRAWN:
      return "withdrawn";
    default:
      break;
  }
  // A status from a newer server.
  std::string name = v1::FindingStatus_Name(status);
  if (absl::StartsWith(name, "FINDING_STATUS_")) name = name.substr(15);
  return name.empty() ? absl::StrCat(static_cast<int>(status))
                      : absl::AsciiStrToLower(name);
}

std::optional<v1::Severity> ParseSeverity(absl::string_view text) {
  if (text == "low") return v1::SEVERITY_LOW;
  if (text == "medium") return v1::SEVERITY_MEDIUM;
  if (text == "high") return v1::SEVERITY_HIGH;
  return std::nullopt;
}

std::string SeverityName(v1::Severity severity) {
  switch (severity) {
    case v1::SEVERITY_LOW:
      return "low";
    case v1::SEVERITY_HIGH:
      return "high";
    default:
      return "medium";
  }
}

absl::StatusOr<std::unique_ptr<FieldClient>> FieldClient::Open(
    const FieldClientOptions& options) {
  if (options.home.empty()) {
    return absl::InvalidArgumentError("home: is required");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.home, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("home ", options.home, ": ", ec.message()));
  }
  storage::OutboxOptions outbox_options;
  outbox_options.path =
      (std::filesystem::path(options.home) / "store").string();
  outbox_options.sync = options.sync_writes;
  FL_ASSIGN_OR_RETURN(std::unique_ptr<storage::Outbox> outbox,
                      storage::Outbox::Open(outbox_options));
  return std::unique_ptr<FieldClient>(
      new FieldClient(options, std::move(outbox)));
}

FieldClient::FieldClient(FieldClientOptions options,
                         std::unique_ptr<storage::Outbox> outbox)
    : options_(std::move(options)),
      outbox_(std::move(outbox)),
      local_((std::filesystem::path(options_.home) / "evidence").string()) {}

absl::StatusOr<storage::Credential> FieldClient::Enroll(
    const std::string& server, const std::string& code, bool force) {
  if (server.empty()) return absl::InvalidArgumentError("server: is required");
  if (code.empty()) return absl::InvalidArgumentError("code: is required");
  absl::StatusOr<storage::Credential> existing = outbox_->GetCredential();
  if (existing.ok() && !force) {
    return absl::FailedPreconditionError(absl::StrCat(
        "already enrolled as ", existing->pseudonym, " at ", existing->server));
  }
  if (!existing.ok() && !absl::IsNotFound(existing.status())) {
    return existing.status();
  }
  auto channel =
      grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  auto stub = v1::FieldSync::NewStub(channel);
  FL_ASSIGN_OR_RETURN(v1::EnrollResponse reply,
                      client::Enroll(*stub, code, options_.enroll_timeout));
  storage::Credential credential;
  credential.server = server;
  credential.token = reply.token();
  credential.client_id = reply.client_id();
  credential.pseudonym = reply.pseudonym();
  credential.role = reply.role();
  FL_RETURN_IF_ERROR(outbox_->PutCredential(credential));
  return credential;
}

absl::StatusOr<storage::Credential> FieldClient::GetCredential() const {
  return outbox_->GetCredential();
}

absl::Status FieldClient::CheckFinding(const v1::Finding& finding,
                                       absl::Time now) const {
  FL_RETURN_IF_ERROR(
      ValidateFindingShape("finding", finding, now, options_.limits));
  FL_ASSIGN_OR_RETURN(const bool pulled, outbox_->HasPulled());
  if (!pulled) return absl::OkStatus();  // The server will check.
  FL_ASSIGN_OR_RETURN(std::optional<v1::Unit> unit,
                      outbox_->GetUnit(finding.unit_id()));
  if (!unit) {
    return absl::NotFoundError(
        absl::StrCat("finding.unit_id: no unit \"", finding.unit_id(),
                     "\" in the registry pulled from the server"));
  }
  FL_ASSIGN_OR_RETURN(std::optional<v1::Category> category,
                      outbox_->GetCategory(finding.category_id()));
  if (!category) {
    return absl::NotFoundError(absl::StrCat(
        "finding.category_id: no category \"", finding.category_id(),
        "\" in the registry pulled from the server"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LocalEvidence::Prepared>> FieldClient::Attach(
    const FindingInput& input, v1::Finding& f) const {
  std::vector<LocalEvidence::Prepared> files;
  for (const std::string& path : input.evidence_files) {
    FL_ASSIGN_OR_RETURN(LocalEvidence::Prepared p,
                        local_.Prepare(path, options_.limits));
    *f.add_evidence() = p.ref;
    files.push_back(std::move(p));
  }
  return files;
}

absl::StatusOr<uint64_t> FieldClient::Record(
    const std::vector<LocalEvidence::Prepared>& files, v1::Mutation mutation) {
  for (const LocalEvidence::Prepared& p : files) {
    FL_RETURN_IF_ERROR(local_.Keep(p));
  }
  return outbox_->Append(std::move(mutation));
}

absl::StatusOr<std::string> FieldClient::AddFinding(const FindingInput& input,
                                                    absl::Time now) {
  v1::Mutation mutation;
  v1::Finding* f = mutation.mutable_report_finding()->mutable_finding();
  f->set_id(NewUuidV7(now));
  SetTime(now, f->mutable_observed_at());
  Apply(input, *f);
  FL_ASSIGN_OR_RETURN(auto files, Attach(input, *f));
  FL_RETURN_IF_ERROR(CheckFinding(*f, now));
  std::string id = f->id();
  FL_RETURN_IF_ERROR(Record(files, std::move(mutation)).status());
  return id;
}

absl::StatusOr<FindingView> FieldClient::Known(const std::string& id) const {
  FL_ASSIGN_OR_RETURN(std::vector<FindingView> views, Findings());
  for (FindingView& view : views) {
    if (view.finding.id() != id) continue;
    if (view.withdrawn_here ||
        view.server_status == v1::FINDING_STATUS_WITHDRAWN) {
      return absl::FailedPreconditionError(
          absl::StrCat("finding ", id, " is withdrawn"));
    }
    if (view.first_seq != 0 && view.sync_state == SyncState::kRejected &&
        view.rejected_action == "report") {
      return absl::FailedPreconditionError(absl::StrCat(
          "finding ", id, " was rejected by the server: ",
          view.rejection.field(), view.rejection.field().empty() ? "" : ": ",
          view.rejection.message()));
    }
    return std::move(view);
  }
  return absl::NotFoundError(
      absl::StrCat("no finding ", id, " on this device"));
}

absl::StatusOr<uint64_t> FieldClient::AmendFinding(const std::string& id,
                                                   const FindingInput& changes,
                                                   absl::Time now) {
  FL_ASSIGN_OR_RETURN(FindingView view, Known(id));
  v1::Mutation mutation;
  v1::Finding* f = mutation.mutable_amend_finding()->mutable_finding();
  *f = view.finding;
  Apply(changes, *f);
  FL_ASSIGN_OR_RETURN(auto files, Attach(changes, *f));
  FL_RETURN_IF_ERROR(CheckFinding(*f, now));
  return Record(files, std::move(mutation));
}

absl::StatusOr<uint64_t> FieldClient::WithdrawFinding(
    const std::string& id, const std::string& reason) {
  FL_RETURN_IF_ERROR(
      ValidateText("reason", reason, 0, options_.limits.max_note_chars));
  FL_RETURN_IF_ERROR(Known(id).status());
  v1::Mutation mutation;
  mutation.mutable_withdraw_finding()->set_finding_id(id);
  mutation.mutable_withdraw_finding()->set_reason(reason);
  return outbox_->Append(std::move(mutation));
}

absl::StatusOr<SyncReport> FieldClient::Sync(const SyncOptions& options,
                                             const std::string& server) {
  absl::StatusOr<storage::Credential> credential = outbox_->GetCredential();
  if (absl::IsNotFound(credential.status())) {
    return absl::FailedPreconditionError(
        "not enrolled: run `fieldledger enroll CODE` first");
  }
  FL_RETURN_IF_ERROR(credential.status());
  const std::string address = server.empty() ? credential->server : server;
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = v1::FieldSync::NewStub(channel);
  SyncClient sync(*outbox_, *stub, credential->token, credential->client_id,
                  options);
  FL_ASSIGN_OR_RETURN(SyncReport report, sync.Sync());
  FL_RETURN_IF_ERROR(
      UploadEvidence(*stub, credential->token, options, report.evidence));
  return report;
}

absl::Status FieldClient::UploadEvidence(v1::FieldSync::StubInterface& stub,
                                         const std::string& token,
                                         const SyncOptions& options,
                                         EvidenceSyncReport& report) {
  FL_ASSIGN_OR_RETURN(std::vector<FindingView> views, Findings());
  UploadOptions upload;
  upload.sleep = options.sleep;
  upload.initial_backoff = options.initial_backoff;
  upload.max_backoff = options.max_backoff;
  // The findings whose evidence the node needs, and the copies that serve
  // none of them.
  std::vector<const FindingView*> active;
  absl::flat_hash_set<std::string> needed;
  for (const FindingView& view : views) {
    const bool rejected_report = view.sync_state == SyncState::kRejected &&
                                 view.rejected_action == "report";
    const bool withdrawn = view.withdrawn_here ||
                           view.server_status == v1::FINDING_STATUS_WITHDRAWN;
    if (view.first_seq == 0 || rejected_report || withdrawn) continue;
    active.push_back(&view);
    for (const v1::EvidenceRef& ref : view.finding.evidence()) {
      needed.insert(ref.sha256());
    }
  }
  FL_ASSIGN_OR_RETURN(std::vector<std::string> copies, local_.List());
  for (const std::string& sha256 : copies) {
    if (needed.contains(sha256)) continue;
    FL_RETURN_IF_ERROR(local_.Remove(sha256));
    ++report.dropped;
  }
  for (const FindingView* view : active) {
    for (const v1::EvidenceRef& ref : view->finding.evidence()) {
      if (!local_.Has(ref.sha256())) continue;
      absl::StatusOr<std::string> bytes = local_.Read(ref.sha256());
      absl::StatusOr<v1::UploadStatus> done =
          bytes.ok() ? client::UploadEvidence(stub, token, ref.media_type(),
                                              *bytes, upload)
                     : absl::StatusOr<v1::UploadStatus>(bytes.status());
      if (done.ok() && !done->complete()) {
        done = absl::UnavailableError("the node did not complete the upload");
      }
      if (!done.ok()) {
        report.failed.emplace_back(ref.sha256(), done.status());
        const absl::StatusCode code = done.status().code();
        if (code == absl::StatusCode::kDataLoss ||
            code == absl::StatusCode::kInvalidArgument) {
          continue;  // this piece's own problem
        }
        return absl::OkStatus();  // the node is not reachable: next sync
      }
      FL_RETURN_IF_ERROR(local_.Remove(ref.sha256()));
      ++report.uploaded;
      report.bytes += ref.size_bytes();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<FindingView>> FieldClient::Findings() const {
  FL_ASSIGN_OR_RETURN(std::vector<storage::OutboxEntry> entries,
                      outbox_->Read(1, 0));
  std::vector<FindingView> views;
  std::map<std::string, size_t> index;
  std::map<std::string, bool> pending;
  for (const storage::OutboxEntry& entry : entries) {
    const v1::Mutation& m = entry.mutation;
    std::string id;
    std::string action;
    const v1::Finding* content = nullptr;
    switch (m.payload_case()) {
      case v1::Mutation::kReportFinding:
        content = &m.report_finding().finding();
        id = content->id();
        action = "report";
        break;
      case v1::Mutation::kAmendFinding:
        content = &m.amend_finding().finding();
        id = content->id();
        action = "amend";
        break;
      case v1::Mutation::kWithdrawFinding:
        id = m.withdraw_finding().finding_id();
        action = "withdraw";
        break;
      case v1::Mutation::PAYLOAD_NOT_SET:
        continue;
    }
    auto [it, added] = index.emplace(id, views.size());
    if (added) {
      views.emplace_back();
      views.back().finding.set_id(id);
      views.back().first_seq = m.client_seq();
    }
    FindingView& view = views[it->second];
    const bool rejected = entry.state == storage::MutationState::kRejected;
    if (content != nullptr && !rejected) view.finding = *content;
    if (action == "withdraw" && !rejected) view.withdrawn_here = true;
    if (entry.state == storage::MutationState::kPending) pending[id] = true;
    view.sync_state = rejected ? SyncState::kRejected
                      : entry.state == storage::MutationState::kPending
                          ? SyncState::kPending
                          : SyncState::kAccepted;
    view.rejected_action = rejected ? action : "";
    view.rejection = rejected ? entry.rejection : v1::Rejection();
    // A rejected report leaves nothing else to show but what was typed.
    if (content != nullptr && rejected && view.finding.unit_id().empty()) {
      view.finding = *content;
    }
  }
  for (auto& [id, is_pending] : pending) {
    if (is_pending) views[index[id]].sync_state = SyncState::kPending;
  }
  FL_ASSIGN_OR_RETURN(std::vector<v1::FindingUpdate> updates,
                      outbox_->GetFindingUpdates());
  for (const v1::FindingUpdate& update : updates) {
    auto it = index.find(update.finding().id());
    if (it == index.end()) {
      FindingView view;
      view.finding = update.finding();
      view.sync_state = SyncState::kAccepted;
      view.server_status = update.status();
      view.server_evidence_pending = update.evidence_pending();
      views.push_back(std::move(view));
      continue;
    }
    FindingView& view = views[it->second];
    view.server_status = update.status();
    view.server_evidence_pending = update.evidence_pending();
    if (view.sync_state == SyncState::kAccepted)
      view.finding = update.finding();
  }
  for (FindingView& view : views) {
    for (const v1::EvidenceRef& ref : view.finding.evidence()) {
      if (local_.Has(ref.sha256())) continue;
      ++view.evidence_uploaded;
      view.evidence_bytes_uploaded += ref.size_bytes();
    }
  }
  return views;
}

absl::StatusOr<storage::PulledRegistry> FieldClient::Registry() const {
  return outbox_->GetRegistry();
}

}  // namespace fieldledger::client
