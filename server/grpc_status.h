// The server edge's translation of absl::Status into grpc::Status: the
// canonical codes are the same numbers, the message is kept.
#ifndef FIELDLEDGER_SERVER_GRPC_STATUS_H_
#define FIELDLEDGER_SERVER_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace fieldledger::server {

inline grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      std::string(s.message()));
}

}  // namespace fieldledger::server

#endif  // FIELDLEDGER_SERVER_GRPC_STATUS_H_
