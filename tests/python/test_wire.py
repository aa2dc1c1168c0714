#!/usr/bin/python3
"""The wire contract from a non-C++ client.

Starts fieldledgerd on port 0 in a temporary directory and talks to it with
Python stubs generated from proto/fieldledger/v1 (Debian's python3-grpcio):
registry, enrollment, Push (applied, replayed, rejected, gap), Pull, the
authentication errors, a supervisor's case steps, and a leaf's inclusion in a
signed checkpoint, checked here with hashlib from the RFC 9162 and C2SP texts.
Standard library besides grpc and protobuf.

  /usr/bin/python3 test_wire.py --server build/bin/fieldledgerd \
      --proto-dir build/proto/python
"""
import argparse
import base64
import hashlib
import os
import secrets
import selectors
import subprocess
import sys
import tempfile
import time
import unittest

ARGS = None
START_TIMEOUT_S = 30
RPC_TIMEOUT_S = 10

# Filled by load_modules().
grpc = None
common_pb = admin_pb = admin_grpc = finding_pb = registry_pb = None
sync_pb = sync_grpc = case_pb = event_pb = None
supervision_pb = supervision_grpc = ledger_pb = ledger_grpc = None


def load_modules():
    """Imports grpc and the generated stubs, failing loudly when missing."""
    global grpc, common_pb, admin_pb, admin_grpc, finding_pb, registry_pb
    global sync_pb, sync_grpc, case_pb, event_pb
    global supervision_pb, supervision_grpc, ledger_pb, ledger_grpc
    stubs = os.path.join(ARGS.proto_dir, "fieldledger", "v1", "sync_pb2_grpc.py")
    if not os.path.isfile(stubs):
        sys.exit(f"no Python stubs at {stubs}: build fieldledger_proto_python")
    if not os.access(ARGS.server, os.X_OK):
        sys.exit(f"no server at {ARGS.server}: build fieldledgerd")
    sys.path.insert(0, ARGS.proto_dir)
    import grpc as grpc_module  # Debian: python3-grpcio
    grpc = grpc_module
    from fieldledger.v1 import admin_pb2, admin_pb2_grpc, common_pb2
    from fieldledger.v1 import finding_pb2, registry_pb2, sync_pb2, sync_pb2_grpc
    common_pb, admin_pb, admin_grpc = common_pb2, admin_pb2, admin_pb2_grpc
    finding_pb, registry_pb = finding_pb2, registry_pb2
    sync_pb, sync_grpc = sync_pb2, sync_pb2_grpc
    from fieldledger.v1 import case_pb2, event_pb2, ledger_pb2, ledger_pb2_grpc
    from fieldledger.v1 import supervision_pb2, supervision_pb2_grpc
    case_pb, event_pb = case_pb2, event_pb2
    supervision_pb, supervision_grpc = supervision_pb2, supervision_pb2_grpc
    ledger_pb, ledger_grpc = ledger_pb2, ledger_pb2_grpc


