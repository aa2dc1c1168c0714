// fieldledger: the inspector's and the admin's command line. Findings are
// recorded locally first and reach the server on `fieldledger sync`.
// Run `fieldledger help` for the commands.
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/admin_client.h"
#include "client/args.h"
#include "client/evidence_download.h"
#include "client/evidence_upload.h"
#include "client/field_client.h"
#include "client/ledger_client.h"
#include "client/local_evidence.h"
#include "client/reports_client.h"
#include "client/supervision_client.h"
#include "client/table.h"
#include "core/case.h"
#include "core/report.h"
#include "core/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace fieldledger::client {
namespace {

constexpr char kDefaultServer[] = "127.0.0.1:50051";
constexpr char kDefaultAdminTokenFile[] = "./data/admin.token";

// A usage error (exit status 2 instead of 1) is an INVALID_ARGUMENT status
// with this payload.
constexpr char kUsagePayload[] = "fieldledger/usage";

absl::Status UsageError(std::string message) {
  absl::Status status = absl::InvalidArgumentError(std::move(message));
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

using Handler = std::function<absl::Status(const ParsedArgs&)>;

struct Command {
  std::vector<std::string> words;   // e.g. {"admin", "region", "add"}
  std::string positional;           // e.g. "CODE"; empty when none
  std::vector<OptionSpec> options;  // besides the global ones
  std::string help;
  Handler run;
};

const std::vector<OptionSpec>& GlobalOptions() {
  static const auto* specs = new std::vector<OptionSpec>{
      {"home", OptionKind::kValue, false,
       "the device's directory (default ~/.fieldledger)"},
      {"help", OptionKind::kFlag, false, "show usage"},
  };
  return *specs;
}

std::string DefaultHome() {
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr && *home != '\0' ? home : ".",
                      "/.fieldledger");
}

std::string FormatLocal(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M", t, absl::LocalTimeZone());
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

// The home-based client for the commands that need one.
absl::StatusOr<std::unique_ptr<FieldClient>> OpenClient(const ParsedArgs& a) {
  FieldClientOptions options;
  options.home = a.GetOr("home", DefaultHome());
  return FieldClient::Open(options);
}

absl::StatusOr<std::unique_ptr<AdminClient>> OpenAdmin(const ParsedArgs& a) {
  const std::string path = a.GetOr("admin-token-file", kDefaultAdminTokenFile);
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read the admin token file ",
                                            path, " (use --admin-token-file)"));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(text.str()));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the admin token file ", path, " is empty"));
  }
  return AdminClient::Connect(a.GetOr("server", kDefaultServer),
                              std::move(token));
}

// Reads the finding options shared by `finding add` and `finding amend`.
absl::StatusOr<FindingInput> ReadFindingInput(const ParsedArgs& a) {
  FindingInput in;
  in.unit_id = a.Get("unit");
  in.category_id = a.Get("category");
  in.summary = a.Get("summary");
  in.detail = a.Get("detail");
  in.evidence_files = a.GetAll("evidence");
  if (auto text = a.Get("observed-at")) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, *text, &t, &err)) {
      return UsageError(
          absl::StrCat("--observed-at: not an RFC 3339 time (e.g. "
                       "2024-09-02T08:30:00+08:00): ",
                       *text));
    }
    in.observed_at = t;
  }
  if (a.Has("lat") != a.Has("lon")) {
    return UsageError("--lat and --lon go together");
  }
  if (a.Has("lat")) {
    double lat = 0, lon = 0;
    if (!absl::SimpleAtod(*a.Get("lat"), &lat) ||
        !absl::SimpleAtod(*a.Get("lon"), &lon)) {
      return UsageError("--lat and --lon must be numbers (degrees)");
    }
    in.location = std::make_pair(lat, lon);
  }
  if (auto text = a.Get("severity")) {
    in.severity = ParseSeverity(*text);
    if (!in.severity) {
      return UsageError(
          absl::StrCat("--severity: must be low, medium or high, got ", *text));
    }
  }
  return in;
}

std::string SyncCell(const FindingView& v) {
  if (v.sync_state != SyncState::kRejected) {
    return v.withdrawn_here && v.sync_state == SyncState::kPending
               ? "pending (withdraw)"
               : SyncStateName(v.sync_state);
  }
  std::string reason =
      v.rejection.field().empty()
          ? v.rejection.message()
          : absl::StrCat(v.rejection.field(), ": ", v.rejection.message());
  return absl::StrCat("rejected (", v.rejected_action, "): ", reason);
}

// Bytes as MiB with one decimal, e.g. "2.4".
std::string Mib(uint64_t bytes) {
  return absl::StrFormat("%.1f", static_cast<double>(bytes) / (1 << 20));
}

// "evidence 1/2 uploaded, 1.2/2.4 MiB"; "" without evidence.
std::string EvidenceCell(const FindingView& v) {
  const v1::Finding& f = v.finding;
  if (f.evidence().empty()) return "";
  if (v.first_seq == 0) {  // recorded on another device
    return v.server_evidence_pending ? "evidence pending on the node"
                                     : "evidence complete on the node";
  }
  uint64_t total = 0;
  for (const v1::EvidenceRef& ref : f.evidence()) total += ref.size_bytes();
  return absl::StrCat("evidence ", v.evidence_uploaded, "/", f.evidence_size(),
                      " uploaded, ", Mib(v.evidence_bytes_uploaded), "/",
                      Mib(total), " MiB");
}

// --- Commands -----------------------------------------------------------

absl::Status RunEnroll(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto client, OpenClient(a));
  FL_ASSIGN_OR_RETURN(storage::Credential c,
                      client->Enroll(a.GetOr("server", kDefaultServer),
                                     a.positionals[0], a.Has("force")));
  std::cout << "enrolled as " << c.pseudonym << " at " << c.server;
  if (!c.client_id.empty()) std::cout << " (client " << c.client_id << ")";
  std::cout << "\n";
  return absl::OkStatus();
}

absl::Status RunFindingAdd(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(FindingInput input, ReadFindingInput(a));
  FL_ASSIGN_OR_RETURN(auto client, OpenClient(a));
  FL_ASSIGN_OR_RETURN(std::string id, client->AddFinding(input, absl::Now()));
  std::cout << id << "\n";
  return absl::OkStatus();
}

absl::Status RunFindingAmend(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(FindingInput input, ReadFindingInput(a));
  FL_ASSIGN_OR_RETURN(auto client, OpenClient(a));
  FL_ASSIGN_OR_RETURN(
      uint64_t seq, client->AmendFinding(a.positionals[0], input, absl::Now()));
  std::cout << "amendment of " << a.positionals[0] << " recorded (#" << seq
            << ", pending sync)\n";
  return absl::OkStatus();
}

absl::Status RunFindingWithdraw(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto client, OpenClient(a));
  FL_ASSIGN_OR_RETURN(
      uint64_t seq,
      client->WithdrawFinding(a.positionals[0], a.GetOr("reason", "")));
  std::cout << "withdrawal of " << a.positionals[0] << " recorded (#" << seq
            << ", pending sync)\n";
  return absl::OkStatus();
}

absl::Status RunVerify(const ParsedArgs& a);

absl::Status RunSync(const ParsedArgs& a) {
  SyncOptions options;
  if (auto text = a.Get("batch-size")) {
    if (!absl::SimpleAtoi(*text, &options.batch_size) ||
        options.batch_size == 0 || options.batch_size > kMaxPushBatch) {
      return UsageError(absl::StrCat("--batch-size: must be 1 to ",
                                     kMaxPushBatch, ", got ", *text));
    }
  }
  FL_ASSIGN_OR_RETURN(auto client, OpenClient(a));
  absl::StatusOr<SyncReport> report =
      client->Sync(options, a.GetOr("server", ""));
  if (!report.ok()) {
    return absl::Status(
        report.status().code(),
        absl::StrCat(report.status().message(),
                     " (recorded findings stay on this device; sync again "
                     "later)"));
  }
  const PushReport& push = report->push;
  std::cout << "pushed " << push.pushed << " mutation"
            << (push.pushed == 1 ? "" : "s") << ": " << push.accepted
            << " accepted, " << push.rejected << " rejected\n";
  if (push.resent_from != 0) {
    std::cout << "  the server knew less than this device (restored from a "
                 "backup?): resent from #"
              << push.resent_from << "\n";
  }
  if (push.rebased_to != 0) {
    std::cout << "  the server knew more than this device: unsettled "
                 "mutations renumbered after #"
              << push.rebased_to << "\n";
  }
  for (const RejectedMutation& r : push.rejections) {
    std::cout << "  rejected #" << r.client_seq << " " << r.action << " "
              << r.finding_id << ": "
              << (r.rejection.field().empty() ? "" : r.rejection.field() + ": ")
              << r.rejection.message() << "\n";
  }
  const EvidenceSyncReport& evidence = report->evidence;
  if (evidence.uploaded > 0 || !evidence.failed.empty()) {
    std::cout << "uploaded " << evidence.uploaded << " piece"
              << (evidence.uploaded == 1 ? "" : "s") << " of evidence ("
              << Mib(evidence.bytes) << " MiB)";
    if (!evidence.failed.empty()) {
      std::cout << ", " << evidence.failed.size() << " not uploaded (kept "
                << "on this device)";
    }
    std::cout << "\n";
  }
  if (evidence.dropped > 0) {
    std::cout << "removed " << evidence.dropped << " evidence cop"
              << (evidence.dropped == 1 ? "y" : "ies")
              << " of withdrawn or rejected findings from this device\n";
  }
  absl::Status first_failure;
  for (const auto& [sha256, why] : evidence.failed) {
    std::cout << "  evidence " << sha256 << ": "
              << absl::StatusCodeToString(why.code()) << ": " << why.message()
              << "\n";
    first_failure.Update(why);
  }
  std::cout << "pulled " << report->pull.changes << " change"
            << (report->pull.changes == 1 ? "" : "s")
            << (report->pull.reset
                    ? " (the server reset the cursor: pulled data reloaded)"
                    : "")
            << "\n";
  // Then prove what the server acknowledged: this device's events in its
  // latest signed checkpoint. A contradiction fails the sync loudly; not
  // being able to check this time does not.
  client.reset();  // the ledger session opens the same local store
  const absl::Status verified = RunVerify(a);
  if (verified.code() == absl::StatusCode::kDataLoss) return verified;
  if (!verified.ok()) {
    std::cerr << "fieldledger: the ledger was not verified this time: "
              << verified.message() << "\n";
  }
  return first_failure;
}

