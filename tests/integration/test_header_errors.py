"""Malformed and refused requests each get their PARSEC status.

Frame-level errors (the header cannot be trusted, or the body would exceed the limit)
get one error response and then the connection is closed; request-level errors leave a
persistent connection usable."""

import os
import socket
import struct

import pytest

import parsec

OP, ST = parsec.OP, parsec.ST


def send_and_read(path, frame):
    s = parsec.connect(path)
    s.sendall(frame)
    r = parsec.read_response(s)
    return s, r


def assert_closed(s):
    s.settimeout(10.0)   # hang detector
    assert parsec.peer_closed(s), "server kept the connection open after a frame error"
    s.close()


def assert_still_usable(s):
    s.sendall(parsec.build_request(OP.PING, flags=parsec.FLAG_KEEP_ALIVE))
    r = parsec.read_response(s)
    assert r.status == 0 and r.header.opcode == OP.PING
    s.close()


def ping_ok(path):
    with parsec.connect(path) as s:
        s.sendall(parsec.build_request(OP.PING))
        assert parsec.read_response(s).status == 0


@pytest.mark.parametrize("field,value,status", [
    ("magic", 0x5EC0A711, ST.INVALID_HEADER),
    ("magic", 0, ST.INVALID_HEADER),
    ("hdr_size", 29, ST.INVALID_HEADER),
    ("hdr_size", 31, ST.INVALID_HEADER),
    ("ver_maj", 2, ST.WIRE_PROTOCOL_VERSION_NOT_SUPPORTED),
    ("ver_min", 1, ST.WIRE_PROTOCOL_VERSION_NOT_SUPPORTED),
    ("reserved", 1, ST.INVALID_HEADER),
    ("reserved", 0x100, ST.INVALID_HEADER),
])
def test_bad_header_then_close(daemon, field, value, status):
    frame = parsec.build_request(OP.PING, **{field: value})
    s, r = send_and_read(daemon.sock, frame)
    assert r.header.magic == parsec.MAGIC and r.header.hdr_size == 30
    assert r.status == status
    assert_closed(s)
    ping_ok(daemon.sock)


def test_body_over_default_limit_without_body(daemon):
    # 1 MiB is the default; announce one byte more and never send the body: the answer
    # must come from the header alone.
    h = parsec.Header(body_len=1024 * 1024 + 1, opcode=OP.PING)
    s, r = send_and_read(daemon.sock, h.pack())
    assert r.status == ST.BODY_SIZE_EXCEEDS_LIMIT
    assert_closed(s)
    h = parsec.Header(body_len=0xFFFFFFFF, opcode=OP.PING)
    s, r = send_and_read(daemon.sock, h.pack())
    assert r.status == ST.BODY_SIZE_EXCEEDS_LIMIT
    assert_closed(s)
    ping_ok(daemon.sock)


def test_body_at_default_limit_is_read(daemon, pb):
    # Exactly 1 MiB is within the limit: the body is read and the request handled
    # (here: hashing 1 MiB less the protobuf framing).
    data = b"\x00" * (1024 * 1024 - 16)
    op = pb.psa_hash_compute.Operation(alg=pb.psa_algorithm.Algorithm.SHA_256, input=data)
    body = op.SerializeToString()
    assert len(body) <= 1024 * 1024
    c = parsec.Client(daemon.sock, pb, auth=parsec.auth_direct("alice"))
    r = c.request(OP.PSA_HASH_COMPUTE, body)
    assert r.status == 0


def test_body_over_configured_limit(daemon_factory, pb):
    d = daemon_factory("[limits]\nmax_body = 1024\n")
    h = parsec.Header(body_len=1025, opcode=OP.PING)
    s, r = send_and_read(d.sock, h.pack())
    assert r.status == ST.BODY_SIZE_EXCEEDS_LIMIT
    assert_closed(s)
    # at the limit: handled normally
    c = parsec.Client(d.sock, pb, auth=parsec.auth_direct("alice"))
    op = pb.psa_hash_compute.Operation(alg=pb.psa_algorithm.Algorithm.SHA_256,
                                       input=b"a" * 1000)
    assert c.request(OP.PSA_HASH_COMPUTE, op.SerializeToString()).status == 0


def test_auth_over_limit(daemon):
    # The auth field has its own limit (8 KiB by default); a 65535-byte claim is refused.
    h = parsec.Header(auth_type=parsec.AUTH_DIRECT, auth_len=0xFFFF, opcode=OP.PING)
    with parsec.connect(daemon.sock) as s:
        s.sendall(h.pack())
        r = parsec.read_response(s)
        assert r.status != 0
        assert parsec.peer_closed(s)
    ping_ok(daemon.sock)


def test_truncated_body_then_close(daemon):
    h = parsec.Header(body_len=100, opcode=OP.PING)
    with parsec.connect(daemon.sock) as s:
        s.sendall(h.pack() + b"\x08" * 10)
    with parsec.connect(daemon.sock) as s:
        s.sendall(h.pack()[:20])   # truncated header too
    ping_ok(daemon.sock)


