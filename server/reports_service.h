// ReportsService: the Reports rpcs (proto/fieldledger/v1/reports.proto).
// Translation and authorization only: the role check here, the scope
// (core/case_query.h CaseViewer) and the figures in core/report.h. Reports
// read counters and indexes on the handler's thread; an export streams
// chunks of about 64 KiB, each made when the previous one was sent.
//
// Thread-safe: handlers share only the store.
#ifndef FIELDLEDGER_SERVER_REPORTS_SERVICE_H_
#define FIELDLEDGER_SERVER_REPORTS_SERVICE_H_

#include "fieldledger/v1/reports.grpc.pb.h"
#include "storage/store.h"

namespace fieldledger::server {

class ReportsService final : public v1::Reports::CallbackService {
 public:
  explicit ReportsService(storage::Store& store) : store_(store) {}

  grpc::ServerUnaryReactor* GetReport(grpc::CallbackServerContext* context,
                                      const v1::GetReportRequest* request,
                                      v1::GetReportResponse* reply) override;
  grpc::ServerUnaryReactor* ListOverdue(
      grpc::CallbackServerContext* context,
      const v1::ListOverdueRequest* request,
      v1::ListOverdueResponse* reply) override;
  grpc::ServerUnaryReactor* RankUnits(grpc::CallbackServerContext* context,
                                      const v1::RankUnitsRequest* request,
                                      v1::RankUnitsResponse* reply) override;
  grpc::ServerWriteReactor<v1::ExportChunk>* ExportCases(
      grpc::CallbackServerContext* context,
      const v1::ExportCasesRequest* request) override;

 private:
  storage::Store& store_;
};

}  // namespace fieldledger::server

#endif  // FIELDLEDGER_SERVER_REPORTS_SERVICE_H_