absl::Status RunFindings(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto client, OpenClient(a));
  FL_ASSIGN_OR_RETURN(std::vector<FindingView> views, client->Findings());
  if (views.empty()) {
    std::cout << "no findings on this device\n";
    return absl::OkStatus();
  }
  Table table({"ID", "OBSERVED", "UNIT", "CATEGORY", "SEVERITY", "SUMMARY",
               "SYNC", "SERVER", "EVIDENCE"});
  table.SetMaxWidth(5, 40);
  table.SetMaxWidth(6, 70);
  for (const FindingView& v : views) {
    const v1::Finding& f = v.finding;
    table.AddRow(
        {f.id(),
         f.has_observed_at() ? FormatLocal(FromProto(f.observed_at())) : "",
         f.unit_id(), f.category_id(), SeverityName(f.severity()), f.summary(),
         SyncCell(v), FindingStatusName(v.server_status), EvidenceCell(v)});
  }
  std::cout << table.Render();
  return absl::OkStatus();
}

void PrintCampaigns(const std::vector<v1::Campaign>& campaigns) {
  Table table({"ID", "NAME", "DATES", "CATEGORIES", "UNITS"});
  table.SetMaxWidth(1, 40);
  table.SetMaxWidth(4, 40);
  for (const v1::Campaign& c : campaigns) {
    table.AddRow({c.id(), c.name(),
                  absl::StrCat(c.start_date(), " – ", c.end_date()),
                  absl::StrJoin(c.category_ids(), ","),
                  absl::StrJoin(c.target_unit_ids(), ",")});
  }
  std::cout << table.Render();
}

void PrintRegions(const std::vector<v1::Region>& regions) {
  Table table({"ID", "NAME", "PARENT"});
  for (const v1::Region& r : regions) {
    table.AddRow({r.id(), r.name(), r.parent_id()});
  }
  std::cout << table.Render();
}

void PrintUnits(const std::vector<v1::Unit>& units) {
  Table table({"ID", "NAME", "REGION"});
  for (const v1::Unit& u : units)
    table.AddRow({u.id(), u.name(), u.region_id()});
  std::cout << table.Render();
}

void PrintCategories(const std::vector<v1::Category>& categories) {
  Table table({"ID", "NAME", "DESCRIPTION"});
  table.SetMaxWidth(2, 60);
  for (const v1::Category& c : categories) {
    table.AddRow({c.id(), c.name(), c.description()});
  }
  std::cout << table.Render();
}

absl::Status RunRegistry(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto client, OpenClient(a));
  FL_ASSIGN_OR_RETURN(const bool pulled, client->outbox().HasPulled());
  if (!pulled) {
    std::cout << "nothing pulled yet: run `fieldledger sync`\n";
    return absl::OkStatus();
  }
  FL_ASSIGN_OR_RETURN(storage::PulledRegistry r, client->Registry());
  std::cout << "regions (" << r.regions.size() << ")\n";
  PrintRegions(r.regions);
  std::cout << "\nunits (" << r.units.size() << ")\n";
  PrintUnits(r.units);
  std::cout << "\ncategories (" << r.categories.size() << ")\n";
  PrintCategories(r.categories);
  std::cout << "\ncampaigns you are sent on (" << r.campaigns.size() << ")\n";
  PrintCampaigns(r.campaigns);
  return absl::OkStatus();
}

absl::Status Created(absl::string_view what, const std::string& id,
                     absl::StatusOr<uint64_t> seq) {
  FL_RETURN_IF_ERROR(seq.status());
  std::cout << "created " << what << " " << id << " (event " << *seq << ")\n";
  return absl::OkStatus();
}

absl::Status RunRegionAdd(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto admin, OpenAdmin(a));
  v1::Region r;
  r.set_id(*a.Get("id"));
  r.set_name(*a.Get("name"));
  r.set_parent_id(a.GetOr("parent", ""));
  return Created("region", r.id(), admin->CreateRegion(r));
}

absl::Status RunRegionList(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto admin, OpenAdmin(a));
  FL_ASSIGN_OR_RETURN(std::vector<v1::Region> regions, admin->ListRegions());
  PrintRegions(regions);
  return absl::OkStatus();
}

absl::Status RunUnitAdd(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto admin, OpenAdmin(a));
  v1::Unit u;
  u.set_id(*a.Get("id"));
  u.set_name(*a.Get("name"));
  u.set_region_id(*a.Get("region"));
  return Created("unit", u.id(), admin->CreateUnit(u));
}

absl::Status RunUnitList(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto admin, OpenAdmin(a));
  FL_ASSIGN_OR_RETURN(std::vector<v1::Unit> units,
                      admin->ListUnits(a.GetOr("region", "")));
  PrintUnits(units);
  return absl::OkStatus();
}

absl::Status RunCategoryAdd(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto admin, OpenAdmin(a));
  v1::Category c;
  c.set_id(*a.Get("id"));
  c.set_name(*a.Get("name"));
  c.set_description(a.GetOr("description", ""));
  return Created("category", c.id(), admin->CreateCategory(c));
}

absl::Status RunCategoryList(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto admin, OpenAdmin(a));
  FL_ASSIGN_OR_RETURN(std::vector<v1::Category> categories,
                      admin->ListCategories());
  PrintCategories(categories);
  return absl::OkStatus();
}

absl::Status RunEnrollCode(const ParsedArgs& a) {
  const std::string role_name = *a.Get("role");
  v1::Role role = v1::ROLE_UNSPECIFIED;
  if (role_name == "inspector") role = v1::ROLE_INSPECTOR;
  if (role_name == "supervisor") role = v1::ROLE_SUPERVISOR;
  if (role_name == "unit-officer") role = v1::ROLE_UNIT_OFFICER;
  if (role_name == "auditor") role = v1::ROLE_AUDITOR;
  if (role == v1::ROLE_UNSPECIFIED) {
    return UsageError(absl::StrCat(
        "--role: must be inspector, supervisor, unit-officer or auditor, got ",
        role_name));
  }
  const std::string scope = a.GetOr("scope", "");
  if ((role == v1::ROLE_SUPERVISOR || role == v1::ROLE_UNIT_OFFICER) &&
      scope.empty()) {
    return UsageError(absl::StrCat(
        "--scope: required for ", role_name,
        role == v1::ROLE_SUPERVISOR ? " (a region id)" : " (a unit id)"));
  }
  uint32_t ttl = 0;
  if (auto text = a.Get("ttl"); text && !absl::SimpleAtoi(*text, &ttl)) {
    return UsageError(
        absl::StrCat("--ttl: must be a number of seconds, got ", *text));
  }
  FL_ASSIGN_OR_RETURN(auto admin, OpenAdmin(a));
  FL_ASSIGN_OR_RETURN(v1::CreateEnrollmentCodeResponse reply,
                      admin->CreateEnrollmentCode(role, ttl, scope));
  std::cout << reply.code() << "\n";
  std::cerr << "one-time code for "
            << (role == v1::ROLE_AUDITOR || role == v1::ROLE_INSPECTOR ? "an "
                                                                       : "a ")
            << role_name << (scope.empty() ? "" : " of ") << scope
            << "; expires " << FormatLocal(FromProto(reply.expires_at()))
            << "\n";
  return absl::OkStatus();
}

// --- The supervision office ---------------------------------------------

// Where the office commands go and whose token they send: --token-file
// (e.g. the admin's admin.token), else the credential this device enrolled
// with.
struct OfficeCredential {
  std::string server;
  std::string token;
};

absl::StatusOr<OfficeCredential> ResolveOffice(const ParsedArgs& a) {
  std::string token, server = a.GetOr("server", "");
  if (auto path = a.Get("token-file")) {
    std::ifstream in(*path);
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat("cannot read the token file ", *path));
    }
    std::stringstream text;
    text << in.rdbuf();
    token = std::string(absl::StripAsciiWhitespace(text.str()));
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the token file ", *path, " is empty"));
    }
  } else {
    FL_ASSIGN_OR_RETURN(auto client, OpenClient(a));
    absl::StatusOr<storage::Credential> c = client->GetCredential();
    if (!c.ok()) {
      return absl::FailedPreconditionError(
          "not enrolled: run `fieldledger enroll CODE` with a supervisor, "
          "unit officer or auditor code, or pass --token-file");
    }
    token = c->token;
    if (server.empty()) server = c->server;
  }
  if (server.empty()) server = kDefaultServer;
  return OfficeCredential{std::move(server), std::move(token)};
}

absl::StatusOr<std::unique_ptr<SupervisionClient>> OpenOffice(
    const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(OfficeCredential c, ResolveOffice(a));
  return SupervisionClient::Connect(c.server, std::move(c.token));
}

absl::StatusOr<std::unique_ptr<ReportsClient>> OpenReports(
    const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(OfficeCredential c, ResolveOffice(a));
  return ReportsClient::Connect(c.server, std::move(c.token));
}

std::vector<OptionSpec> OfficeOptions(std::vector<OptionSpec> own) {
  own.push_back({"server", OptionKind::kValue, false,
                 "host:port (default: where you enrolled)"});
  own.push_back({"token-file", OptionKind::kValue, false,
                 "a file holding the bearer token (default: this device's)"});
  return own;
}

std::string LocalTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "";
  return FormatLocal(FromProto(t));
}

