"""A kubelet stand-in on grpcio that behaves as kubelet's device manager does
(pkg/kubelet/cm/devicemanager, v1.32): it serves Registration on kubelet.sock and, on
Register, dials back to the plugin's socket with authority "localhost", calls
GetDevicePluginOptions, keeps a ListAndWatch stream open and records every list.

What a plugin must survive is modelled too:
- plugin clients are keyed by resource name: a second Register replaces the first;
- when a client's ListAndWatch ends, kubelet tears down whatever client holds that
  name by then (the old client's teardown disconnects a newer one: kubernetes#121994)
  and marks every device of the resource unhealthy; nothing is retried;
- at start kubelet removes every socket in its directory, then binds kubelet.sock;
- with a plugins_registry directory, kubelet's plugin watcher finds plugin sockets
  there itself (GetInfo, connect, NotifyRegistrationStatus), at every start too, and
  deregisters a plugin by name when its socket goes."""
import concurrent.futures
import itertools
import os
import socket
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


_servers = itertools.count()   # every server a socket path of its own


class Kubelet:
    def __init__(self, api, directory, watcher_api=None, registry=None):
        self.pb2, self.pb2_grpc = api
        self.watcher_pb2, self.watcher_grpc = watcher_api or (None, None)
        self.registry = registry     # plugins_registry, watched when set
        self.watched = {}            # socket path -> resource name, for the plugin watcher
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
        # grpcio unlinks a server's socket path when it tears the server down, which can be
        # well after stop() returned: a dead kubelet's server would remove the next one's
        # kubelet.sock (a real kubelet leaves its file behind). So each server binds a path
        # of its own, and that file becomes kubelet.sock once it listens, as grpc-go's
        # net.Listen makes it appear.
        private = os.path.join(self.directory, f".kubelet-{os.getpid()}-{next(_servers)}.sock")
        self.server.add_insecure_port(f"unix://{private}")
        self.server.start()
        os.rename(private, os.path.join(self.directory, "kubelet.sock"))
        if self.registry:
            self.watched = {}
            threading.Thread(target=self._watch_registry, args=(self.generation,), daemon=True).start()

    def _watch_registry(self, generation):
        """kubelet's plugin watcher: every socket in plugins_registry is asked GetInfo and
        registered; a socket that goes is deregistered by name (as kubelet 1.32 does)."""
        while generation == self.generation:
            try:
                present = {os.path.join(self.registry, entry) for entry in os.listdir(self.registry)
                           if not entry.startswith(".") and stat.S_ISSOCK(os.lstat(os.path.join(self.registry, entry)).st_mode)}
            except FileNotFoundError:
                present = set()
            for path in [path for path in self.watched if path not in present]:
                name = self.watched.pop(path)
                with self.lock:
                    client = self.clients.pop(name, None) if generation == self.generation else None
                    if client is not None and name in self.devices:
                        self.devices[name] = {device: "Unhealthy" for device in self.devices[name]}
                if client is not None:
                    client.disconnect()
            for path in sorted(present - set(self.watched)):
                self.watched[path] = None
                self._register_found(path, generation)
            time.sleep(0.1)

    def _register_found(self, path, generation):
        channel = grpc.insecure_channel(f"unix://{path}", options=[("grpc.default_authority", "localhost")])
        stub = self.watcher_grpc.RegistrationStub(channel)
        try:
            info = stub.GetInfo(self.watcher_pb2.InfoRequest(), timeout=1)
        except grpc.RpcError:
            channel.close()
            return
        self.watched[path] = info.name
        error = ""
        if info.type != "DevicePlugin" or "v1beta1" not in info.supported_versions:
            error = f"unsupported plugin {info.type} {list(info.supported_versions)}"
        else:
            try:
                self._connect_client(info.name, os.path.basename(path), directory=self.registry, generation=generation)
            except grpc.RpcError as failure:
                error = f"failed to get device plugin options: {failure}"
        try:
            stub.NotifyRegistrationStatus(self.watcher_pb2.RegistrationStatus(plugin_registered=not error, error=error), timeout=1)
        except grpc.RpcError:
            pass
        channel.close()

    def _register(self, request, context):
        if request.version != "v1beta1":
            context.abort(grpc.StatusCode.UNKNOWN, f'requested API version "{request.version}" is not supported by kubelet')
        try:
            self._connect_client(request.resource_name, request.endpoint, directory=self.directory, generation=self.generation)
        except grpc.RpcError as error:
            context.abort(grpc.StatusCode.UNKNOWN, f"failed to get device plugin options: {error}")
        return self.pb2.Empty()

    def _connect_client(self, name, endpoint, directory, generation):
        """connectClient: the client takes the name, dials back, asks the options, then
        watches in a thread of its own. Raises grpc.RpcError when the options fail."""
        resource = Resource(name, endpoint)
        resource.generation = generation
        with self.lock:
            self.clients[name] = resource   # registerClient: the newest wins
            self.connections.append(resource)
        path = os.path.join(directory, endpoint)
        resource.channel = grpc.insecure_channel(f"unix://{path}", options=[("grpc.default_authority", "localhost")])
        resource.stub = self.pb2_grpc.DevicePluginStub(resource.channel)
        try:
            resource.options = resource.stub.GetDevicePluginOptions(self.pb2.Empty(), timeout=10)
        except grpc.RpcError:
            with self.lock:
                if self.clients.get(name) is resource:
                    del self.clients[name]
            resource.disconnect()
            raise
        with self.lock:
            self.resources[name] = resource
            self.registrations.append((time.monotonic(), name, endpoint))
        threading.Thread(target=self._run_client, args=(resource,), daemon=True).start()

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
        """The kubelet process goes: its server and every connection it held close, and
        its kubelet.sock stays behind, refusing connections, until the next kubelet
        removes it (as a real kubelet leaves it on SIGTERM and SIGKILL)."""
        self.server.stop(0)
        path = os.path.join(self.directory, "kubelet.sock")
        if not os.path.exists(path):
            stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            stale.bind(path)
            stale.close()
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
