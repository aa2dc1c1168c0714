#!/usr/bin/python3
"""The wire contract from a non-C++ client.

Starts fieldledgerd on port 0 in a temporary directory and talks to it with
Python stubs generated from proto/fieldledger/v1 (Debian's python3-grpcio):
registry, enrollment, Push (applied, replayed, rejected, gap), Pull, and the
authentication errors.

  test_wire.py --server build/bin/fieldledgerd --proto-dir build/proto/python
"""
import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

ARGS = None


def uuid7():
    """A UUIDv7 in canonical text form: 48-bit Unix ms, version 7, variant 10."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class WireTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, ARGS.proto_dir)
        global pb, sync_pb, sync_grpc, admin_pb, admin_grpc, registry_pb, common_pb
        from fieldledger.v1 import common_pb2 as common_pb
        from fieldledger.v1 import admin_pb2 as admin_pb
        from fieldledger.v1 import admin_pb2_grpc as admin_grpc
        from fieldledger.v1 import finding_pb2 as pb
        from fieldledger.v1 import registry_pb2 as registry_pb
        from fieldledger.v1 import sync_pb2 as sync_pb
        from fieldledger.v1 import sync_pb2_grpc as sync_grpc

        cls.tmp = tempfile.TemporaryDirectory()
        cls.server = subprocess.Popen(
            [ARGS.server, f"--data_dir={cls.tmp.name}/data",
             "--listen=127.0.0.1:0"],
            stdout=subprocess.PIPE, text=True)
        address = None
        deadline = time.monotonic() + 30
        while address is None and time.monotonic() < deadline:
            line = cls.server.stdout.readline()
            if not line:
                break
            if "serving on " in line:
                address = line.split("serving on ")[1].split(",")[0]
        if address is None:
            cls.server.kill()
            raise RuntimeError("fieldledgerd did not start")
        with open(f"{cls.tmp.name}/data/admin.token") as f:
            cls.admin_token = f.read().strip()
        cls.channel = grpc.insecure_channel(address)
        cls.admin = admin_grpc.AdminStub(cls.channel)
        cls.sync = sync_grpc.FieldSyncStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.terminate()
        cls.server.wait(timeout=30)
        cls.tmp.cleanup()

    def auth(self, token):
        return [("authorization", f"Bearer {token}")]

    def enroll(self):
        code = self.admin.CreateEnrollmentCode(
            admin_pb.CreateEnrollmentCodeRequest(role=common_pb.ROLE_INSPECTOR),
            metadata=self.auth(self.admin_token), timeout=10)
        return self.sync.Enroll(sync_pb.EnrollRequest(code=code.code), timeout=10)

    def report(self, device, seq, summary, unit="yuehai"):
        finding = pb.Finding(id=uuid7(), unit_id=unit, category_id="commuting",
                             summary=summary, detail="排队群众十余人，无人办理")
        finding.observed_at.FromSeconds(int(time.time()) - 60)
        finding.location.latitude = 22.5431
        finding.location.longitude = 113.9365
        return sync_pb.Mutation(client_id=device.client_id, client_seq=seq,
                                report_finding=sync_pb.ReportFinding(finding=finding))

    def test_1_registry_enroll_push_pull(self):
        token = self.auth(self.admin_token)
        self.admin.CreateRegion(admin_pb.CreateRegionRequest(
            region=registry_pb.Region(id="sz", name="深圳市")), metadata=token, timeout=10)
        self.admin.CreateUnit(admin_pb.CreateUnitRequest(
            unit=registry_pb.Unit(id="yuehai", name="粤海街道便民服务中心", region_id="sz")),
            metadata=token, timeout=10)
        self.admin.CreateCategory(admin_pb.CreateCategoryRequest(
            category=registry_pb.Category(id="commuting", name="走读")),
            metadata=token, timeout=10)
        with self.assertRaises(grpc.RpcError) as taken:
            self.admin.CreateUnit(admin_pb.CreateUnitRequest(
                unit=registry_pb.Unit(id="yuehai", name="x", region_id="sz")),
                metadata=token, timeout=10)
        self.assertEqual(taken.exception.code(), grpc.StatusCode.ALREADY_EXISTS)

        device = self.enroll()
        self.assertTrue(device.pseudonym.startswith("i-"))
        me = self.auth(device.token)

        summaries = ["窗口无人值守", "材料齐全仍被要求补证明", "干部上班时间离岗"]
        push = sync_pb.PushRequest(mutations=[
            self.report(device, i + 1, s) for i, s in enumerate(summaries)])
        reply = self.sync.Push(push, metadata=me, timeout=10)
        self.assertEqual([r.outcome for r in reply.results],
                         [sync_pb.OUTCOME_APPLIED] * 3)
        self.assertEqual(reply.high_water_mark, 3)

        replay = self.sync.Push(push, metadata=me, timeout=10)
        self.assertEqual([r.outcome for r in replay.results],
                         [sync_pb.OUTCOME_ALREADY_APPLIED] * 3)
        self.assertEqual([r.event_seq for r in replay.results],
                         [r.event_seq for r in reply.results])

        bad = self.report(device, 4, "不存在的单位", unit="nowhere")
        rejected = self.sync.Push(sync_pb.PushRequest(mutations=[bad]),
                                  metadata=me, timeout=10)
        self.assertEqual(rejected.results[0].outcome, sync_pb.OUTCOME_REJECTED)
        self.assertEqual(rejected.results[0].rejection.field,
                         "report_finding.finding.unit_id")
        self.assertEqual(rejected.high_water_mark, 4)

        changes, cursor = [], b""
        for _ in range(100):
            page = self.sync.Pull(sync_pb.PullRequest(cursor=cursor, limit=2),
                                  metadata=me, timeout=10)
            self.assertFalse(page.reset)
            changes.extend(page.changes)
            cursor = page.next_cursor
            if not page.more:
                break
        kinds = [c.WhichOneof("item") for c in changes]
        self.assertEqual(kinds, ["region", "unit", "category"] + ["finding"] * 3)
        self.assertEqual(changes[1].unit.name, "粤海街道便民服务中心")
        self.assertEqual(sorted(c.finding.finding.summary for c in changes[3:]),
                         sorted(summaries))
        self.assertTrue(all(c.finding.status == pb.FINDING_STATUS_REPORTED
                            for c in changes[3:]))

        with self.assertRaises(grpc.RpcError) as gap:
            self.sync.Push(sync_pb.PushRequest(
                mutations=[self.report(device, 9, "跳号")]), metadata=me, timeout=10)
        self.assertEqual(gap.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        trailers = dict(gap.exception.trailing_metadata())
        self.assertEqual(trailers.get("fieldledger-high-water-mark"), "4")

    def test_2_authentication(self):
        with self.assertRaises(grpc.RpcError) as missing:
            self.sync.Pull(sync_pb.PullRequest(), timeout=10)
        self.assertEqual(missing.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        with self.assertRaises(grpc.RpcError) as admin_push:
            self.sync.Push(sync_pb.PushRequest(),
                           metadata=self.auth(self.admin_token), timeout=10)
        self.assertEqual(admin_push.exception.code(),
                         grpc.StatusCode.PERMISSION_DENIED)
        device = self.enroll()
        with self.assertRaises(grpc.RpcError) as inspector_admin:
            self.admin.ListRegions(admin_pb.ListRegionsRequest(),
                                   metadata=self.auth(device.token), timeout=10)
        self.assertEqual(inspector_admin.exception.code(),
                         grpc.StatusCode.PERMISSION_DENIED)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--proto-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