// "2026-09-30" (the end of that local day) or an RFC 3339 time.
absl::StatusOr<google::protobuf::Timestamp> ParseWhen(absl::string_view flag,
                                                      const std::string& text) {
  absl::Time t;
  std::string err;
  absl::CivilDay day;
  if (absl::ParseCivilTime(text, &day)) {
    t = absl::FromCivil(day + 1, absl::LocalTimeZone()) - absl::Seconds(1);
  } else if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    return UsageError(absl::StrCat("--", flag,
                                   ": not a date (2026-09-30) or an RFC 3339 "
                                   "time, got ",
                                   text));
  }
  google::protobuf::Timestamp out;
  out.set_seconds(absl::ToUnixSeconds(t));
  return out;
}

// The lower-case status name, "rectification_submitted".
std::string StatusCell(v1::CaseStatus status) {
  std::string name = v1::CaseStatus_Name(status);
  if (absl::StartsWith(name, "CASE_STATUS_")) name = name.substr(12);
  return absl::AsciiStrToLower(name);
}

std::string IsOverdueCell(const v1::Case& c, absl::Time now) {
  return IsOverdue(c, now) ? "overdue" : "";
}

absl::StatusOr<v1::CaseStatus> ParseStatus(const std::string& text) {
  v1::CaseStatus status;
  if (!v1::CaseStatus_Parse(
          absl::StrCat("CASE_STATUS_", absl::AsciiStrToUpper(text)), &status) ||
      status == v1::CASE_STATUS_UNSPECIFIED) {
    return UsageError(absl::StrCat(
        "--status: must be reported, accepted, dismissed, withdrawn, "
        "assigned, rectification_submitted, evaluated or closed, got ",
        text));
  }
  return status;
}

// The ListCases filters of `case list` and `export`.
absl::StatusOr<v1::ListCasesRequest> ReadCaseFilter(const ParsedArgs& a) {
  v1::ListCasesRequest request;
  request.set_region_id(a.GetOr("region", ""));
  request.set_unit_id(a.GetOr("unit", ""));
  request.set_category_id(a.GetOr("category", ""));
  request.set_campaign_id(a.GetOr("campaign", ""));
  request.set_overdue(a.Has("overdue"));
  request.set_page_cursor(a.GetOr("cursor", ""));
  if (auto text = a.Get("status")) {
    FL_ASSIGN_OR_RETURN(v1::CaseStatus status, ParseStatus(*text));
    request.set_status(status);
  }
  if (auto text = a.Get("from")) {
    FL_ASSIGN_OR_RETURN(*request.mutable_reported_from(),
                        ParseWhen("from", *text));
  }
  if (auto text = a.Get("to")) {
    FL_ASSIGN_OR_RETURN(*request.mutable_reported_to(), ParseWhen("to", *text));
  }
  if (auto text = a.Get("page-size")) {
    uint32_t size = 0;
    if (!absl::SimpleAtoi(*text, &size)) {
      return UsageError(absl::StrCat("--page-size: not a number: ", *text));
    }
    request.set_page_size(size);
  }
  return request;
}

absl::Status RunCaseList(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(v1::ListCasesRequest request, ReadCaseFilter(a));
  FL_ASSIGN_OR_RETURN(auto office, OpenOffice(a));
  FL_ASSIGN_OR_RETURN(v1::ListCasesResponse reply, office->ListCases(request));
  if (reply.cases().empty()) {
    std::cout << "no cases\n";
  } else {
    const absl::Time now = absl::Now();
    Table table({"ID", "REPORTED", "STATUS", "V", "UNIT", "CATEGORY",
                 "RESPONSIBLE", "DEADLINE", ""});
    for (const v1::Case& c : reply.cases()) {
      table.AddRow({c.id(), LocalTime(c.reported_at()), StatusCell(c.status()),
                    absl::StrCat(c.version()), c.unit_id(), c.category_id(),
                    c.assignment().unit_id(), LocalTime(c.deadline()),
                    IsOverdueCell(c, now)});
    }
    std::cout << table.Render();
  }
  if (!reply.next_page_cursor().empty()) {
    std::cout << "more: --cursor " << reply.next_page_cursor() << "\n";
  }
  return absl::OkStatus();
}

std::string EventCell(const v1::Event& e) {
  switch (e.body_case()) {
    case v1::Event::kFindingReported:
      return absl::StrCat("reported: ", e.finding_reported().summary());
    case v1::Event::kFindingAmended:
      return absl::StrCat("amended: ", e.finding_amended().summary());
    case v1::Event::kFindingWithdrawn:
      return "withdrawn by the reporter";
    case v1::Event::kCaseAccepted:
      return absl::StrCat("accepted ", e.case_accepted().note());
    case v1::Event::kCaseDismissed: {
      const v1::Dismissal& d = e.case_dismissed().dismissal();
      return absl::StrCat("dismissed: ",
                          d.reason() == v1::DISMISSAL_REASON_DUPLICATE
                              ? absl::StrCat("duplicate of ", d.duplicate_of())
                              : std::string("rejected"),
                          d.note().empty() ? "" : " — ", d.note());
    }
    case v1::Event::kCaseAssigned: {
      const v1::Assignment& x = e.case_assigned().assignment();
      return absl::StrCat("assigned to ", x.unit_id(), " (", x.person().name(),
                          ", ", x.person().post(), ") by ", x.assigned_by(),
                          ", deadline ", LocalTime(x.deadline()));
    }
    case v1::Event::kRectificationSubmitted: {
      const v1::Rectification& r = e.rectification_submitted().rectification();
      return absl::StrCat("rectification (round ", r.round(), "): ", r.text(),
                          r.evidence().empty() ? "" : " [",
                          r.evidence().empty()
                              ? ""
                              : absl::StrCat(r.evidence_size(), " evidence]"));
    }
    case v1::Event::kCaseEvaluated: {
      const v1::Evaluation& v = e.case_evaluated().evaluation();
      std::string rating = v1::Rating_Name(v.rating());
      if (absl::StartsWith(rating, "RATING_")) rating = rating.substr(7);
      return absl::StrCat(
          "evaluated: ", absl::AsciiStrToLower(rating),
          v.comment().empty() ? "" : " — ", v.comment(),
          v.has_new_deadline()
              ? absl::StrCat(", new deadline ", LocalTime(v.new_deadline()))
              : "");
    }
    case v1::Event::kCaseClosed:
      return absl::StrCat("closed ", e.case_closed().note());
    case v1::Event::kCaseEscalated: {
      const v1::Escalation& x = e.case_escalated().escalation();
      std::string kind = v1::EscalationKind_Name(x.kind());
      if (absl::StartsWith(kind, "ESCALATION_KIND_")) kind = kind.substr(16);
      return absl::StrCat("escalated: ", absl::AsciiStrToLower(kind), " — ",
                          x.subject(), x.detail().empty() ? "" : ": ",
                          x.detail());
    }
    default:
      return "";
  }
}

absl::Status RunCaseShow(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto office, OpenOffice(a));
  FL_ASSIGN_OR_RETURN(v1::GetCaseResponse reply,
                      office->GetCase(a.positionals[0]));
  const v1::Case& c = reply.case_();
  Table fields({"FIELD", "VALUE"});
  fields.AddRow({"id", c.id()});
  fields.AddRow({"status", StatusCell(c.status())});
  fields.AddRow({"version", absl::StrCat(c.version())});
  fields.AddRow({"unit", c.unit_id()});
  fields.AddRow({"category", c.category_id()});
  fields.AddRow({"regions", absl::StrJoin(c.region_path(), " > ")});
  fields.AddRow({"reported", LocalTime(c.reported_at())});
  if (c.has_assignment()) {
    fields.AddRow(
        {"responsible", absl::StrCat(c.assignment().unit_id(), " (",
                                     c.assignment().person().name(), ", ",
                                     c.assignment().person().post(), ")")});
    fields.AddRow({"deadline", LocalTime(c.deadline())});
    fields.AddRow({"round", absl::StrCat(c.round())});
  }
  fields.AddRow({"overdue", IsOverdueCell(c, absl::Now())});
  if (!c.evidence().empty()) {
    fields.AddRow({"evidence", c.evidence_pending() ? "pending" : "complete"});
  }
  std::cout << fields.Render();
  if (!c.evidence().empty()) {
    Table evidence({"SHA256", "FROM", "TYPE", "MIB", "STATE"});
    for (const v1::CaseEvidence& e : c.evidence()) {
      evidence.AddRow({e.ref().sha256(),
                       e.source() == v1::EVIDENCE_SOURCE_FINDING
                           ? "finding"
                           : absl::StrCat("rectification ", e.round()),
                       e.ref().media_type(), Mib(e.ref().size_bytes()),
                       e.complete() ? "complete" : "pending"});
    }
    std::cout << "\nevidence\n" << evidence.Render();
  }
  std::cout << "\nhistory\n";
  Table history({"SEQ", "TIME", "ACTOR", "EVENT"});
  history.SetMaxWidth(3, 80);
  for (const v1::Event& e : reply.history()) {
    history.AddRow({absl::StrCat(e.seq()), LocalTime(e.recorded_at()),
                    e.actor(), EventCell(e)});
  }
  std::cout << history.Render();
  return absl::OkStatus();
}

std::unique_ptr<v1::FieldSync::Stub> FieldSyncStub(const OfficeCredential& c) {
  return v1::FieldSync::NewStub(
      grpc::CreateChannel(c.server, grpc::InsecureChannelCredentials()));
}

// For a rectification report: strips, hashes and uploads FILE at once, and
// prints the reference `case rectify --evidence` takes.
absl::Status RunEvidencePut(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(OfficeCredential c, ResolveOffice(a));
  FL_ASSIGN_OR_RETURN(LocalEvidence::Prepared p,
                      LocalEvidence("").Prepare(a.positionals[0], Limits()));
  FL_ASSIGN_OR_RETURN(
      v1::UploadStatus done,
      UploadEvidence(*FieldSyncStub(c), c.token, p.ref.media_type(), p.bytes,
                     UploadOptions()));
  if (!done.complete()) {
    return absl::UnavailableError("the node did not complete the upload");
  }
  std::cout << p.ref.sha256() << ":" << p.ref.media_type() << ":"
            << p.ref.size_bytes() << "\n";
  return absl::OkStatus();
}

