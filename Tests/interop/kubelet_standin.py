"""A kubelet stand-in on grpcio: serves Registration on kubelet.sock and, as kubelet
does, dials back to the plugin's socket with authority "localhost", calls
GetDevicePluginOptions, then keeps a ListAndWatch stream open and records every list."""
import concurrent.futures
import os
import threading
import time

import grpc


class Resource:
    def __init__(self, name, endpoint):
        self.name = name
        self.endpoint = endpoint
        self.lists = []
        self.options = None
        self.ended = threading.Event()
        self.channel = None
        self.stub = None

    @property
    def latest(self):
        return self.lists[-1] if self.lists else None

    def health(self):
        return {d.ID: d.health for d in self.latest.devices} if self.latest else {}


class Kubelet:
    def __init__(self, api, directory):
        self.pb2, self.pb2_grpc = api
        self.directory = directory
        self.resources = {}      # resource name -> latest Resource
        self.registrations = []  # (time, name, endpoint)
        self.server = None
        self.lock = threading.Lock()

    def start(self):
        kubelet = self

        class Registration(self.pb2_grpc.RegistrationServicer):
            def Register(self, request, context):
                return kubelet._register(request, context)

        self.server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=8))
        self.pb2_grpc.add_RegistrationServicer_to_server(Registration(), self.server)
        self.server.add_insecure_port(f"unix://{os.path.join(self.directory, 'kubelet.sock')}")
        self.server.start()

    def _register(self, request, context):
        assert request.version == "v1beta1"
        resource = Resource(request.resource_name, request.endpoint)
        path = os.path.join(self.directory, request.endpoint)
        resource.channel = grpc.insecure_channel(f"unix://{path}", options=[("grpc.default_authority", "localhost")])
        resource.stub = self.pb2_grpc.DevicePluginStub(resource.channel)
        resource.options = resource.stub.GetDevicePluginOptions(self.pb2.Empty(), timeout=10)
        with self.lock:
            self.resources[request.resource_name] = resource
            self.registrations.append((time.monotonic(), request.resource_name, request.endpoint))

        def watch():
            try:
                for message in resource.stub.ListAndWatch(self.pb2.Empty()):
                    resource.lists.append(message)
            except grpc.RpcError:
                pass
            resource.ended.set()

        threading.Thread(target=watch, daemon=True).start()
        return self.pb2.Empty()

    def restart(self):
        """What a kubelet restart looks like to plugins: every socket in the directory
        is removed, the old connections close, kubelet.sock comes back."""
        self.server.stop(0)
        with self.lock:
            for resource in self.resources.values():
                resource.channel.close()
        for entry in os.listdir(self.directory):
            path = os.path.join(self.directory, entry)
            if entry.endswith(".sock") or os.path.basename(path) == "kubelet.sock":
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        self.start()

    def stop(self):
        if self.server:
            self.server.stop(0)


def wait_for(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
