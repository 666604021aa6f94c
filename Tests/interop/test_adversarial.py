"""Malformed and hostile HTTP/2 input against our server, over raw sockets. Each case
must get the connection or stream error RFC 9113 prescribes, while the server keeps
serving other connections and its memory stays bounded."""
import socket
import struct

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
    for _ in range(30):
        client = RawClient(server.socket)
        client.headers(1)
        client.send(DataFrame(1, b"\0\x00\x3f\xff\xff" + b"y" * 16000).serialize())  # a 4 MiB message, never finished
        client.headers(3)
        client.send(DataFrame(3, b"\0\xff\xff\xff\xff").serialize())
        client.sock.close()
    still_serving(api, server)
    assert server.rss_kib() - baseline < 64 * 1024, f"RSS grew from {baseline} KiB to {server.rss_kib()} KiB"