absl::Status RunEvidenceGet(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(OfficeCredential c, ResolveOffice(a));
  auto stub = FieldSyncStub(c);
  const std::string path = *a.Get("output");
  FL_ASSIGN_OR_RETURN(
      uint64_t size, DownloadEvidence(*stub, c.token, a.positionals[0],
                                      *a.Get("case"), path, absl::Minutes(10)));
  std::cout << "wrote " << size << " bytes to " << path
            << " (SHA-256 checked)\n";
  return absl::OkStatus();
}

// The case id and --version of a step command.
absl::StatusOr<v1::CaseAction> ActionOf(const ParsedArgs& a) {
  v1::CaseAction action;
  action.set_case_id(a.positionals[0]);
  if (auto text = a.Get("version")) {
    uint64_t version = 0;
    if (!absl::SimpleAtoi(*text, &version)) {
      return UsageError(absl::StrCat("--version: not a number: ", *text));
    }
    action.set_expected_version(version);
  }
  return action;
}

absl::Status RunStep(const ParsedArgs& a, const v1::CaseAction& action) {
  FL_ASSIGN_OR_RETURN(auto office, OpenOffice(a));
  FL_ASSIGN_OR_RETURN(v1::CaseActionResponse reply, office->Act(action));
  std::cout << "case " << action.case_id() << " now at version "
            << reply.version() << " (event " << reply.event_seq() << ")\n";
  return absl::OkStatus();
}

absl::Status RunCaseAccept(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(v1::CaseAction action, ActionOf(a));
  action.mutable_accept()->set_note(a.GetOr("note", ""));
  return RunStep(a, action);
}

absl::Status RunCaseDismiss(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(v1::CaseAction action, ActionOf(a));
  v1::Dismissal* d = action.mutable_dismiss();
  const std::string reason = *a.Get("reason");
  if (reason == "rejected") {
    d->set_reason(v1::DISMISSAL_REASON_REJECTED);
  } else if (reason == "duplicate") {
    d->set_reason(v1::DISMISSAL_REASON_DUPLICATE);
  } else {
    return UsageError(
        absl::StrCat("--reason: must be rejected or duplicate, got ", reason));
  }
  d->set_duplicate_of(a.GetOr("duplicate-of", ""));
  d->set_note(a.GetOr("note", ""));
  return RunStep(a, action);
}

absl::Status RunCaseAssign(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(v1::CaseAction action, ActionOf(a));
  v1::Assignment* x = action.mutable_assign();
  x->set_unit_id(*a.Get("unit"));
  x->mutable_person()->set_name(*a.Get("person"));
  x->mutable_person()->set_post(*a.Get("post"));
  FL_ASSIGN_OR_RETURN(*x->mutable_deadline(),
                      ParseWhen("deadline", *a.Get("deadline")));
  const std::string mechanism = *a.Get("mechanism");
  if (mechanism == "top-leader") {
    x->set_mechanism(v1::MECHANISM_TOP_LEADER);
  } else if (mechanism == "counterpart") {
    x->set_mechanism(v1::MECHANISM_COUNTERPART_COMMITTEE_MEMBER);
  } else if (mechanism == "joint") {
    x->set_mechanism(v1::MECHANISM_JOINT_DEPARTMENTS);
  } else {
    return UsageError(absl::StrCat(
        "--mechanism: must be top-leader, counterpart or joint, got ",
        mechanism));
  }
  x->set_assigned_by(*a.Get("by"));
  x->set_note(a.GetOr("note", ""));
  return RunStep(a, action);
}

absl::Status RunCaseRectify(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(v1::CaseAction action, ActionOf(a));
  v1::Rectification* r = action.mutable_submit_rectification();
  r->set_text(*a.Get("text"));
  if (auto list = a.Get("evidence")) {
    for (absl::string_view item :
         absl::StrSplit(*list, ',', absl::SkipEmpty())) {
      std::vector<std::string> parts = absl::StrSplit(item, ':');
      uint64_t size = 0;
      if (parts.size() != 3 || !absl::SimpleAtoi(parts[2], &size)) {
        return UsageError(absl::StrCat(
            "--evidence: each item is SHA256:MEDIA-TYPE:BYTES, got ", item));
      }
      v1::EvidenceRef* e = r->add_evidence();
      e->set_sha256(parts[0]);
      e->set_media_type(parts[1]);
      e->set_size_bytes(size);
    }
  }
  return RunStep(a, action);
}

absl::Status RunCaseEvaluate(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(v1::CaseAction action, ActionOf(a));
  v1::Evaluation* v = action.mutable_evaluate();
  const std::string rating = *a.Get("rating");
  if (rating == "satisfied") {
    v->set_rating(v1::RATING_SATISFIED);
  } else if (rating == "basically-satisfied") {
    v->set_rating(v1::RATING_BASICALLY_SATISFIED);
  } else if (rating == "unsatisfied") {
    v->set_rating(v1::RATING_UNSATISFIED);
  } else {
    return UsageError(absl::StrCat(
        "--rating: must be satisfied, basically-satisfied or unsatisfied, "
        "got ",
        rating));
  }
  v->set_comment(a.GetOr("comment", ""));
  if (auto text = a.Get("new-deadline")) {
    FL_ASSIGN_OR_RETURN(*v->mutable_new_deadline(),
                        ParseWhen("new-deadline", *text));
  }
  return RunStep(a, action);
}

absl::Status RunCaseClose(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(v1::CaseAction action, ActionOf(a));
  action.mutable_close()->set_note(a.GetOr("note", ""));
  return RunStep(a, action);
}

absl::Status RunCaseEscalate(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(v1::CaseAction action, ActionOf(a));
  v1::Escalation* x = action.mutable_escalate();
  const std::string kind = *a.Get("kind");
  if (kind == "talk") {
    x->set_kind(v1::ESCALATION_KIND_TALK);
  } else if (kind == "notice") {
    x->set_kind(v1::ESCALATION_KIND_PUBLIC_NOTICE);
  } else if (kind == "discipline") {
    x->set_kind(v1::ESCALATION_KIND_DISCIPLINE);
  } else {
    return UsageError(
        absl::StrCat("--kind: must be talk, notice or discipline, got ", kind));
  }
  x->set_subject(*a.Get("subject"));
  x->set_detail(a.GetOr("detail", ""));
  return RunStep(a, action);
}

std::vector<std::string> CommaList(const std::string& text) {
  return absl::StrSplit(text, ',', absl::SkipEmpty());
}

absl::Status RunCampaignAdd(const ParsedArgs& a) {
  v1::Campaign c;
  c.set_id(*a.Get("id"));
  c.set_name(*a.Get("name"));
  for (const std::string& id : CommaList(*a.Get("categories"))) {
    c.add_category_ids(id);
  }
  for (const std::string& id : CommaList(*a.Get("units"))) {
    c.add_target_unit_ids(id);
  }
  c.set_start_date(*a.Get("start"));
  c.set_end_date(*a.Get("end"));
  for (const std::string& id : CommaList(a.GetOr("inspectors", ""))) {
    c.add_inspectors(id);
  }
  FL_ASSIGN_OR_RETURN(auto office, OpenOffice(a));
  return Created("campaign", c.id(), office->CreateCampaign(c));
}

absl::Status RunCampaignList(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto office, OpenOffice(a));
  FL_ASSIGN_OR_RETURN(std::vector<v1::Campaign> campaigns,
                      office->ListCampaigns());
  Table table({"ID", "NAME", "DATES", "CATEGORIES", "UNITS", "INSPECTORS"});
  table.SetMaxWidth(1, 40);
  table.SetMaxWidth(4, 40);
  for (const v1::Campaign& c : campaigns) {
    table.AddRow({c.id(), c.name(),
                  absl::StrCat(c.start_date(), " – ", c.end_date()),
                  absl::StrJoin(c.category_ids(), ","),
                  absl::StrJoin(c.target_unit_ids(), ","),
                  absl::StrCat(c.inspectors_size())});
  }
  std::cout << table.Render();
  return absl::OkStatus();
}

absl::StatusOr<v1::ListKind> ParseKind(const std::string& text) {
  if (text == "red") return v1::LIST_KIND_RED;
  if (text == "black") return v1::LIST_KIND_BLACK;
  return UsageError(absl::StrCat("--kind: must be red or black, got ", text));
}

// Entries from --entries-file (one a line: UNIT<TAB>REASON[<TAB>CASE,CASE])
// or from --unit, --reason and --cases for a list of one.
absl::Status RunListsPublish(const ParsedArgs& a) {
  v1::PublishedList list;
  FL_ASSIGN_OR_RETURN(v1::ListKind kind, ParseKind(*a.Get("kind")));
  list.set_kind(kind);
  list.set_period(*a.Get("period"));
  if (auto path = a.Get("entries-file")) {
    std::ifstream in(*path);
    if (!in) {
      return absl::NotFoundError(absl::StrCat("cannot read ", *path));
    }
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      std::vector<std::string> parts = absl::StrSplit(line, '\t');
      if (parts.size() < 2 || parts.size() > 3) {
        return UsageError(absl::StrCat(
            *path, ":", n, ": want UNIT<TAB>REASON[<TAB>CASE,CASE]"));
      }
      v1::ListEntry* e = list.add_entries();
      e->set_unit_id(parts[0]);
      e->set_reason(parts[1]);
      if (parts.size() == 3) {
        for (const std::string& id : CommaList(parts[2])) e->add_case_ids(id);
      }
    }
  } else if (a.Has("unit") && a.Has("reason")) {
    v1::ListEntry* e = list.add_entries();
    e->set_unit_id(*a.Get("unit"));
    e->set_reason(*a.Get("reason"));
    for (const std::string& id : CommaList(a.GetOr("cases", ""))) {
      e->add_case_ids(id);
    }
  } else {
    return UsageError("give --entries-file, or --unit and --reason");
  }
  FL_ASSIGN_OR_RETURN(auto office, OpenOffice(a));
  FL_ASSIGN_OR_RETURN(uint64_t seq, office->PublishList(list));
  std::cout << "published the " << *a.Get("kind") << " list for "
            << list.period() << " (event " << seq << ")\n";
  return absl::OkStatus();
}

