"""Python grpcio (gRPC C-core) as the client, our GRPC server as the peer."""
import concurrent.futures
import threading

import grpc
import pytest

pytestmark = pytest.mark.timeout(120)


def stub(api, server, **options):
    pb2, pb2_grpc = api
    channel = grpc.insecure_channel(server.target, options=list(options.items()))
    return pb2, pb2_grpc.DevicePluginStub(channel), channel


def test_get_device_plugin_options(api, server):
    pb2, client, _ = stub(api, server)
    options = client.GetDevicePluginOptions(pb2.Empty(), timeout=10)
    assert options.pre_start_required is True
    assert options.get_preferred_allocation_available is True


def test_list_and_watch_sends_devices_with_numa_node_zero(api, server):
    pb2, client, _ = stub(api, server)
    stream = client.ListAndWatch(pb2.Empty(), timeout=10)
    first = next(stream)
    assert [(d.ID, d.health) for d in first.devices] == [("Dev-1", "Healthy"), ("Dev-2", "Healthy")]
    assert [[node.ID for node in d.topology.nodes] for d in first.devices] == [[0], [0]]
    assert first.devices[0].HasField("topology")
    stream.cancel()


def test_list_and_watch_delivers_ten_thousand_updates(api, start_server):
    server = start_server(devices=4, updates=10_000)
    pb2, client, _ = stub(api, server)
    stream = client.ListAndWatch(pb2.Empty(), timeout=100)
    received = 0
    last = None
    for message in stream:
        received += 1
        last = message
        if received == 10_001:
            break
    stream.cancel()
    assert received == 10_001
    # 10,000 toggles over 4 devices: each toggled 2,500 times, back to Healthy.
    assert [d.health for d in last.devices] == ["Healthy"] * 4
    assert server.alive()


def test_allocate_preferred_and_prestart(api, server):
    pb2, client, _ = stub(api, server)
    response = client.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=["Dev-1", "Dev-2"])]), timeout=10)
    assert len(response.container_responses) == 1
    container = response.container_responses[0]
    assert dict(container.envs) == {"DEVICES": "Dev-1,Dev-2"}
    assert [(d.container_path, d.host_path, d.permissions) for d in container.devices] == [("/dev/Dev-1", "/dev/null", "rw"), ("/dev/Dev-2", "/dev/null", "rw")]

    preferred = client.GetPreferredAllocation(pb2.PreferredAllocationRequest(container_requests=[
        pb2.ContainerPreferredAllocationRequest(available_deviceIDs=["a", "b", "c", "d"], must_include_deviceIDs=["c"], allocation_size=2)]), timeout=10)
    assert list(preferred.container_responses[0].deviceIDs) == ["c", "a"]

    assert client.PreStartContainer(pb2.PreStartContainerRequest(devices_ids=["Dev-1"]), timeout=10) == pb2.PreStartContainerResponse()


def test_unknown_method_is_unimplemented(api, server):
    channel = grpc.insecure_channel(server.target)
    method = channel.unary_unary("/v1beta1.DevicePlugin/NoSuchMethod", request_serializer=lambda x: x, response_deserializer=lambda x: x)
    with pytest.raises(grpc.RpcError) as error:
        method(b"", timeout=10)
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert error.value.details() == "unknown method NoSuchMethod for service v1beta1.DevicePlugin"
    other = channel.unary_unary("/other.Service/Call", request_serializer=lambda x: x, response_deserializer=lambda x: x)
    with pytest.raises(grpc.RpcError) as error:
        other(b"", timeout=10)
    assert error.value.details() == "unknown service other.Service"


def test_error_code_and_percent_encoded_message_arrive_intact(api, server):
    pb2, client, _ = stub(api, server)
    with pytest.raises(grpc.RpcError) as error:
        client.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=["fail-9"])]), timeout=10)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.value.details() == "requested failure for fail-9: ünïcödé % 100"


def test_two_hundred_concurrent_unary_calls_on_one_channel(api, server):
    pb2, client, channel = stub(api, server)
    requests = [pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=[f"slow-50", f"Dev-{i}"])]) for i in range(200)]
    futures = [client.Allocate.future(request, timeout=60) for request in requests]
    results = [future.result() for future in futures]
    assert [r.container_responses[0].envs["DEVICES"] for r in results] == [f"slow-50,Dev-{i}" for i in range(200)]


def test_response_of_almost_four_mebibytes(api, server):
    pb2, client, _ = stub(api, server)
    size = 4 * 1024 * 1024 - 200
    response = client.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=[f"big-{size}"])]), timeout=60)
    assert len(response.container_responses[0].envs["BIG"]) == size


def test_deadline_expiry_is_deadline_exceeded_and_server_keeps_serving(api, server):
    pb2, client, _ = stub(api, server)
    with pytest.raises(grpc.RpcError) as error:
        client.PreStartContainer(pb2.PreStartContainerRequest(devices_ids=["slow-5000"]), timeout=0.3)
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert client.GetDevicePluginOptions(pb2.Empty(), timeout=10).pre_start_required


def test_client_cancel_mid_stream_leaves_the_channel_usable(api, start_server):
    server = start_server(devices=2, updates=100_000)
    pb2, client, _ = stub(api, server)
    stream = client.ListAndWatch(pb2.Empty(), timeout=60)
    for _ in range(50):
        next(stream)
    stream.cancel()
    with pytest.raises(grpc.RpcError) as error:
        next(stream)
    assert error.value.code() == grpc.StatusCode.CANCELLED
    # The same channel (one connection) goes on working.
    assert client.GetDevicePluginOptions(pb2.Empty(), timeout=10).get_preferred_allocation_available
    assert server.alive()


def test_long_lived_connection_returns_flow_control_credit(api, server):
    """Hours of kubelet traffic on one connection: far more than 64 KiB of requests."""
    pb2, client, _ = stub(api, server)
    ids = [f"device-{i:04d}-with-a-long-identifier" for i in range(100)]
    request = pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=ids)])
    assert request.ByteSize() > 3000
    total = 0
    for _ in range(300):
        response = client.Allocate(request, timeout=10)
        assert len(response.container_responses[0].devices) == 100
        total += request.ByteSize()
    assert total > 1024 * 1024


def test_streams_and_unary_calls_share_one_connection(api, server):
    pb2, client, _ = stub(api, server)
    streams = [client.ListAndWatch(pb2.Empty(), timeout=30) for _ in range(5)]
    firsts = [next(s) for s in streams]
    assert all(len(f.devices) == 2 for f in firsts)
    for _ in range(20):
        assert client.GetDevicePluginOptions(pb2.Empty(), timeout=10).pre_start_required
    for s in streams:
        s.cancel()