def test_truncated_header_then_close(daemon):
    for n in (1, 4, 35):
        with parsec.connect(daemon.sock) as s:
            s.sendall(parsec.build_request(OP.PING)[:n])
            s.shutdown(socket.SHUT_WR)
            # the server may answer or not, but must close and survive
            s.settimeout(10.0)
            while s.recv(4096):
                pass
    ping_ok(daemon.sock)


def req_status(path, frame):
    s, r = send_and_read(path, frame)
    return s, r


@pytest.mark.parametrize("case", [
    "garbage_protobuf", "unknown_opcode", "vendor_opcode", "provider_7", "provider_2",
    "content_type_1", "accept_type_1", "auth_type_9", "auth_type_tokens",
    "unix_wrong_uid", "noauth_key_op", "non_admin_list_clients",
    "non_admin_delete_client", "core_op_on_provider_1",
])
def test_request_errors(daemon, pb, case):
    alice = parsec.auth_direct("alice")
    gen = pb.psa_generate_key.Operation(key_name="k",
                                        attributes=parsec.ecc_p256_sign_attrs(pb))
    gen_body = gen.SerializeToString()
    cases = {
        # a varint that never ends / wrong wire types
        "garbage_protobuf": (dict(opcode=OP.PSA_GENERATE_KEY, body=b"\xff\xff\xff\xff",
                                  provider=1, auth=alice), ST.DESERIALIZING_BODY_FAILED),
        "unknown_opcode": (dict(opcode=0x7777, provider=0), ST.OPCODE_DOES_NOT_EXIST),
        "vendor_opcode": (dict(opcode=0x0001FFFF, provider=0), ST.OPCODE_DOES_NOT_EXIST),
        "provider_7": (dict(opcode=OP.PSA_GENERATE_KEY, body=gen_body, provider=7,
                            auth=alice), ST.PROVIDER_DOES_NOT_EXIST),
        "provider_2": (dict(opcode=OP.PSA_GENERATE_KEY, body=gen_body, provider=2,
                            auth=alice), ST.PROVIDER_NOT_REGISTERED),
        "content_type_1": (dict(opcode=OP.PING, content_type=1),
                           ST.CONTENT_TYPE_NOT_SUPPORTED),
        "accept_type_1": (dict(opcode=OP.PING, accept_type=1), ST.ACCEPT_TYPE_NOT_SUPPORTED),
        "auth_type_9": (dict(opcode=OP.LIST_KEYS, auth=(9, b"alice")),
                        ST.AUTHENTICATOR_DOES_NOT_EXIST),
        "auth_type_tokens": (dict(opcode=OP.LIST_KEYS, auth=(parsec.AUTH_TOKENS, b"x.y.z")),
                             ST.AUTHENTICATOR_NOT_REGISTERED),
        "unix_wrong_uid": (dict(opcode=OP.LIST_KEYS,
                                auth=parsec.auth_unix((os.getuid() + 4242) & 0xffffffff)),
                           ST.AUTHENTICATION_ERROR),
        "noauth_key_op": (dict(opcode=OP.PSA_GENERATE_KEY, body=gen_body, provider=1),
                          ST.NOT_AUTHENTICATED),
        "non_admin_list_clients": (dict(opcode=OP.LIST_CLIENTS, auth=alice),
                                   ST.ADMIN_OPERATION),
        "non_admin_delete_client": (dict(opcode=OP.DELETE_CLIENT, auth=alice,
                                         body=pb.delete_client.Operation(client="bob")
                                         .SerializeToString()), ST.ADMIN_OPERATION),
        # a core operation addressed to the soft provider
        "core_op_on_provider_1": (dict(opcode=OP.PING, provider=1), None),
    }
    kw, want = cases[case]
    opcode = kw.pop("opcode")
    body = kw.pop("body", b"")
    frame = parsec.build_request(opcode, body, session=0x1122334455667788,
                                 flags=parsec.FLAG_KEEP_ALIVE, **kw)
    s, r = send_and_read(daemon.sock, frame)
    if want is None:
        assert r.status != 0
    else:
        assert r.status == want, "got status %d" % r.status
    assert r.header.session == 0x1122334455667788, "session handle not echoed"
    assert r.header.opcode == opcode
    assert_still_usable(s)


def test_unix_auth_bad_length(daemon):
    # The unix peer auth field is exactly 4 bytes.
    frame = parsec.build_request(OP.LIST_KEYS, auth=(parsec.AUTH_UNIX_PEER, b"\x00\x00"))
    s, r = send_and_read(daemon.sock, frame)
    assert r.status == ST.AUTHENTICATION_ERROR
    s.close()


def test_direct_auth_empty_name(daemon):
    frame = parsec.build_request(OP.LIST_KEYS, auth=(parsec.AUTH_DIRECT, b""))
    s, r = send_and_read(daemon.sock, frame)
    assert r.status == ST.AUTHENTICATION_ERROR
    s.close()


def test_noauth_allowed_core_ops(daemon, pb):
    c = parsec.Client(daemon.sock, pb)
    c.ping()
    c.list_providers()
    c.list_authenticators()
    c.list_opcodes(1)


def test_header_is_little_endian(daemon):
    # Sanity check of our own packing against the spec's layout.
    raw = parsec.build_request(OP.PING)
    assert raw[:4] == bytes.fromhex("10a7c05e")
    assert struct.unpack_from("<H", raw, 4)[0] == 30
    assert len(raw) == 36