absl::Status RunListsShow(const ParsedArgs& a) {
  v1::GetListsRequest request;
  request.set_period(a.GetOr("period", ""));
  if (auto text = a.Get("kind")) {
    FL_ASSIGN_OR_RETURN(v1::ListKind kind, ParseKind(*text));
    request.set_kind(kind);
  }
  FL_ASSIGN_OR_RETURN(auto office, OpenOffice(a));
  FL_ASSIGN_OR_RETURN(std::vector<v1::PublishedList> lists,
                      office->GetLists(request));
  if (lists.empty()) {
    std::cout << "no lists published\n";
    return absl::OkStatus();
  }
  Table table({"PERIOD", "LIST", "#", "UNIT", "REASON", "CASES"});
  table.SetMaxWidth(4, 60);
  for (const v1::PublishedList& l : lists) {
    int n = 0;
    for (const v1::ListEntry& e : l.entries()) {
      table.AddRow({l.period(), l.kind() == v1::LIST_KIND_RED ? "red" : "black",
                    absl::StrCat(++n), e.unit_id(), e.reason(),
                    absl::StrJoin(e.case_ids(), ",")});
    }
  }
  std::cout << table.Render();
  return absl::OkStatus();
}

// --- Ledger -------------------------------------------------------------

absl::StatusOr<std::string> ReadTextFile(const std::string& path,
                                         absl::string_view what) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", what, " ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

// The whole file, byte for byte (receipts end in a newline that counts).
absl::StatusOr<std::string> ReadBytes(const std::string& path,
                                      absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", what, " ", path));
  }
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// A LedgerClient over the device's outbox (which pins the server's key and
// keeps the last verified checkpoint), with the device's token, or with the
// admin token when --admin-token-file is given.
struct LedgerSession {
  std::unique_ptr<FieldClient> client;
  std::unique_ptr<v1::Ledger::Stub> stub;
  std::unique_ptr<LedgerClient> ledger;
};

absl::StatusOr<LedgerSession> OpenLedger(const ParsedArgs& a) {
  LedgerSession s;
  FL_ASSIGN_OR_RETURN(s.client, OpenClient(a));
  std::string server = a.GetOr("server", "");
  std::string token;
  absl::StatusOr<storage::Credential> credential = s.client->GetCredential();
  if (credential.ok()) {
    if (server.empty()) server = credential->server;
    token = credential->token;
  }
  if (auto path = a.Get("admin-token-file")) {
    FL_ASSIGN_OR_RETURN(token, ReadTextFile(*path, "the admin token file"));
  }
  if (server.empty()) server = kDefaultServer;
  if (token.empty()) {
    return absl::FailedPreconditionError(
        "not enrolled: enroll first, or give --admin-token-file");
  }
  LedgerClientOptions options;
  if (auto path = a.Get("ledger-vkey")) {
    FL_ASSIGN_OR_RETURN(options.verifier_key,
                        ReadTextFile(*path, "the ledger verifier key"));
  }
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(client::kLedgerMaxReceiveBytes);
  s.stub = v1::Ledger::NewStub(grpc::CreateCustomChannel(
      server, grpc::InsecureChannelCredentials(), channel_args));
  s.ledger = std::make_unique<LedgerClient>(s.client->outbox(), *s.stub,
                                            std::move(token), options);
  return s;
}

absl::Status RunLedgerCheckpoint(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(LedgerSession s, OpenLedger(a));
  FL_ASSIGN_OR_RETURN(std::string note, s.ledger->Checkpoint());
  std::cout << note;
  return absl::OkStatus();
}

absl::Status RunLedgerReceipt(const ParsedArgs& a) {
  uint64_t index = 0;
  if (!absl::SimpleAtoi(a.GetOr("index", ""), &index)) {
    return UsageError("--index: must be a leaf index (an event seq)");
  }
  FL_ASSIGN_OR_RETURN(LedgerSession s, OpenLedger(a));
  FL_ASSIGN_OR_RETURN(std::string proof, s.ledger->Receipt(index));
  std::cout << proof;
  if (auto path = a.Get("entry-out")) {
    FL_ASSIGN_OR_RETURN(std::string entry, s.ledger->Entry(index));
    std::ofstream out(std::string(*path), std::ios::binary | std::ios::trunc);
    out << entry;
    if (!out.flush()) {
      return absl::InternalError(absl::StrCat("cannot write ", *path));
    }
    std::cerr << "leaf " << index << " (" << entry.size()
              << " bytes, the stored event) written to " << *path << "\n";
  }
  return absl::OkStatus();
}

// Offline: needs no server and no enrollment, only the files.
absl::Status RunLedgerCheckReceipt(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(std::string receipt,
                      ReadBytes(a.GetOr("receipt", ""), "the receipt"));
  FL_ASSIGN_OR_RETURN(std::string entry,
                      ReadBytes(a.GetOr("entry", ""), "the leaf's bytes"));
  FL_ASSIGN_OR_RETURN(std::string vkey,
                      ReadBytes(a.GetOr("vkey", ""), "the verifier key"));
  FL_ASSIGN_OR_RETURN(Checkpoint checkpoint,
                      CheckReceipt(receipt, entry, vkey));
  FL_ASSIGN_OR_RETURN(TlogProof proof, ParseTlogProof(receipt));
  std::cout << "receipt ok: leaf " << proof.index << " is in the tree of "
            << checkpoint.tree_size << " entries that " << checkpoint.origin
            << " signed\n";
  return absl::OkStatus();
}

absl::Status RunVerify(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(LedgerSession s, OpenLedger(a));
  FL_ASSIGN_OR_RETURN(VerifyReport r, s.ledger->Verify());
  if (!r.alarm.empty()) {
    return absl::DataLossError(absl::StrCat("LEDGER ALARM: ", r.alarm));
  }
  if (r.trusted_on_first_use) {
    std::cout << "pinned the server's ledger key on first use: "
              << s.client->outbox().GetLedgerTrust()->verifier_key
              << "\n  compare it with the node's ledger.vkey\n";
  }
  std::cout << "checkpoint of " << r.tree_size << " entries: signature ok";
  if (r.first_checkpoint) {
    std::cout << " (first checkpoint this device verified)\n";
  } else {
    std::cout << ", extends the one of " << r.previous_size
              << " entries verified before\n";
  }
  std::cout << r.events_verified << " of this device's events proven in it";
  if (r.events_not_yet_covered > 0) {
    std::cout << "; " << r.events_not_yet_covered
              << " newer ones wait for the next checkpoint";
  }
  std::cout << "\n";
  return absl::OkStatus();
}

absl::Status RunLedgerAudit(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(LedgerSession s, OpenLedger(a));
  FL_ASSIGN_OR_RETURN(AuditReport r, s.ledger->Audit());
  if (!r.problem.empty()) {
    return absl::DataLossError(absl::StrCat("AUDIT FAILED at tree size ",
                                            r.tree_size, ": ", r.problem));
  }
  std::cout << "audit ok: the checkpoint of " << r.tree_size
            << " entries signed by " << r.signer
            << " verified with the pinned key; all " << r.entries_read
            << " entries streamed (" << r.bytes_read
            << " bytes), each the event with its sequence number; the root "
               "recomputed from them equals the signed root\n";
  return absl::OkStatus();
}

absl::Status RunLedgerClearAlarm(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto client, OpenClient(a));
  FL_ASSIGN_OR_RETURN(storage::LedgerTrust trust,
                      client->outbox().GetLedgerTrust());
  if (trust.alarm.empty()) {
    std::cout << "no ledger alarm\n";
    return absl::OkStatus();
  }
  std::cout << "cleared: " << trust.alarm << "\n";
  trust.alarm.clear();
  return client->outbox().PutLedgerTrust(trust);
}

// Every command ends by repeating an unresolved ledger alarm.
void PrintLedgerAlarm(const ParsedArgs& a) {
  const std::string home = a.GetOr("home", DefaultHome());
  std::ifstream probe(home + "/store/CURRENT");
  if (!probe) return;
  auto client = OpenClient(a);
  if (!client.ok()) return;
  auto trust = (*client)->outbox().GetLedgerTrust();
  if (trust.ok() && !trust->alarm.empty()) {
    std::cerr << "fieldledger: LEDGER ALARM (unresolved): " << trust->alarm
              << "\n  the server's history contradicts what this device "
                 "verified; tell your supervisor and the auditor, keep this "
                 "device's data; `fieldledger ledger clear-alarm` once "
                 "resolved\n";
  }
}

std::vector<OptionSpec> LedgerOptions(std::vector<OptionSpec> own) {
  own.push_back({"server", OptionKind::kValue, false,
                 "host:port (default: where you enrolled)"});
  own.push_back({"ledger-vkey", OptionKind::kValue, false,
                 "FILE with the node's verifier key (its ledger.vkey); "
                 "default: the pinned one, else trust on first use"});
  own.push_back({"admin-token-file", OptionKind::kValue, false,
                 "call with the admin token instead of this device's"});
  return own;
}

// --- Reports ------------------------------------------------------------

// "region,status" -> the dimensions, at most two.
absl::Status ReadDimensions(const std::string& text,
                            v1::GetReportRequest& request) {
  for (absl::string_view word : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    v1::ReportDimension d;
    if (!v1::ReportDimension_Parse(
            absl::StrCat(
                "REPORT_DIMENSION_",
                absl::AsciiStrToUpper(absl::StripAsciiWhitespace(word))),
            &d) ||
        d == v1::REPORT_DIMENSION_UNSPECIFIED) {
      return UsageError(absl::StrCat(
          "--by: each must be region, unit, category, status or month, got ",
          word));
    }
    request.add_by(d);
  }
  if (request.by_size() > 2) return UsageError("--by: at most two dimensions");
  return absl::OkStatus();
}

