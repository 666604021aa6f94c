"""Malformed and hostile HTTP/2 input against our server, over raw sockets. Each case
must get the connection or stream error RFC 9113 prescribes, while the server keeps
serving other connections and its memory stays bounded."""
import os
import resource
import socket
import struct
import threading
import time

import grpc
import pytest
from hpack import Encoder
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame, RstStreamFrame,
                              SettingsFrame, WindowUpdateFrame)

pytestmark = pytest.mark.timeout(60)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
PROTOCOL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED, FRAME_SIZE_ERROR, COMPRESSION_ERROR = 0x1, 0x3, 0x5, 0x6, 0x9

REQUEST = [(":method", "POST"), (":scheme", "http"), (":path", "/v1beta1.DevicePlugin/GetDevicePluginOptions"),
           (":authority", "localhost"), ("content-type", "application/grpc"), ("te", "trailers")]


class RawClient:
    def __init__(self, path, preface=True):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buffer = b""
        self.encoder = Encoder()
        if preface:
            self.send(PREFACE + SettingsFrame(0).serialize())

    def send(self, data):
        self.sock.sendall(data)

    def headers(self, stream, fields=REQUEST, end_stream=False):
        frame = HeadersFrame(stream, self.encoder.encode(fields))
        frame.flags.add("END_HEADERS")
        if end_stream:
            frame.flags.add("END_STREAM")
        self.send(frame.serialize())

    def frames(self):
        """Reads frames until the server closes the connection or goes quiet."""
        while True:
            while len(self.buffer) >= 9:
                frame, length = Frame.parse_frame_header(memoryview(self.buffer[:9]))
                if len(self.buffer) < 9 + length:
                    break
                frame.parse_body(memoryview(self.buffer[9:9 + length]))
                self.buffer = self.buffer[9 + length:]
                yield frame
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                return
            if not chunk:
                return
            self.buffer += chunk

    def goaway(self):
        for frame in self.frames():
            if isinstance(frame, GoAwayFrame):
                return frame
        raise AssertionError("no GOAWAY")

    def reset(self, stream):
        for frame in self.frames():
            if isinstance(frame, RstStreamFrame) and frame.stream_id == stream:
                return frame
            if isinstance(frame, GoAwayFrame):
                raise AssertionError(f"GOAWAY {frame.error_code} {frame.additional_data} instead of RST_STREAM")
        raise AssertionError("no RST_STREAM")

    def closed(self):
        for _ in self.frames():
            pass
        return True


def peak_rss_kib(server):
    """VmHWM, the process's peak resident set (proc(5))."""
    status = open(f"/proc/{server.process.pid}/status").read()
    return int(status.split("VmHWM:")[1].split()[0])


def still_serving(api, server):
    pb2, pb2_grpc = api
    channel = grpc.insecure_channel(server.target)
    assert pb2_grpc.DevicePluginStub(channel).GetDevicePluginOptions(pb2.Empty(), timeout=10).pre_start_required
    channel.close()


def test_bad_preface(api, server):
    client = RawClient(server.socket, preface=False)
    client.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert client.goaway().error_code == PROTOCOL_ERROR
    assert client.closed()
    still_serving(api, server)


def test_oversized_frame(api, server):
    client = RawClient(server.socket)
    client.send(struct.pack(">I", 20000)[1:] + bytes([0x0, 0x0]) + struct.pack(">I", 1) + b"\0" * 20000)
    assert client.goaway().error_code == FRAME_SIZE_ERROR
    still_serving(api, server)


def test_connection_window_overflow(api, server):
    client = RawClient(server.socket)
    client.send(WindowUpdateFrame(0, window_increment=0x7FFFFFFF).serialize())
    assert client.goaway().error_code == FLOW_CONTROL_ERROR
    still_serving(api, server)


def test_stream_window_overflow_resets_only_the_stream(api, server):
    client = RawClient(server.socket)
    client.headers(1)
    client.send(WindowUpdateFrame(1, window_increment=0x7FFFFFFF).serialize())
    assert client.reset(1).error_code == FLOW_CONTROL_ERROR
    still_serving(api, server)