def uuid7():
    """A UUIDv7 in canonical text form: 48-bit Unix ms, version 7, variant 10,
    the rest random."""
    value = (time.time_ns() // 1_000_000 << 80) | secrets.randbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(index, size, leaf_hash, proof):
    """RFC 9162 section 2.1.3.2: the root an inclusion proof leads to, or
    None when the proof has the wrong length for (index, size)."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def parse_checkpoint(note):
    """C2SP signed-note + tlog-checkpoint: returns (origin, size, root,
    [(key name, key id, signature)])."""
    text, _, signatures = note.partition("\n\n")
    origin, size, root = text.split("\n")[:3]
    sigs = []
    for line in signatures.splitlines():
        prefix, name, blob = line.split(" ")
        assert prefix == "\u2014", line
        raw = base64.b64decode(blob)
        sigs.append((name, raw[:4], raw[4:]))
    return origin, int(size), base64.b64decode(root), sigs


def start_server(data_dir):
    """Starts fieldledgerd on 127.0.0.1:0; returns (process, address) once it
    says it serves, waiting at most START_TIMEOUT_S."""
    process = subprocess.Popen(
        [ARGS.server, f"--data_dir={data_dir}", "--listen=127.0.0.1:0"],
        stdout=subprocess.PIPE)
    text = b""
    deadline = time.monotonic() + START_TIMEOUT_S
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"serving on " not in text or b"," not in text.split(b"serving on ")[1]:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(timeout=left):
                process.kill()
                process.wait()
                raise RuntimeError(f"fieldledgerd did not serve in time: {text!r}")
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                process.wait()
                raise RuntimeError(f"fieldledgerd exited: {text!r}")
            text += chunk
    address = text.split(b"serving on ")[1].split(b",")[0].decode()
    return process, address


class WireTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="fieldledger_wire.")
        cls.addClassCleanup(cls.tmp.cleanup)
        data_dir = os.path.join(cls.tmp.name, "data")
        cls.server, address = start_server(data_dir)
        # Registered before anything else can fail, so the server never
        # outlives the test.
        cls.addClassCleanup(cls.stop_server)
        with open(os.path.join(data_dir, "admin.token")) as f:
            cls.admin_token = f.read().strip()
        cls.channel = grpc.insecure_channel(address)
        cls.addClassCleanup(cls.channel.close)
        cls.admin = admin_grpc.AdminStub(cls.channel)
        cls.sync = sync_grpc.FieldSyncStub(cls.channel)

    @classmethod
    def stop_server(cls):
        if cls.server.poll() is None:
            cls.server.terminate()
            try:
                cls.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                cls.server.kill()
                cls.server.wait()
                raise
        cls.server.stdout.close()

    @staticmethod
    def auth(token):
        return [("authorization", f"Bearer {token}")]

    def enroll(self, role=None, scope=""):
        role = role or common_pb.ROLE_INSPECTOR
        code = self.admin.CreateEnrollmentCode(
            admin_pb.CreateEnrollmentCodeRequest(role=role, scope=scope),
            metadata=self.auth(self.admin_token), timeout=RPC_TIMEOUT_S)
        self.assertTrue(code.code)
        device = self.sync.Enroll(sync_pb.EnrollRequest(code=code.code),
                                  timeout=RPC_TIMEOUT_S)
        self.assertEqual((device.role, device.scope), (role, scope))
        self.assertTrue(device.token and device.pseudonym)
        # Only inspectors push, so only they get a mutation stream.
        self.assertEqual(bool(device.client_id), role == common_pb.ROLE_INSPECTOR)
        return device, code.code

    @staticmethod
    def report(device, seq, summary, unit="yuehai", category="commuting"):
        finding = finding_pb.Finding(
            id=uuid7(), unit_id=unit, category_id=category, summary=summary,
            detail="排队群众十余人，窗口无人办理", severity=finding_pb.SEVERITY_HIGH)
        finding.observed_at.FromSeconds(int(time.time()) - 60)
        finding.location.latitude = 22.5431
        finding.location.longitude = 113.9365
        return sync_pb.Mutation(
            client_id=device.client_id, client_seq=seq,
            report_finding=sync_pb.ReportFinding(finding=finding))

    def push(self, token, mutations):
        return self.sync.Push(sync_pb.PushRequest(mutations=mutations),
                              metadata=self.auth(token), timeout=RPC_TIMEOUT_S)

    def test_uuid7(self):
        ids = [uuid7() for _ in range(100)]
        self.assertEqual(len(set(ids)), 100)
        for u in ids:
            self.assertRegex(u, r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-"
                                r"[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        ms = int(ids[0].replace("-", "")[:12], 16)
        self.assertLess(abs(ms - time.time() * 1000), 60_000)

    def test_registry_enroll_push_pull(self):
        token = self.auth(self.admin_token)
        self.admin.CreateRegion(admin_pb.CreateRegionRequest(
            region=registry_pb.Region(id="440305", name="南山区")),
            metadata=token, timeout=RPC_TIMEOUT_S)
        self.admin.CreateUnit(admin_pb.CreateUnitRequest(
            unit=registry_pb.Unit(id="yuehai", name="粤海街道便民服务中心",
                                  region_id="440305")),
            metadata=token, timeout=RPC_TIMEOUT_S)
        self.admin.CreateCategory(admin_pb.CreateCategoryRequest(
            category=registry_pb.Category(id="commuting", name="走读",
                                          description="干部工作日不在岗、通勤回城")),
            metadata=token, timeout=RPC_TIMEOUT_S)
        with self.assertRaises(grpc.RpcError) as taken:
            self.admin.CreateUnit(admin_pb.CreateUnitRequest(
                unit=registry_pb.Unit(id="yuehai", name="重复", region_id="440305")),
                metadata=token, timeout=RPC_TIMEOUT_S)
        self.assertEqual(taken.exception.code(), grpc.StatusCode.ALREADY_EXISTS)

        device, code = self.enroll()
        me = device.token
        with self.assertRaises(grpc.RpcError) as reused:
            self.sync.Enroll(sync_pb.EnrollRequest(code=code), timeout=RPC_TIMEOUT_S)
        self.assertEqual(reused.exception.code(), grpc.StatusCode.PERMISSION_DENIED)

        # Three findings, applied in order.
        summaries = ["窗口无人值守", "材料齐全仍被要求补证明", "干部上班时间离岗"]
        mutations = [self.report(device, i + 1, s) for i, s in enumerate(summaries)]
        reply = self.push(me, mutations)
        self.assertEqual([r.outcome for r in reply.results],
                         [sync_pb.OUTCOME_APPLIED] * 3)
        self.assertEqual([r.client_seq for r in reply.results], [1, 2, 3])
        event_seqs = [r.event_seq for r in reply.results]
        self.assertEqual(event_seqs, sorted(set(event_seqs)))
        self.assertEqual(reply.high_water_mark, 3)

        # The same Push again: acknowledged again, not applied again.
        replay = self.push(me, mutations)
        self.assertEqual([r.outcome for r in replay.results],
                         [sync_pb.OUTCOME_ALREADY_APPLIED] * 3)
        self.assertEqual([r.event_seq for r in replay.results], event_seqs)
        self.assertEqual(replay.high_water_mark, 3)
        self.assertEqual(self.push(me, []).high_water_mark, 3)

        # Invalid ones: rejected for good with the field path; the mark moves.
        unknown_unit = self.report(device, 4, "不存在的单位", unit="nowhere")
        empty_summary = self.report(device, 5, "")
        rejected = self.push(me, [unknown_unit, empty_summary])
        self.assertEqual([r.outcome for r in rejected.results],
                         [sync_pb.OUTCOME_REJECTED] * 2)
        self.assertEqual(rejected.results[0].rejection.field,
                         "report_finding.finding.unit_id")
        self.assertEqual(rejected.results[0].rejection.code, 5)  # NOT_FOUND
        self.assertEqual(rejected.results[1].rejection.field,
                         "report_finding.finding.summary")
        self.assertEqual(rejected.results[1].rejection.code, 3)  # INVALID_ARGUMENT
        self.assertTrue(rejected.results[1].rejection.message)
        self.assertEqual(rejected.high_water_mark, 5)
        again = self.push(me, [unknown_unit])
        self.assertEqual(again.results[0].outcome, sync_pb.OUTCOME_REJECTED)
        self.assertEqual(again.results[0].rejection.field,
                         "report_finding.finding.unit_id")

        # A gap: refused, and the trailer says where to resend from.
        with self.assertRaises(grpc.RpcError) as gap:
            self.push(me, [self.report(device, 9, "跳号")])
        self.assertEqual(gap.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        trailers = dict(gap.exception.trailing_metadata())
        self.assertEqual(trailers.get("fieldledger-high-water-mark"), "5")
        self.assertEqual(self.push(me, []).high_water_mark, 5)

        # Pull in pages of two until there is no more.
        changes, cursor, done = [], b"", False
        for _ in range(50):
            page = self.sync.Pull(sync_pb.PullRequest(cursor=cursor, limit=2),
                                  metadata=self.auth(me), timeout=RPC_TIMEOUT_S)
            self.assertFalse(page.reset)
            self.assertTrue(page.next_cursor)
            self.assertLessEqual(len(page.changes), 2)
            changes.extend(page.changes)
            cursor = page.next_cursor
            if not page.more:
                done = True
                break
        self.assertTrue(done, "Pull kept saying more")
        seqs = [c.seq for c in changes]
        self.assertEqual(seqs, sorted(set(seqs)))
        registry = [c for c in changes if c.WhichOneof("item") != "finding"]
        findings = [c for c in changes if c.WhichOneof("item") == "finding"]
        self.assertEqual([c.WhichOneof("item") for c in registry],
                         ["region", "unit", "category"])
        self.assertEqual(registry[0].region.name, "南山区")
        self.assertEqual(registry[1].unit.name, "粤海街道便民服务中心")
        self.assertEqual(registry[1].unit.region_id, "440305")
        self.assertEqual(registry[2].category.name, "走读")
        self.assertEqual(registry[2].category.description, "干部工作日不在岗、通勤回城")
        self.assertEqual(len(findings), 3)
        sent = {m.report_finding.finding.id: m.report_finding.finding
                for m in mutations}
        for c in findings:
            self.assertEqual(c.finding.status, finding_pb.FINDING_STATUS_REPORTED)
            self.assertEqual(c.finding.finding, sent[c.finding.finding.id])
        self.assertEqual(sorted(c.finding.finding.summary for c in findings),
                         sorted(summaries))
        self.assertEqual(sorted(c.seq for c in findings), event_seqs)

        # Nothing new after the last cursor.
        tail = self.sync.Pull(sync_pb.PullRequest(cursor=cursor),
                              metadata=self.auth(me), timeout=RPC_TIMEOUT_S)
        self.assertEqual((len(tail.changes), tail.more, tail.reset), (0, False, False))

    def test_authentication(self):
        with self.assertRaises(grpc.RpcError) as missing:
            self.sync.Pull(sync_pb.PullRequest(), timeout=RPC_TIMEOUT_S)
        self.assertEqual(missing.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        with self.assertRaises(grpc.RpcError) as unknown:
            self.sync.Push(sync_pb.PushRequest(), metadata=self.auth("not-a-token"),
                           timeout=RPC_TIMEOUT_S)
        self.assertEqual(unknown.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        with self.assertRaises(grpc.RpcError) as admin_push:
            self.push(self.admin_token, [])
        self.assertEqual(admin_push.exception.code(),
                         grpc.StatusCode.PERMISSION_DENIED)
        device, _ = self.enroll()
        with self.assertRaises(grpc.RpcError) as inspector_admin:
            self.admin.ListRegions(admin_pb.ListRegionsRequest(),
                                   metadata=self.auth(device.token),
                                   timeout=RPC_TIMEOUT_S)
        self.assertEqual(inspector_admin.exception.code(),
                         grpc.StatusCode.PERMISSION_DENIED)
        # Someone else's client_id is refused as a whole.
        other, _ = self.enroll()
        with self.assertRaises(grpc.RpcError) as foreign:
            self.push(device.token, [self.report(other, 1, "冒用他人编号")])
        self.assertIn(foreign.exception.code(),
                      (grpc.StatusCode.PERMISSION_DENIED,
                       grpc.StatusCode.INVALID_ARGUMENT))
        self.assertEqual(self.push(other.token, []).high_water_mark, 0)

    def test_supervision_and_ledger(self):
        token = self.auth(self.admin_token)
        self.admin.CreateRegion(admin_pb.CreateRegionRequest(
            region=registry_pb.Region(id="440306", name="宝安区")),
            metadata=token, timeout=RPC_TIMEOUT_S)
        self.admin.CreateUnit(admin_pb.CreateUnitRequest(
            unit=registry_pb.Unit(id="xixiang", name="西乡街道办事处",
                                  region_id="440306")),
            metadata=token, timeout=RPC_TIMEOUT_S)
        self.admin.CreateCategory(admin_pb.CreateCategoryRequest(
            category=registry_pb.Category(id="obstruction", name="中梗阻")),
            metadata=token, timeout=RPC_TIMEOUT_S)
        inspector, _ = self.enroll()
        mutation = self.report(inspector, 1, "审批材料压在科室一周未动",
                               unit="xixiang", category="obstruction")
        case_id = mutation.report_finding.finding.id
        reply = self.push(inspector.token, [mutation])
        self.assertEqual(reply.results[0].outcome, sync_pb.OUTCOME_APPLIED)
        leaf = reply.results[0].event_seq

        # The supervisor of the district sees the case and accepts it once;
        # one of another district does not see it at all.
        supervision = supervision_grpc.SupervisionStub(self.channel)
        boss, _ = self.enroll(common_pb.ROLE_SUPERVISOR, scope="440306")
        listed = supervision.ListCases(
            supervision_pb.ListCasesRequest(region_id="440306"),
            metadata=self.auth(boss.token), timeout=RPC_TIMEOUT_S)
        self.assertEqual([c.id for c in listed.cases], [case_id])
        seen = listed.cases[0]
        self.assertEqual(seen.status, case_pb.CASE_STATUS_REPORTED)
        self.assertEqual((seen.unit_id, list(seen.region_path)),
                         ("xixiang", ["440306"]))
        accept = case_pb.CaseAction(case_id=case_id,
                                    expected_version=seen.version,
                                    accept=case_pb.AcceptCase(note="属实"))
        done = supervision.Accept(
            supervision_pb.CaseActionRequest(action=accept),
            metadata=self.auth(boss.token), timeout=RPC_TIMEOUT_S)
        self.assertEqual(done.version, seen.version + 1)
        now = supervision.GetCase(supervision_pb.GetCaseRequest(case_id=case_id),
                                  metadata=self.auth(boss.token),
                                  timeout=RPC_TIMEOUT_S)
        self.assertEqual(now.case.status, case_pb.CASE_STATUS_ACCEPTED)
        self.assertEqual([e.seq for e in now.history], [leaf, done.event_seq])
        self.assertEqual(now.history[0].finding_reported.summary,
                         "审批材料压在科室一周未动")
        self.assertEqual(now.history[1].case_accepted.note, "属实")
        with self.assertRaises(grpc.RpcError) as stale:
            supervision.Accept(supervision_pb.CaseActionRequest(action=accept),
                               metadata=self.auth(boss.token),
                               timeout=RPC_TIMEOUT_S)
        self.assertEqual(stale.exception.code(), grpc.StatusCode.ABORTED)
        other, _ = self.enroll(common_pb.ROLE_SUPERVISOR, scope="440305")
        with self.assertRaises(grpc.RpcError) as hidden:
            supervision.GetCase(supervision_pb.GetCaseRequest(case_id=case_id),
                                metadata=self.auth(other.token),
                                timeout=RPC_TIMEOUT_S)
        self.assertEqual(hidden.exception.code(), grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(grpc.RpcError) as inspector_denied:
            supervision.ListCases(supervision_pb.ListCasesRequest(),
                                  metadata=self.auth(inspector.token),
                                  timeout=RPC_TIMEOUT_S)
        self.assertEqual(inspector_denied.exception.code(),
                         grpc.StatusCode.PERMISSION_DENIED)

        # An auditor proves the finding's leaf is in a signed checkpoint. The
        # node signs at most once a second, so wait (bounded) for one that
        # covers the leaf.
        ledger = ledger_grpc.LedgerStub(self.channel)
        auditor, _ = self.enroll(common_pb.ROLE_AUDITOR)
        auth = self.auth(auditor.token)
        deadline = time.monotonic() + 20
        while True:
            got = ledger.GetCheckpoint(ledger_pb.GetCheckpointRequest(),
                                       metadata=auth, timeout=RPC_TIMEOUT_S)
            origin, size, root, sigs = parse_checkpoint(got.checkpoint)
            if size > leaf:
                break
            self.assertLess(time.monotonic(), deadline, "no checkpoint covers the leaf")
            time.sleep(0.1)
        name, key_hash, key = got.verifier_key.split("+", 2)
        self.assertEqual(name, origin)
        key = base64.b64decode(key)
        self.assertEqual((key[0], len(key)), (1, 33))  # Ed25519, 32-byte key
        key_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
        self.assertEqual(key_hash, key_id.hex())
        self.assertIn((name, key_id), [(n, i) for n, i, _ in sigs])
        self.assertTrue(all(len(s) == 64 for _, _, s in sigs))

        entry = ledger.GetEntries(ledger_pb.GetEntriesRequest(start=leaf,
                                                              max_entries=1),
                                  metadata=auth, timeout=RPC_TIMEOUT_S).entries[0]
        event = event_pb.Event.FromString(entry)
        self.assertEqual(event.seq, leaf)
        self.assertEqual(event.finding_reported.id, case_id)
        self.assertEqual(event.actor, inspector.pseudonym)
        proof = ledger.GetInclusionProof(
            ledger_pb.GetInclusionProofRequest(leaf_index=leaf, tree_size=size),
            metadata=auth, timeout=RPC_TIMEOUT_S).hashes
        leaf_hash = hashlib.sha256(b"\x00" + entry).digest()
        self.assertEqual(root_from_inclusion_proof(leaf, size, leaf_hash, proof), root)
        flipped = bytes([entry[0] ^ 1]) + entry[1:]
        self.assertNotEqual(root_from_inclusion_proof(
            leaf, size, hashlib.sha256(b"\x00" + flipped).digest(), proof), root)
        self.assertIsNone(root_from_inclusion_proof(leaf, size, leaf_hash,
                                                    list(proof) + [root]))
        with self.assertRaises(grpc.RpcError) as inspector_entries:
            ledger.GetEntries(ledger_pb.GetEntriesRequest(start=0),
                              metadata=self.auth(inspector.token),
                              timeout=RPC_TIMEOUT_S)
        self.assertEqual(inspector_entries.exception.code(),
                         grpc.StatusCode.PERMISSION_DENIED)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--proto-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    load_modules()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
