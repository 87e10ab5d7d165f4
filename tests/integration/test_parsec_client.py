"""PARSEC client compatibility: a client that behaves like PARSEC's own Go and Rust
clients works unchanged.

Those clients open one connection per request, write the request, and read until the
service closes the connection, which PARSEC's service does right after every response.
Here each request is done exactly that way: one connection, one request, then recv()
until it returns b"" (EOF). The socket timeout is a generous hang detector and the
daemon's idle timeout is set far above it, so a service that kept the connection open
makes recv() time out and the test fail; nothing here measures how fast EOF comes.

turtled keeps a connection open only for a request whose header carries its keep-alive
flag (parsec.FLAG_KEEP_ALIVE, bit 15 of PARSEC's flags field); PARSEC's clients send
flags = 0 and must see PARSEC's response header, flags included."""

import hashlib
import socket

import pytest

import ossl
import parsec

OP, ST = parsec.OP, parsec.ST

HANG = 20.0   # seconds: only a hang detector, far below the daemon's idle timeout


@pytest.fixture
def svc(daemon_factory):
    # An idle timeout of 10 minutes: if the daemon kept PARSEC connections open, only
    # the idle timeout would end them, long after HANG.
    return daemon_factory("[limits]\nidle_timeout_ms = 600000\n")


def parsec_call(path, frame):
    """One request the way PARSEC's clients make it; returns (response, trailing bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(HANG)
    try:
        s.connect(path)
        s.sendall(frame)
        data = bytearray()
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                pytest.fail("no EOF within %.0f s: the service kept a PARSEC client's "
                            "connection open after its response" % HANG)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    assert len(data) >= parsec.HDR_LEN, "closed without a response"
    h = parsec.Header.unpack(bytes(data[:parsec.HDR_LEN]))
    end = parsec.HDR_LEN + h.body_len
    assert len(data) >= end, "closed in the middle of the response body"
    return parsec.Response(h, bytes(data[parsec.HDR_LEN:end])), bytes(data[end:])


def call(path, opcode, op=None, result_cls=None, provider=0, auth=parsec.AUTH_NOAUTH,
         session=0):
    body = op.SerializeToString() if op is not None else b""
    r, rest = parsec_call(path, parsec.build_request(opcode, body, provider=provider,
                                                     auth=auth, session=session))
    assert rest == b"", "bytes after the one response"
    # PARSEC's response header: nothing of turtled's extension shows
    assert r.header.flags == 0
    assert r.header.opcode == opcode and r.header.session == session
    assert r.header.reserved == 0 and r.header.auth_len == 0
    if r.status != 0 or result_cls is None:
        return r.status, None
    res = result_cls()
    res.ParseFromString(r.body)
    return r.status, res


def test_core_operations_one_per_connection(svc, pb):
    st, res = call(svc.sock, OP.PING, pb.ping.Operation(), pb.ping.Result, session=7)
    assert st == 0 and res.wire_protocol_version_maj == 1 and res.wire_protocol_version_min == 0
    st, res = call(svc.sock, OP.LIST_PROVIDERS, pb.list_providers.Operation(),
                   pb.list_providers.Result)
    assert st == 0 and [p.id for p in res.providers] == [1, 0]
    st, res = call(svc.sock, OP.LIST_AUTHENTICATORS, pb.list_authenticators.Operation(),
                   pb.list_authenticators.Result)
    assert st == 0 and len(res.authenticators) >= 1


def test_key_lifecycle_one_request_per_connection(svc, pb, algs, wd):
    """What PARSEC's end-to-end suites do: generate, sign, export, verify, destroy, each on
    a fresh connection read to EOF, under the Unix peer authenticator."""
    auth = parsec.auth_unix()
    attrs = parsec.ecc_p256_sign_attrs(pb)
    st, _ = call(svc.sock, OP.PSA_GENERATE_KEY,
                 pb.psa_generate_key.Operation(key_name="go-suite", attributes=attrs),
                 provider=1, auth=auth)
    assert st == 0
    digest = hashlib.sha256(b"parsec client").digest()
    st, sig = call(svc.sock, OP.PSA_SIGN_HASH,
                   pb.psa_sign_hash.Operation(key_name="go-suite", alg=algs.ecdsa("SHA_256"),
                                              hash=digest),
                   pb.psa_sign_hash.Result, provider=1, auth=auth)
    assert st == 0
    st, pub = call(svc.sock, OP.PSA_EXPORT_PUBLIC_KEY,
                   pb.psa_export_public_key.Operation(key_name="go-suite"),
                   pb.psa_export_public_key.Result, provider=1, auth=auth)
    assert st == 0
    pem = ossl.pubkey_pem_from_point(wd, "P-256", pub.data)
    assert ossl.dgst_verify(wd, pem, b"parsec client", ossl.ecdsa_raw_to_der(sig.signature))
    st, _ = call(svc.sock, OP.PSA_VERIFY_HASH,
                 pb.psa_verify_hash.Operation(key_name="go-suite", alg=algs.ecdsa("SHA_256"),
                                              hash=digest, signature=sig.signature),
                 provider=1, auth=auth)
    assert st == 0
    st, _ = call(svc.sock, OP.PSA_DESTROY_KEY,
                 pb.psa_destroy_key.Operation(key_name="go-suite"), provider=1, auth=auth)
    assert st == 0
    # error responses end the connection the same way
    st, _ = call(svc.sock, OP.PSA_DESTROY_KEY,
                 pb.psa_destroy_key.Operation(key_name="go-suite"), provider=1, auth=auth)
    assert st == ST.PSA_DOES_NOT_EXIST
    st, _ = call(svc.sock, OP.LIST_KEYS, pb.list_keys.Operation())
    assert st == ST.NOT_AUTHENTICATED


def test_pipelined_without_flag_gets_one_response(svc):
    """A client that did not ask to keep the connection gets one response and EOF, as
    from PARSEC's service, even if it wrote more."""
    frames = b"".join(parsec.build_request(OP.PING, session=i) for i in (1, 2, 3))
    r, rest = parsec_call(svc.sock, frames)
    assert r.status == 0 and r.header.session == 1 and r.header.flags == 0
    assert rest == b""


def test_keep_alive_flag_keeps_the_connection(svc):
    """The same requests with the flag: all answered on one connection, each response
    saying that the connection stays open; a last one without the flag ends it."""
    keep = parsec.FLAG_KEEP_ALIVE
    with parsec.connect(svc.sock, HANG) as s:
        for i in range(1, 6):
            s.sendall(parsec.build_request(OP.PING, session=i, flags=keep))
            r = parsec.read_response(s)
            assert r.status == 0 and r.header.session == i
            assert r.header.flags == keep
        s.sendall(parsec.build_request(OP.PING, session=99))
        r = parsec.read_response(s)
        assert r.status == 0 and r.header.flags == 0
        assert parsec.peer_closed(s), "the connection stayed open after a request " \
                                      "without the keep-alive flag"
