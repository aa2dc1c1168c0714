// ReportsClient: the Reports service for the CLI — figures, overdue lists,
// unit rankings and case exports. Each call sets a deadline and the caller's
// bearer token; no retries.
//
//   FL_ASSIGN_OR_RETURN(auto reports,
//                       ReportsClient::Connect("127.0.0.1:50051", token));
//   v1::GetReportRequest request;
//   request.add_by(v1::REPORT_DIMENSION_REGION);
//   FL_ASSIGN_OR_RETURN(v1::GetReportResponse report,
//                       reports->GetReport(request));
//
// Thread-safety: all methods may be called from several threads.
#ifndef FIELDLEDGER_CLIENT_REPORTS_CLIENT_H_
#define FIELDLEDGER_CLIENT_REPORTS_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fieldledger/v1/reports.grpc.pb.h"

namespace fieldledger::client {

namespace v1 = ::fieldledger::v1;

class ReportsClient {
 public:
  // A client over an insecure channel to `server` ("host:port"); connects
  // lazily (UNAVAILABLE on the first call when unreachable).
  static absl::StatusOr<std::unique_ptr<ReportsClient>> Connect(
      const std::string& server, std::string token,
      absl::Duration timeout = absl::Seconds(15));

  ReportsClient(std::unique_ptr<v1::Reports::StubInterface> stub,
                std::string token, absl::Duration timeout);

  // Each returns the server's status with its code ("GetReport: ...").
  absl::StatusOr<v1::GetReportResponse> GetReport(
      const v1::GetReportRequest& request);
  absl::StatusOr<v1::ListOverdueResponse> ListOverdue(
      const v1::ListOverdueRequest& request);
  absl::StatusOr<v1::RankUnitsResponse> RankUnits(
      const v1::RankUnitsRequest& request);
  // Streams the export into `sink`, chunk by chunk, within `export_timeout`.
  // A sink error cancels the stream and is returned.
  absl::Status ExportCases(
      const v1::ExportCasesRequest& request,
      const std::function<absl::Status(absl::string_view)>& sink,
      absl::Duration export_timeout = absl::Hours(1));

 private:
  std::unique_ptr<v1::Reports::StubInterface> stub_;
  const std::string token_;
  const absl::Duration timeout_;
};

}  // namespace fieldledger::client

#endif  // FIELDLEDGER_CLIENT_REPORTS_CLIENT_H_