// "2026-09..2026-11", "2026-09.." or "2026-09" (one month).
absl::Status ReadPeriod(const ParsedArgs& a, std::string& from,
                        std::string& to) {
  const std::optional<std::string> text = a.Get("period");
  if (!text) return absl::OkStatus();
  const size_t dots = text->find("..");
  if (dots == std::string::npos) {
    from = to = *text;
  } else {
    from = text->substr(0, dots);
    to = text->substr(dots + 2);
  }
  for (const std::string* month : {&from, &to}) {
    absl::CivilMonth parsed;
    if (!month->empty() && !absl::ParseCivilTime(*month, &parsed)) {
      return UsageError(absl::StrCat(
          "--period: months as 2026-09, 2026-09..2026-11 or 2026-09.., got ",
          *text));
    }
  }
  return absl::OkStatus();
}

std::string Percent(double rate, uint64_t denominator) {
  if (denominator == 0) return "-";
  return absl::StrFormat("%.1f%%", rate * 100);
}

// The figures' columns: headers and cells.
const std::vector<std::string>& FigureHeaders() {
  static const auto* headers = new std::vector<std::string>{
      "CASES", "OPEN",    "REPORTED",   "ASSIGNED",  "RECTIFIED", "CLOSED",
      "RATE",  "ON TIME", "OVERDUE",    "SATISFIED", "BASIC",     "UNSATISFIED",
      "TALKS", "NOTICES", "DISCIPLINE", "DUPLICATES"};
  return *headers;
}

std::vector<std::string> FigureCells(const v1::ReportFigures& f) {
  return {absl::StrCat(f.cases()),
          absl::StrCat(f.open()),
          absl::StrCat(f.reported()),
          absl::StrCat(f.assigned()),
          absl::StrCat(f.rectification_reported()),
          absl::StrCat(f.closed()),
          Percent(f.rectification_rate(), f.assigned()),
          Percent(f.on_time_rate(), f.closed()),
          f.has_overdue() ? absl::StrCat(f.overdue()) : "",
          absl::StrCat(f.evaluated_satisfied()),
          absl::StrCat(f.evaluated_basically_satisfied()),
          absl::StrCat(f.evaluated_unsatisfied()),
          absl::StrCat(f.escalated_talk()),
          absl::StrCat(f.escalated_public_notice()),
          absl::StrCat(f.escalated_discipline()),
          absl::StrCat(f.dismissed_duplicate())};
}

absl::Status RunReport(const ParsedArgs& a) {
  v1::GetReportRequest request;
  FL_RETURN_IF_ERROR(ReadDimensions(a.GetOr("by", ""), request));
  if (auto text = a.Get("level")) {
    uint32_t level = 0;
    if (!absl::SimpleAtoi(*text, &level)) {
      return UsageError(absl::StrCat("--level: not a number: ", *text));
    }
    request.set_region_level(level);
  }
  request.set_region_id(a.GetOr("region", ""));
  request.set_unit_id(a.GetOr("unit", ""));
  request.set_category_id(a.GetOr("category", ""));
  FL_RETURN_IF_ERROR(ReadPeriod(a, *request.mutable_period_from(),
                                *request.mutable_period_to()));
  const std::string format = a.GetOr("format", "table");
  if (format != "table" && format != "csv" && format != "json") {
    return UsageError(
        absl::StrCat("--format: must be table, csv or json, got ", format));
  }
  FL_ASSIGN_OR_RETURN(auto reports, OpenReports(a));
  FL_ASSIGN_OR_RETURN(v1::GetReportResponse report,
                      reports->GetReport(request));
  if (format == "json") {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(report, &json, options)
             .ok()) {
      return absl::InternalError("cannot print the report as JSON");
    }
    std::cout << json;
    return absl::OkStatus();
  }
  std::vector<std::string> headers;
  for (int d : report.by()) {
    std::string name = v1::ReportDimension_Name(d).substr(17);  // "REGION"
    headers.push_back(name);
  }
  if (headers.empty()) headers.push_back("");
  for (const std::string& h : FigureHeaders()) headers.push_back(h);
  std::vector<std::vector<std::string>> rows;
  for (const v1::ReportRow& row : report.rows()) {
    std::vector<std::string> cells(row.names().begin(), row.names().end());
    for (std::string& cell : FigureCells(row.figures())) {
      cells.push_back(std::move(cell));
    }
    rows.push_back(std::move(cells));
  }
  std::vector<std::string> total(std::max(1, report.by_size()), "");
  total[0] = "TOTAL";
  for (std::string& cell : FigureCells(report.total())) {
    total.push_back(std::move(cell));
  }
  rows.push_back(std::move(total));
  if (format == "csv") {
    std::string out;
    for (const auto* line : {&headers}) {
      for (size_t i = 0; i < line->size(); ++i) {
        if (i > 0) out.push_back(',');
        AppendCsvField((*line)[i], out);
      }
      out.append("\r\n");
    }
    for (const auto& line : rows) {
      for (size_t i = 0; i < line.size(); ++i) {
        if (i > 0) out.push_back(',');
        AppendCsvField(line[i], out);
      }
      out.append("\r\n");
    }
    std::cout << out;
    return absl::OkStatus();
  }
  Table table(headers);
  for (auto& line : rows) table.AddRow(std::move(line));
  std::cout << table.Render();
  return absl::OkStatus();
}

absl::Status RunOverdue(const ParsedArgs& a) {
  v1::ListOverdueRequest request;
  request.set_region_id(a.GetOr("region", ""));
  request.set_unit_id(a.GetOr("unit", ""));
  request.set_category_id(a.GetOr("category", ""));
  request.set_page_cursor(a.GetOr("cursor", ""));
  if (auto text = a.Get("page-size")) {
    uint32_t size = 0;
    if (!absl::SimpleAtoi(*text, &size)) {
      return UsageError(absl::StrCat("--page-size: not a number: ", *text));
    }
    request.set_page_size(size);
  }
  FL_ASSIGN_OR_RETURN(auto reports, OpenReports(a));
  FL_ASSIGN_OR_RETURN(v1::ListOverdueResponse reply,
                      reports->ListOverdue(request));
  if (reply.cases().empty()) {
    std::cout << "no overdue cases\n";
  } else {
    Table table({"ID", "DEADLINE", "DAYS LATE", "STATUS", "UNIT", "CATEGORY",
                 "RESPONSIBLE", "PERSON"});
    for (const v1::OverdueCase& o : reply.cases()) {
      const v1::Case& c = o.case_();
      table.AddRow({c.id(), LocalTime(c.deadline()),
                    absl::StrCat(o.days_late()), StatusCell(c.status()),
                    c.unit_id(), c.category_id(), c.assignment().unit_id(),
                    c.assignment().person().name()});
    }
    std::cout << table.Render();
  }
  if (!reply.next_page_cursor().empty()) {
    std::cout << "more: --cursor " << reply.next_page_cursor() << "\n";
  }
  return absl::OkStatus();
}

absl::Status RunRank(const ParsedArgs& a) {
  v1::RankUnitsRequest request;
  const std::string by = a.GetOr("by", "open");
  v1::RankBy order;
  if (!v1::RankBy_Parse(absl::StrCat("RANK_BY_", absl::AsciiStrToUpper(by)),
                        &order) ||
      order == v1::RANK_BY_UNSPECIFIED) {
    return UsageError(
        absl::StrCat("--by: must be open, overdue or unsatisfied, got ", by));
  }
  request.set_by(order);
  request.set_region_id(a.GetOr("region", ""));
  FL_RETURN_IF_ERROR(ReadPeriod(a, *request.mutable_period_from(),
                                *request.mutable_period_to()));
  if (auto text = a.Get("limit")) {
    uint32_t limit = 0;
    if (!absl::SimpleAtoi(*text, &limit)) {
      return UsageError(absl::StrCat("--limit: not a number: ", *text));
    }
    request.set_limit(limit);
  }
  FL_ASSIGN_OR_RETURN(auto reports, OpenReports(a));
  FL_ASSIGN_OR_RETURN(v1::RankUnitsResponse reply, reports->RankUnits(request));
  if (reply.units().empty()) {
    std::cout << "no units to rank\n";
    return absl::OkStatus();
  }
  Table table(
      {"#", "UNIT", "NAME", "OPEN", "OVERDUE", "EVALUATED", "UNSATISFIED"});
  int place = 0;
  for (const v1::UnitRank& u : reply.units()) {
    table.AddRow({absl::StrCat(++place), u.unit_id(), u.unit_name(),
                  absl::StrCat(u.open()), absl::StrCat(u.overdue()),
                  absl::StrCat(u.evaluated()),
                  absl::StrCat(u.evaluated_unsatisfied())});
  }
  std::cout << table.Render();
  return absl::OkStatus();
}

absl::Status RunExport(const ParsedArgs& a) {
  v1::ExportCasesRequest request;
  const std::string format = a.GetOr("format", "csv");
  if (format == "csv") {
    request.set_format(v1::EXPORT_FORMAT_CSV);
  } else if (format == "jsonl") {
    request.set_format(v1::EXPORT_FORMAT_JSONL);
  } else {
    return UsageError(
        absl::StrCat("--format: must be csv or jsonl, got ", format));
  }
  FL_ASSIGN_OR_RETURN(*request.mutable_filter(), ReadCaseFilter(a));
  FL_ASSIGN_OR_RETURN(auto reports, OpenReports(a));
  return reports->ExportCases(request, [](absl::string_view chunk) {
    std::cout.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    return std::cout.good() ? absl::OkStatus()
                            : absl::UnavailableError("cannot write stdout");
  });
}