def test_hpack_index_out_of_range(api, server):
    client = RawClient(server.socket)
    frame = HeadersFrame(1, bytes([0x82, 0x86, 0xFF, 0x7F]))  # indexed field 254: beyond the tables
    frame.flags.add("END_HEADERS")
    client.send(frame.serialize())
    assert client.goaway().error_code == COMPRESSION_ERROR
    still_serving(api, server)


def test_truncated_huffman_string(api, server):
    client = RawClient(server.socket)
    # Literal without indexing, new name, Huffman flag, length 5 but only 2 bytes follow.
    frame = HeadersFrame(1, bytes([0x82, 0x00, 0x85, 0xF2, 0xB2]))
    frame.flags.add("END_HEADERS")
    client.send(frame.serialize())
    assert client.goaway().error_code == COMPRESSION_ERROR
    still_serving(api, server)


def test_data_on_closed_stream(api, server):
    client = RawClient(server.socket)
    client.headers(1)
    client.send(DataFrame(1, b"\0\0\0\0\0", flags=["END_STREAM"]).serialize())
    # Wait for the response's END_STREAM, then send more DATA on the closed stream.
    for frame in client.frames():
        if isinstance(frame, HeadersFrame) and "END_STREAM" in frame.flags:
            break
    client.send(DataFrame(1, b"late").serialize())
    assert client.reset(1).error_code == STREAM_CLOSED
    still_serving(api, server)


def test_header_list_too_large_gets_431_and_the_connection_lives_on(api, server):
    from hpack import Decoder
    client = RawClient(server.socket)
    fields = REQUEST + [(f"x-filler-{i}", "v" * 1000) for i in range(80)]  # about 83 KB decoded > 65536
    block = client.encoder.encode(fields)
    client.send(HeadersFrame(1, block[:16000]).serialize())
    offset = 16000
    while offset < len(block):
        frame = ContinuationFrame(1, block[offset:offset + 16000])
        if offset + 16000 >= len(block):
            frame.flags.add("END_HEADERS")
        client.send(frame.serialize())
        offset += 16000
    decoder = Decoder()
    status = None
    for frame in client.frames():
        if isinstance(frame, HeadersFrame) and frame.stream_id == 1:
            status = dict(decoder.decode(frame.data))[":status"]
        if isinstance(frame, RstStreamFrame) and frame.stream_id == 1:
            assert frame.error_code == 0
            break
        assert not isinstance(frame, GoAwayFrame), f"GOAWAY {frame.error_code}"
    assert status == "431"
    # The HPACK state stayed in step: the next request on this connection works.
    client.headers(3)
    client.send(DataFrame(3, b"\0\0\0\0\0", flags=["END_STREAM"]).serialize())
    trailers = None
    for frame in client.frames():
        if isinstance(frame, HeadersFrame) and frame.stream_id == 3 and "END_STREAM" in frame.flags:
            trailers = dict(decoder.decode(frame.data))
            break
        if isinstance(frame, HeadersFrame):
            decoder.decode(frame.data)
    assert trailers["grpc-status"] == "0"
    still_serving(api, server)


def test_grpc_prefix_claiming_four_gibibytes(api, server):
    client = RawClient(server.socket)
    client.headers(1)
    client.send(DataFrame(1, b"\0\xff\xff\xff\xff" + b"x" * 100).serialize())
    decoder_fields = None
    from hpack import Decoder
    decoder = Decoder()
    for frame in client.frames():
        if isinstance(frame, HeadersFrame):
            decoder_fields = dict(decoder.decode(frame.data))
            if "END_STREAM" in frame.flags:
                break
    assert decoder_fields["grpc-status"] == "8"  # RESOURCE_EXHAUSTED
    assert decoder_fields["grpc-message"] == "grpc: received message larger than max (4294967295 vs. 4194304)"
    still_serving(api, server)


def test_ping_is_echoed(server):
    client = RawClient(server.socket)
    client.send(PingFrame(0, opaque_data=b"\x02\x04\x10\x10\x09\x0e\x07\x07").serialize())
    for frame in client.frames():
        if isinstance(frame, PingFrame):
            assert "ACK" in frame.flags
            assert frame.opaque_data == b"\x02\x04\x10\x10\x09\x0e\x07\x07"
            break


