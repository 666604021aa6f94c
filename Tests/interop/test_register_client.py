"""Our GRPC client (Register) against a grpcio server standing in for kubelet."""
import concurrent.futures
import subprocess

import grpc
import pytest

from conftest import interop_binary

pytestmark = pytest.mark.timeout(60)


def kubelet(api, tmp_path, behaviour):
    pb2, pb2_grpc = api
    received = []

    class Registration(pb2_grpc.RegistrationServicer):
        def Register(self, request, context):
            received.append(request)
            return behaviour(request, context, pb2)

    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4))
    pb2_grpc.add_RegistrationServicer_to_server(Registration(), server)
    socket_path = str(tmp_path / "kubelet.sock")
    server.add_insecure_port(f"unix://{socket_path}")
    server.start()
    return server, socket_path, received


def register(socket_path, resource="example.com/resource", endpoint="dp-1700000000.sock"):
    return subprocess.run([interop_binary(), "register", "--kubelet-socket", socket_path, "--resource", resource, "--endpoint", endpoint],
                          capture_output=True, text=True, timeout=40)


def test_register_success(api, short_tmp):
    tmp_path = short_tmp
    server, socket_path, received = kubelet(api, tmp_path, lambda request, context, pb2: pb2.Empty())
    try:
        result = register(socket_path)
        assert result.stdout.strip() == "ok", result.stderr
        assert result.returncode == 0
        assert len(received) == 1
        request = received[0]
        assert (request.version, request.endpoint, request.resource_name) == ("v1beta1", "dp-1700000000.sock", "example.com/resource")
        assert request.options.get_preferred_allocation_available is True
    finally:
        server.stop(0)


def test_register_error_code_and_message_arrive_intact(api, short_tmp):
    tmp_path = short_tmp
    def refuse(request, context, pb2):
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f'the ResourceName "{request.resource_name}" is invalid (ü%)')

    server, socket_path, _ = kubelet(api, tmp_path, refuse)
    try:
        result = register(socket_path, resource="bad name")
        assert result.returncode == 1
        assert result.stdout.strip() == 'error 3 the ResourceName "bad name" is invalid (ü%)'
    finally:
        server.stop(0)


def test_register_to_missing_socket_is_unavailable(tmp_path):
    result = register(str(tmp_path / "absent.sock"))
    assert result.returncode == 1
    assert result.stdout.startswith("error 14 connection error: connect")