absl::Status RunRebuildAggregates(const ParsedArgs& a) {
  FL_ASSIGN_OR_RETURN(auto admin, OpenAdmin(a));
  const bool check = a.Has("check");
  FL_ASSIGN_OR_RETURN(v1::RebuildAggregatesResponse reply,
                      admin->RebuildAggregates(check));
  std::cout << "counters: " << reply.counters()
            << ", differences: " << reply.differences()
            << (reply.corrected() ? " (corrected)" : "") << "\n";
  for (const std::string& e : reply.examples()) std::cout << "  " << e << "\n";
  if (check && reply.differences() > 0) {
    return absl::DataLossError(absl::StrCat(
        reply.differences(),
        " counters differ from the events; run without --check to correct"));
  }
  return absl::OkStatus();
}

// --- Table of commands and usage ----------------------------------------

std::vector<OptionSpec> FindingOptions(bool adding) {
  return {
      {"unit", OptionKind::kValue, adding, "the inspected unit's id"},
      {"category", OptionKind::kValue, adding, "the problem category's id"},
      {"summary", OptionKind::kValue, adding, "one line, up to 200 characters"},
      {"detail", OptionKind::kValue, false, "free text"},
      {"lat", OptionKind::kValue, false, "latitude, degrees (with --lon)"},
      {"lon", OptionKind::kValue, false, "longitude, degrees (with --lat)"},
      {"observed-at", OptionKind::kValue, false,
       adding ? "RFC 3339 time; default now" : "RFC 3339 time"},
      {"severity", OptionKind::kValue, false, "low, medium or high"},
      {"evidence", OptionKind::kValue, false,
       "a photo, recording or document to attach (repeatable); stripped of "
       "identifying metadata, kept on this device, uploaded by sync"},
  };
}

// The ListCases filters (ReadCaseFilter), then `more`.
std::vector<OptionSpec> CaseFilterOptions(std::vector<OptionSpec> more) {
  std::vector<OptionSpec> own = {
      {"region", OptionKind::kValue, false, "only this region's subtree"},
      {"unit", OptionKind::kValue, false, "only this inspected unit"},
      {"category", OptionKind::kValue, false, "only this category"},
      {"status", OptionKind::kValue, false,
       "reported, accepted, assigned, ... closed"},
      {"overdue", OptionKind::kFlag, false, "only overdue cases (by deadline)"},
      {"campaign", OptionKind::kValue, false, "only this campaign's cases"},
      {"from", OptionKind::kValue, false,
       "reported at or after (date or RFC 3339)"},
      {"to", OptionKind::kValue, false, "reported before"}};
  own.insert(own.end(), more.begin(), more.end());
  return own;
}

std::vector<OptionSpec> AdminOptions(std::vector<OptionSpec> own) {
  own.push_back({"server", OptionKind::kValue, false,
                 absl::StrCat("host:port (default ", kDefaultServer, ")")});
  own.push_back({"admin-token-file", OptionKind::kValue, false,
                 absl::StrCat("default ", kDefaultAdminTokenFile)});
  return own;
}

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {{"enroll"},
       "CODE",
       {{"server", OptionKind::kValue, false,
         absl::StrCat("host:port (default ", kDefaultServer, ")")},
        {"force", OptionKind::kFlag, false, "replace an existing credential"}},
       "trade a one-time code for this device's credential",
       RunEnroll},
      {{"finding", "add"},
       "",
       FindingOptions(true),
       "record a finding (works offline); prints its id",
       RunFindingAdd},
      {{"finding", "amend"},
       "ID",
       FindingOptions(false),
       "record new content for one of your findings",
       RunFindingAmend},
      {{"finding", "withdraw"},
       "ID",
       {{"reason", OptionKind::kValue, false, "why, up to 2000 characters"}},
       "record the withdrawal of one of your findings",
       RunFindingWithdraw},
      {{"sync"},
       "",
       {{"server", OptionKind::kValue, false,
         "host:port (default: where you enrolled)"},
        {"batch-size", OptionKind::kValue, false,
         "mutations per Push, 1-500 (default 100)"}},
       "push recorded findings, pull the registry and their status, then "
       "verify this device's events in the ledger",
       RunSync},
      {{"findings"}, "", {}, "list this device's findings", RunFindings},
      {{"registry"},
       "",
       {},
       "show the pulled regions, units, categories",
       RunRegistry},
      {{"admin", "region", "add"},
       "",
       AdminOptions(
           {{"id", OptionKind::kValue, true, "e.g. 440305"},
            {"name", OptionKind::kValue, true, "display name"},
            {"parent", OptionKind::kValue, false, "parent region id"}}),
       "add a region",
       RunRegionAdd},
      {{"admin", "region", "list"},
       "",
       AdminOptions({}),
       "list regions",
       RunRegionList},
      {{"admin", "unit", "add"},
       "",
       AdminOptions({{"id", OptionKind::kValue, true, "unit id"},
                     {"name", OptionKind::kValue, true, "display name"},
                     {"region", OptionKind::kValue, true, "its region's id"}}),
       "add a unit",
       RunUnitAdd},
      {{"admin", "unit", "list"},
       "",
       AdminOptions({{"region", OptionKind::kValue, false,
                      "only units directly in this region"}}),
       "list units",
       RunUnitList},
      {{"admin", "category", "add"},
       "",
       AdminOptions({{"id", OptionKind::kValue, true, "e.g. commuting"},
                     {"name", OptionKind::kValue, true, "display name"},
                     {"description", OptionKind::kValue, false,
                      "what counts as this problem"}}),
       "add a category",
       RunCategoryAdd},
      {{"admin", "category", "list"},
       "",
       AdminOptions({}),
       "list categories",
       RunCategoryList},
      {{"admin", "rebuild-aggregates"},
       "",
       AdminOptions({{"check", OptionKind::kFlag, false,
                      "only report differences (exit 1 if any)"}}),
       "recompute the report counters from the event log",
       RunRebuildAggregates},
      {{"admin", "enroll-code"},
       "",
       AdminOptions({{"role", OptionKind::kValue, true,
                      "inspector, supervisor, unit-officer or auditor"},
                     {"scope", OptionKind::kValue, false,
                      "supervisor: a region id; unit-officer: a unit id"},
                     {"ttl", OptionKind::kValue, false,
                      "seconds the code stays valid (default 7 days)"}}),
       "issue a one-time enrollment code; prints it",
       RunEnrollCode},
      {{"case", "list"},
       "",
       OfficeOptions(CaseFilterOptions(
           {{"page-size", OptionKind::kValue, false, "1-500 (default 50)"},
            {"cursor", OptionKind::kValue, false, "the next page's cursor"}})),
       "list the cases you may see, oldest report first",
       RunCaseList},
      {{"case", "show"},
       "ID",
       OfficeOptions({}),
       "a case, its evidence (complete or pending) and its whole history",
       RunCaseShow},
      {{"evidence", "put"},
       "FILE",
       OfficeOptions({}),
       "strip, hash and upload a file for a rectification report; prints "
       "SHA256:MEDIA-TYPE:BYTES for `case rectify --evidence`",
       RunEvidencePut},
      {{"evidence", "get"},
       "SHA256",
       OfficeOptions(
           {{"case", OptionKind::kValue, true,
             "the case (or your finding) that refers to the evidence"},
            {"output", OptionKind::kValue, true,
             "the file to write (-o); written as FILE.part, renamed once "
             "its SHA-256 is checked"}}),
       "download a piece of evidence",
       RunEvidenceGet},
      {{"case", "accept"},
       "ID",
       OfficeOptions({{"version", OptionKind::kValue, false,
                       "the version you saw (ABORTED if it moved on)"},
                      {"note", OptionKind::kValue, false, "why"}}),
       "reported -> accepted",
       RunCaseAccept},
      {{"case", "dismiss"},
       "ID",
       OfficeOptions(
           {{"reason", OptionKind::kValue, true, "rejected or duplicate"},
            {"duplicate-of", OptionKind::kValue, false,
             "the case it duplicates"},
            {"note", OptionKind::kValue, false, "why"},
            {"version", OptionKind::kValue, false, "the version you saw"}}),
       "reported -> dismissed",
       RunCaseDismiss},
      {{"case", "assign"},
       "ID",
       OfficeOptions(
           {{"unit", OptionKind::kValue, true, "the responsible unit"},
            {"person", OptionKind::kValue, true, "the responsible person"},
            {"post", OptionKind::kValue, true, "that person's post"},
            {"deadline", OptionKind::kValue, true,
             "a date (end of that local day) or RFC 3339 time"},
            {"mechanism", OptionKind::kValue, true,
             "top-leader, counterpart or joint"},
            {"by", OptionKind::kValue, true, "who assigned it"},
            {"note", OptionKind::kValue, false, "instructions"},
            {"version", OptionKind::kValue, false, "the version you saw"}}),
       "accepted -> assigned (交办)",
       RunCaseAssign},
      {{"case", "rectify"},
       "ID",
       OfficeOptions(
           {{"text", OptionKind::kValue, true, "what was done"},
            {"evidence", OptionKind::kValue, false,
             "SHA256:MEDIA-TYPE:BYTES,... uploaded evidence"},
            {"version", OptionKind::kValue, false, "the version you saw"}}),
       "assigned -> rectification_submitted (unit officer)",
       RunCaseRectify},
      {{"case", "evaluate"},
       "ID",
       OfficeOptions(
           {{"rating", OptionKind::kValue, true,
             "satisfied, basically-satisfied or unsatisfied"},
            {"comment", OptionKind::kValue, false, "the verdict's reasons"},
            {"new-deadline", OptionKind::kValue, false,
             "required when unsatisfied"},
            {"version", OptionKind::kValue, false, "the version you saw"}}),
       "rectification_submitted -> evaluated (or reassigned)",
       RunCaseEvaluate},
      {{"case", "close"},
       "ID",
       OfficeOptions(
           {{"note", OptionKind::kValue, false, "filing note"},
            {"version", OptionKind::kValue, false, "the version you saw"}}),
       "evaluated -> closed (销号备案)",
       RunCaseClose},
      {{"case", "escalate"},
       "ID",
       OfficeOptions(
           {{"kind", OptionKind::kValue, true, "talk, notice or discipline"},
            {"subject", OptionKind::kValue, true, "who is held to account"},
            {"detail", OptionKind::kValue, false, "what was decided"},
            {"version", OptionKind::kValue, false, "the version you saw"}}),
       "record an accountability step (责任追究)",
       RunCaseEscalate},
      {{"campaign", "add"},
       "",
       OfficeOptions(
           {{"id", OptionKind::kValue, true, "e.g. 2026-09-commuting"},
            {"name", OptionKind::kValue, true, "display name"},
            {"categories", OptionKind::kValue, true, "category ids, a,b"},
            {"units", OptionKind::kValue, true, "target unit ids, a,b"},
            {"start", OptionKind::kValue, true, "first day, YYYY-MM-DD"},
            {"end", OptionKind::kValue, true, "last day, YYYY-MM-DD"},
            {"inspectors", OptionKind::kValue, false, "pseudonyms, a,b"}}),
       "plan a campaign",
       RunCampaignAdd},
      {{"campaign", "list"},
       "",
       OfficeOptions({}),
       "list campaigns",
       RunCampaignList},
      {{"report"},
       "",
       OfficeOptions(
           {{"by", OptionKind::kValue, false,
             "up to two of region, unit, category, status, month "
             "(e.g. region,status)"},
            {"level", OptionKind::kValue, false,
             "region depth for --by region (0 = top; default one below "
             "your scope)"},
            {"region", OptionKind::kValue, false, "only this region's subtree"},
            {"unit", OptionKind::kValue, false, "only this unit"},
            {"category", OptionKind::kValue, false, "only this category"},
            {"period", OptionKind::kValue, false,
             "months: 2026-09, 2026-09..2026-11, 2026-09.."},
            {"format", OptionKind::kValue, false,
             "table (default), csv or json"}}),
       "figures: cases by status, assigned, rectified, closed, rates, "
       "overdue, evaluations, escalations",
       RunReport},
      {{"overdue"},
       "",
       OfficeOptions(
           {{"region", OptionKind::kValue, false, "only this region's subtree"},
            {"unit", OptionKind::kValue, false, "only this inspected unit"},
            {"category", OptionKind::kValue, false, "only this category"},
            {"page-size", OptionKind::kValue, false, "1-500 (default 50)"},
            {"cursor", OptionKind::kValue, false, "the next page's cursor"}}),
       "overdue cases, the latest first",
       RunOverdue},
      {{"rank"},
       "",
       OfficeOptions(
           {{"by", OptionKind::kValue, false,
             "open (default), overdue or unsatisfied"},
            {"region", OptionKind::kValue, false, "only this region's units"},
            {"period", OptionKind::kValue, false, "months, as for report"},
            {"limit", OptionKind::kValue, false, "1-1000 (default 20)"}}),
       "units ranked by open cases, overdue cases or unsatisfied evaluations",
       RunRank},
      {{"export"},
       "",
       OfficeOptions(CaseFilterOptions(
           {{"format", OptionKind::kValue, false, "csv (default) or jsonl"}})),
       "write every case matching the filters to stdout (CSV with a header, "
       "or JSON lines)",
       RunExport},
      {{"lists", "publish"},
       "",
       OfficeOptions(
           {{"kind", OptionKind::kValue, true, "red or black"},
            {"period", OptionKind::kValue, true, "2026, 2026-Q4 or 2026-11"},
            {"entries-file", OptionKind::kValue, false,
             "lines UNIT<TAB>REASON[<TAB>CASE,CASE]"},
            {"unit", OptionKind::kValue, false, "a list of one: its unit"},
            {"reason", OptionKind::kValue, false, "a list of one: why"},
            {"cases", OptionKind::kValue, false, "a list of one: case ids"}}),
       "publish a red or black list (红黑榜)",
       RunListsPublish},
      {{"lists", "show"},
       "",
       OfficeOptions({{"period", OptionKind::kValue, false, "only this period"},
                      {"kind", OptionKind::kValue, false, "red or black"}}),
       "show published lists, newest first",
       RunListsShow},
      {{"ledger", "checkpoint"},
       "",
       LedgerOptions({}),
       "print the server's latest signed checkpoint, verbatim",
       RunLedgerCheckpoint},
      {{"ledger", "receipt"},
       "",
       LedgerOptions(
           {{"index", OptionKind::kValue, true,
             "leaf index (the event seq of a pushed mutation)"},
            {"entry-out", OptionKind::kValue, false,
             "also write the leaf's bytes (the stored event) to this file"}}),
       "print a c2sp.org/tlog-proof@v1 receipt for one leaf",
       RunLedgerReceipt},
      {{"ledger", "check-receipt"},
       "",
       {{"receipt", OptionKind::kValue, true, "FILE with the receipt"},
        {"entry", OptionKind::kValue, true,
         "FILE with the leaf's bytes (ledger receipt --entry-out)"},
        {"vkey", OptionKind::kValue, true,
         "FILE with the node's published verifier key (ledger.vkey)"}},
       "offline: check a receipt against the published key and the leaf",
       RunLedgerCheckReceipt},
      {{"verify"},
       "",
       LedgerOptions({}),
       "verify the latest checkpoint, its consistency with the last one "
       "verified, and this device's events in it",
       RunVerify},
      {{"ledger", "audit"},
       "",
       LedgerOptions({}),
       "auditor/admin: recompute the whole tree from the entries and check "
       "it against the signed checkpoint",
       RunLedgerAudit},
      {{"ledger", "clear-alarm"},
       "",
       {},
       "clear a resolved ledger alarm",
       RunLedgerClearAlarm},
  };
  return *commands;
}