def test_memory_stays_bounded_under_repeated_abuse(api, server):
    baseline = server.rss_kib()
    def sockets():
        directory = f"/proc/{server.process.pid}/fd"
        count = 0
        for name in os.listdir(directory):
            try:
                count += os.readlink(f"{directory}/{name}").startswith("socket:")
            except FileNotFoundError:
                pass    # closed between the listing and the look: one fewer, which is what we wait for
        return count

    listening = sockets()
    for _ in range(30):
        client = RawClient(server.socket)
        try:
            client.headers(1)
            client.send(DataFrame(1, b"\0\x00\x3f\xff\xff" + b"y" * 16000).serialize())  # a 4 MiB message, never finished
            client.headers(3)
            client.send(DataFrame(3, b"\0\xff\xff\xff\xff").serialize())
        except (BrokenPipeError, ConnectionResetError):
            pass    # the server may cut the connection first: that is its answer to abuse
        client.sock.close()
    # 30 connections in a burst pass the limit of 16 until the server has seen the
    # closes (a new one meanwhile gets GOAWAY, and grpcio then backs off for seconds):
    # wait until every abusive connection is gone, which is itself the point.
    deadline = time.monotonic() + 10
    while sockets() > listening and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sockets() == listening, "abusive connections still open after 10 s"
    still_serving(api, server)
    assert server.rss_kib() - baseline < 64 * 1024, f"RSS grew from {baseline} KiB to {server.rss_kib()} KiB"


# Bounded connections and memory (issue 17 §3) and accepting under EMFILE (§2).

ENHANCE_YOUR_CALM, SETTINGS_TIMEOUT = 0xb, 0x4
LIST_AND_WATCH = [(k, "/v1beta1.DevicePlugin/ListAndWatch" if k == ":path" else v) for k, v in REQUEST]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, proc(5)


def closed_within(client, seconds):
    """Whether the server closes the connection within `seconds`; what it sent is kept in `client.buffer`."""
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            client.sock.settimeout(left)
            chunk = client.sock.recv(65536)
            if not chunk:
                return True
            client.buffer += chunk
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        pass
    return False


def connect_quietly(path, preface=True):
    """A client whose preface may meet a connection the server already closed."""
    client = RawClient(path, preface=False)
    try:
        if preface:
            client.send(PREFACE + SettingsFrame(0).serialize())
    except (BrokenPipeError, ConnectionResetError):
        pass
    return client


