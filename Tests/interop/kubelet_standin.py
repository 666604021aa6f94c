"""A kubelet stand-in on grpcio that behaves as kubelet's device manager does
(pkg/kubelet/cm/devicemanager, v1.32): it serves Registration on kubelet.sock and, on
Register, dials back to the plugin's socket with authority "localhost", calls
GetDevicePluginOptions, keeps a ListAndWatch stream open and records every list.

What a plugin must survive is modelled too:
- plugin clients are keyed by resource name: a second Register replaces the first;
- when a client's ListAndWatch ends, kubelet tears down whatever client holds that
  name by then (the old client's teardown disconnects a newer one: kubernetes#121994)
  and marks every device of the resource unhealthy; nothing is retried;
- at start kubelet removes every socket in its directory, then binds kubelet.sock."""
import concurrent.futures
import os
import stat
import threading
import time

import grpc


class Resource:
    """One plugin client: the connection kubelet dialled back to a plugin's socket."""

    def __init__(self, name, endpoint):
        self.name = name
        self.endpoint = endpoint
        self.lists = []
        self.options = None
        self.ended = threading.Event()
        self.streaming = threading.Event()
        self.channel = None
        self.stub = None

    @property
    def latest(self):
        return self.lists[-1] if self.lists else None

    def health(self):
        return {d.ID: d.health for d in self.latest.devices} if self.latest else {}

    def disconnect(self):
        if self.channel is not None:
            self.channel.close()


class Kubelet:
    def __init__(self, api, directory):
        self.pb2, self.pb2_grpc = api
        self.directory = directory
        self.resources = {}      # resource name -> the latest client registered for it
        self.clients = {}        # resource name -> the client kubelet holds now (the device manager's map)
        self.devices = {}        # resource name -> {device ID: health} as the device manager has it
        self.registrations = []  # (time, name, endpoint)
        self.server = None
        self.lock = threading.Lock()
        self.generation = 0      # one per kubelet process: a dead one's threads change nothing
        self.connections = []    # every client this kubelet process dialled

    def start(self):
        """kubelet's device manager start: remove every socket in the directory (ours and
        the plugins'), then serve Registration on a new kubelet.sock."""
        kubelet = self

        class Registration(self.pb2_grpc.RegistrationServicer):
            def Register(self, request, context):
                return kubelet._register(request, context)

        for entry in os.listdir(self.directory):
            path = os.path.join(self.directory, entry)
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    os.unlink(path)
            except FileNotFoundError:
                pass
        self.server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=8))
        self.pb2_grpc.add_RegistrationServicer_to_server(Registration(), self.server)
        self.server.add_insecure_port(f"unix://{os.path.join(self.directory, 'kubelet.sock')}")
        self.server.start()

    def _register(self, request, context):
        if request.version != "v1beta1":
            context.abort(grpc.StatusCode.UNKNOWN, f'requested API version "{request.version}" is not supported by kubelet')
        resource = Resource(request.resource_name, request.endpoint)
        resource.generation = self.generation
        with self.lock:
            self.clients[request.resource_name] = resource   # registerClient: the newest wins
            self.connections.append(resource)
        path = os.path.join(self.directory, request.endpoint)
        resource.channel = grpc.insecure_channel(f"unix://{path}", options=[("grpc.default_authority", "localhost")])
        resource.stub = self.pb2_grpc.DevicePluginStub(resource.channel)
        try:
            resource.options = resource.stub.GetDevicePluginOptions(self.pb2.Empty(), timeout=10)
        except grpc.RpcError as error:
            with self.lock:
                if self.clients.get(request.resource_name) is resource:
                    del self.clients[request.resource_name]
            resource.disconnect()
            context.abort(grpc.StatusCode.UNKNOWN, f"failed to get device plugin options: {error}")
        with self.lock:
            self.resources[request.resource_name] = resource
            self.registrations.append((time.monotonic(), request.resource_name, request.endpoint))
        threading.Thread(target=self._run_client, args=(resource,), daemon=True).start()
        return self.pb2.Empty()

    def _run_client(self, resource):
        try:
            for message in resource.stub.ListAndWatch(self.pb2.Empty()):
                resource.streaming.set()
                resource.lists.append(message)
                with self.lock:
                    if resource.generation == self.generation:
                        self.devices[resource.name] = {d.ID: d.health for d in message.devices}
        except (grpc.RpcError, ValueError):
            pass
        resource.ended.set()
        # runClient: tear down whichever client holds the name now, as kubelet 1.32 does.
        with self.lock:
            if resource.generation != self.generation:
                return
            current = self.clients.pop(resource.name, None)
            if current is not None and resource.name in self.devices:
                self.devices[resource.name] = {device: "Unhealthy" for device in self.devices[resource.name]}
        if current is not None:
            current.disconnect()

    def allocatable(self, name):
        """Devices kubelet would admit pods to: healthy in its view, with a live client."""
        with self.lock:
            client = self.clients.get(name)
            if client is None or client.ended.is_set():
                return 0
            return sum(health == "Healthy" for health in self.devices.get(name, {}).values())

    def kill(self):
        """The kubelet process goes: its server and every connection it held close."""
        self.server.stop(0)
        with self.lock:
            self.generation += 1
            clients, self.connections = self.connections, []
            self.clients = {}
            self.devices = {}
        for resource in clients:
            resource.disconnect()

    def restart(self, pause=0.0):
        """What a kubelet restart looks like to plugins: the old process's connections
        close, then (after `pause`) every socket in the directory is removed and
        kubelet.sock comes back."""
        self.kill()
        if pause:
            time.sleep(pause)
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