std::string Usage() {
  std::string out =
      "usage: fieldledger [--home DIR] COMMAND [options]\n\n"
      "Findings are recorded on this device first and reach the server on\n"
      "`fieldledger sync`. The case, campaign and lists commands talk to the\n"
      "server directly, with the credential this device enrolled with (a\n"
      "supervisor, unit officer or auditor code) or --token-file.\n"
      "Options take `--name value` or `--name=value`.\n\n"
      "commands:\n";
  for (const Command& c : Commands()) {
    std::string line = absl::StrJoin(c.words, " ");
    if (!c.positional.empty()) absl::StrAppend(&line, " ", c.positional);
    absl::StrAppend(&out, "  ", line,
                    std::string(line.size() < 28 ? 28 - line.size() : 1, ' '),
                    c.help, "\n");
    for (const OptionSpec& o : c.options) {
      std::string name =
          absl::StrCat("--", o.name, o.kind == OptionKind::kValue ? " X" : "");
      absl::StrAppend(&out, "      ", name,
                      std::string(name.size() < 24 ? 24 - name.size() : 1, ' '),
                      o.required ? "(required) " : "", o.help, "\n");
    }
  }
  absl::StrAppend(&out,
                  "  help                        show this\n\n"
                  "global options:\n"
                  "      --home DIR              the device's directory "
                  "(default ~/.fieldledger)\n\n"
                  "Times are shown in local time and sent in UTC. Exit status: "
                  "0 ok, 1 failure, 2 usage.\n");
  return out;
}

int Fail(int code, absl::string_view message) {
  std::cerr << "fieldledger: " << message << "\n";
  return code;
}

int Main(std::vector<std::string> args) {
  // Global options before the command words.
  std::vector<std::string> globals;
  size_t i = 0;
  while (i < args.size() && absl::StartsWith(args[i], "-")) {
    globals.push_back(args[i]);
    if (args[i] == "--home" && i + 1 < args.size())
      globals.push_back(args[++i]);
    ++i;
  }
  absl::StatusOr<ParsedArgs> global = ParseArgs(globals, GlobalOptions());
  if (!global.ok()) return Fail(2, global.status().message());
  if (i == args.size() || args[i] == "help") {
    if (i == args.size() && !global->Has("help")) {
      std::cerr << Usage();
      return 2;
    }
    std::cout << Usage();
    return 0;
  }

  // The longest command whose words start the rest.
  const Command* command = nullptr;
  for (const Command& c : Commands()) {
    if (i + c.words.size() > args.size()) continue;
    bool match = true;
    for (size_t w = 0; w < c.words.size(); ++w) {
      match = match && args[i + w] == c.words[w];
    }
    if (match &&
        (command == nullptr || c.words.size() > command->words.size())) {
      command = &c;
    }
  }
  if (command == nullptr) {
    std::string words;
    for (size_t w = i; w < args.size() && !absl::StartsWith(args[w], "-");
         ++w) {
      absl::StrAppend(&words, words.empty() ? "" : " ", args[w]);
    }
    return Fail(2, absl::StrCat("unknown command \"", words,
                                "\" (see `fieldledger help`)"));
  }
  const std::string name = absl::StrJoin(command->words, " ");
  std::vector<OptionSpec> specs = command->options;
  specs.insert(specs.end(), GlobalOptions().begin(), GlobalOptions().end());
  std::vector<std::string> rest(args.begin() + i + command->words.size(),
                                args.end());
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(rest, specs);
  if (!parsed.ok()) {
    return Fail(2, absl::StrCat(name, ": ", parsed.status().message()));
  }
  for (const auto& [key, value] : global->options) {
    parsed->options.emplace(key, value);  // Options after the command win.
  }
  if (parsed->Has("help")) {
    std::cout << Usage();
    return 0;
  }
  const size_t want = command->positional.empty() ? 0 : 1;
  if (parsed->positionals.size() != want) {
    if (want == 1 && parsed->positionals.empty()) {
      return Fail(2, absl::StrCat(name, ": missing ", command->positional));
    }
    return Fail(2, absl::StrCat(name, ": unexpected argument \"",
                                parsed->positionals[want], "\""));
  }
  const absl::Status status = command->run(*parsed);
  if (command->words[0] != "help") PrintLedgerAlarm(*parsed);
  if (IsUsageError(status)) {
    return Fail(2, absl::StrCat(name, ": ", status.message()));
  }
  if (!status.ok()) return Fail(1, status.message());
  return 0;
}

}  // namespace
}  // namespace fieldledger::client

int main(int argc, char** argv) {
  return fieldledger::client::Main(
      std::vector<std::string>(argv + 1, argv + argc));
}