def test_connections_over_the_limit_and_silent_ones_are_closed(api, start_server):
    server = start_server(args=["--handshake-timeout-ms", "500"])
    started = time.monotonic()
    silent = [RawClient(server.socket, preface=False) for _ in range(100)]
    # The default limit is 16: the rest are told why and closed at once.
    refused = [c for c in silent[16:] if closed_within(c, 0.3)]
    assert len(refused) == 84
    assert refused[0].goaway().error_code == ENHANCE_YOUR_CALM
    assert all(closed_within(c, 2) for c in silent[:16])
    assert silent[0].goaway().error_code == SETTINGS_TIMEOUT
    assert time.monotonic() - started < 2
    trickle = RawClient(server.socket, preface=False)
    sent = 0
    for byte in PREFACE:  # one byte every 100 ms: 2.4 s for the preface alone
        try:
            trickle.send(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += 1
        time.sleep(0.1)
    assert 3 <= sent <= 10, f"the trickling client sent {sent} bytes before it was cut"
    still_serving(api, server)


def test_ping_flood_without_reads_is_cut_across_connections(api, start_server):
    server = start_server(args=["--max-queued-bytes", str(4 << 20)])
    baseline = server.rss_kib()
    burst = PingFrame(0, opaque_data=b"\x01" * 8).serialize() * 4096
    clients, cut = [], [0]

    def flood(client):
        try:
            for _ in range(3 * (1 << 20) // len(burst)):  # 3 MiB each, 24 MiB in all
                client.send(burst)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            cut[0] += 1

    threads = []
    for _ in range(8):
        client = RawClient(server.socket)
        clients.append(client)
        threads.append(threading.Thread(target=flood, args=(client,)))
        threads[-1].start()
    for thread in threads:
        thread.join(timeout=30)
    # Unread ACKs beyond 4 MiB in all close the connections holding the most.
    assert cut[0] >= 5, f"only {cut[0]} of 8 flooding connections were cut"
    # The peak, not RSS afterwards (which depends on what malloc gave back): 16-20 MiB
    # over the baseline here, in read buffers, HTTP/2's outbound bytes and the write
    # buffers the limit is enforced on between reads; without the limit it was 300 MiB.
    peak = peak_rss_kib(server)
    assert peak - baseline < 32 * 1024, f"peak RSS {peak} KiB, {peak - baseline} KiB over the baseline {baseline} KiB"
    for client in clients:
        client.sock.close()
    still_serving(api, server)


def test_accept_backs_off_instead_of_spinning_when_descriptors_run_out(api, start_server):
    limit = 32
    server = start_server(args=["--max-connections", "1000"],
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)))
    held = [connect_quietly(server.socket) for _ in range(limit + 8)]  # more than the server has descriptors for
    # Connections beyond the server's descriptors are accepted through its spare
    # descriptor and closed at once, not left hanging.
    shed = [c for c in held if closed_within(c, 0.05)]
    # A loaded CI machine once shed only 1 in 3 s (stop 26, 1 of 5 runs): up to 10 s.
    deadline = time.monotonic() + 10
    while len(shed) < 8 and time.monotonic() < deadline:
        shed += [c for c in held if c not in shed and closed_within(c, 0.05)]
    assert len(shed) >= 8, f"{len(shed)} connections closed"
    before = cpu_seconds(server.process.pid)
    started = time.monotonic()
    while time.monotonic() - started < 1.0:  # new clients keep coming meanwhile
        assert closed_within(connect_quietly(server.socket, preface=False), 1.0)
    used = cpu_seconds(server.process.pid) - before
    assert used < 0.3, f"the server used {used:.2f} s of CPU in 1 s with no descriptors left"
    for client in held:
        client.sock.close()
    still_serving(api, server)
    server.process.terminate()
    log = server.process.communicate(timeout=10)[1]
    assert log.count("(errno 24)") == 1, log  # once per episode, not per attempt
    assert "accepting connections on" in log and "again" in log


def test_non_reading_list_and_watch_streams_keep_memory_flat(api, start_server):
    pb2, pb2_grpc = api
    server = start_server(devices=8, args=["--latest-only", "--update-interval-ms", "50"])
    stalled = []
    for index in range(8):  # 200 streams: window 0 on half the connections, an unread socket on the rest
        client = RawClient(server.socket, preface=False)
        window = {SettingsFrame.INITIAL_WINDOW_SIZE: 0} if index % 2 == 0 else {}
        client.send(PREFACE + SettingsFrame(0, settings=window).serialize())
        for stream in range(1, 50, 2):
            client.headers(stream, LIST_AND_WATCH)
            client.send(DataFrame(stream, b"\0\0\0\0\0", flags=["END_STREAM"]).serialize())
        stalled.append(client)
    arrivals = []
    channel = grpc.insecure_channel(server.target)
    updates = pb2_grpc.DevicePluginStub(channel).ListAndWatch(pb2.Empty())

    def read():
        try:
            for _ in updates:
                arrivals.append(time.monotonic())
        except grpc.RpcError:
            pass  # cancelled at the end

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(2)  # streams established, buffers full
    baseline, started = server.rss_kib(), time.monotonic()
    time.sleep(8)
    grown = server.rss_kib() - baseline
    updates.cancel()
    channel.close()
    recent = [t for t in arrivals if t >= started]
    gaps = [b - a for a, b in zip(recent, recent[1:])]
    assert len(recent) >= 80 and max(gaps) < 1.0, f"{len(recent)} updates in 8 s, longest gap {max(gaps, default=0):.2f} s"
    assert grown < 2 * 1024, f"RSS grew by {grown} KiB over 8 s at 20 updates/s on 200 unread streams"
    for client in stalled:
        client.sock.close()
