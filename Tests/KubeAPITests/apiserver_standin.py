#!/usr/bin/env python3
"""A Kubernetes API server stand-in for the KubeAPI tests (python3 standard library only).

HTTPS with the given certificate; clients authenticate with a bearer token from the
accepted set or a client certificate the given CA issued. Objects are kept in memory by
path (/api/v1/namespaces/<ns>/<resource>/<name>, /apis/<group>/<version>/...), with
resourceVersions, list with labelSelector, fieldSelector (metadata.name), limit and
continue, watch as chunked newline-delimited JSON, and errors as Status objects.

Not authenticated, logged or faulted, for the tests to steer it:
  GET  /_control/requests       {"requests": [...]}: what was asked, in order
  POST /_control/faults         {"faults": [{"status": 503, "retryAfter": 1}, {"drop": true}]}:
                                answers for the next requests, in order (drop: the
                                connection is closed without an answer; "path": only
                                for requests to that path)
  POST /_control/tokens         {"tokens": ["..."]}: the accepted bearer tokens
  POST /_control/compact        watches from an older resourceVersion get 410 Gone

With --openapi (Tests/interop/resource-v1-openapi.json: kubernetes' published OpenAPI
schema of resource.k8s.io/v1), every ResourceSlice, ResourceClaim and DeviceClass written
(create, update, patch, status) is checked against the schema (types, required fields,
no unknown fields) and against the API server's own validation rules for the fields a
driver writes (slice pool and node selection, at most 128 devices, device names,
attributes and their values, claim status.devices naming allocated devices), and
refused with 422 Invalid naming the field, as kube-apiserver refuses it.

Prints the port it listens on (on 127.0.0.1) as its first line of output.
"""
import argparse
import base64
import copy
import json
import random
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
C_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
KINDS = {"resourceslices": "ResourceSlice", "resourceclaims": "ResourceClaim", "deviceclasses": "DeviceClass"}


def is_dns_subdomain(text, limit=253):
    return isinstance(text, str) and 0 < len(text) <= limit and all(
        0 < len(label) <= 63 and DNS_LABEL.match(label) for label in text.split("."))


class Validator:
    """resource.k8s.io/v1 objects against the published OpenAPI schema, then the rules
    of kube-apiserver's validation (pkg/apis/resource/validation) that concern what a
    driver writes."""

    def __init__(self, path):
        with open(path) as handle:
            document = json.load(handle)
        self.schemas = document["schemas"]
        self.roots = document["roots"]

    def errors(self, resource, obj):
        kind = KINDS.get(resource)
        if kind is None:
            return []
        errors = []
        self.check(self.schemas[self.roots[kind]], obj, "", errors)
        if not errors:
            errors += getattr(self, "rules_" + kind)(obj)
        return errors

    def resolve(self, schema):
        while True:
            if "$ref" in schema:
                schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
            elif "allOf" in schema and len(schema["allOf"]) == 1 and not schema.get("properties"):
                schema = self.schemas[schema["allOf"][0]["$ref"].rsplit("/", 1)[1]] if "$ref" in schema["allOf"][0] \
                    else schema["allOf"][0]
            else:
                return schema

    def check(self, schema, value, path, errors):
        schema = self.resolve(schema)
        if value is None:
            return
        if "oneOf" in schema or "anyOf" in schema:
            branches = schema.get("oneOf") or schema.get("anyOf")
            if not any(not self._errors(branch, value, path) for branch in branches):
                errors.append("%s: Invalid value: %s: matches none of the allowed types" % (path or "<root>", json.dumps(value)[:80]))
            return
        kind = schema.get("type")
        where = path or "<root>"
        if kind == "object" or "properties" in schema:
            if not isinstance(value, dict):
                errors.append("%s: Invalid value: must be an object, not %s" % (where, type(value).__name__))
                return
            for required in schema.get("required", []):
                if required not in value:
                    errors.append("%s.%s: Required value" % (path, required) if path else "%s: Required value" % required)
            properties = schema.get("properties")
            additional = schema.get("additionalProperties")
            for key, item in value.items():
                child = "%s.%s" % (path, key) if path else key
                if properties and key in properties:
                    self.check(properties[key], item, child, errors)
                elif isinstance(additional, dict):
                    self.check(additional, item, "%s[%s]" % (path, key), errors)
                elif properties:
                    errors.append('%s: Invalid value: unknown field "%s"' % (where, key))
        elif kind == "array":
            if not isinstance(value, list):
                errors.append("%s: Invalid value: must be a list, not %s" % (where, type(value).__name__))
                return
            for index, item in enumerate(value):
                self.check(schema.get("items", {}), item, "%s[%d]" % (path, index), errors)
        elif kind == "string":
            if not isinstance(value, str):
                errors.append("%s: Invalid value: %s: must be a string" % (where, json.dumps(value)[:80]))
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                errors.append("%s: Invalid value: %s: must be an integer" % (where, json.dumps(value)[:80]))
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errors.append("%s: Invalid value: %s: must be a number" % (where, json.dumps(value)[:80]))
        elif kind == "boolean":
            if not isinstance(value, bool):
                errors.append("%s: Invalid value: %s: must be a boolean" % (where, json.dumps(value)[:80]))

    def _errors(self, schema, value, path):
        errors = []
        self.check(schema, value, path, errors)
        return errors

    def rules_ResourceSlice(self, obj):
        errors = []
        spec = obj.get("spec", {})
        if not is_dns_subdomain(spec.get("driver", ""), 63):
            errors.append("spec.driver: Invalid value: %r: must be a DNS subdomain of at most 63 characters" % spec.get("driver"))
        pool = spec.get("pool", {})
        name = pool.get("name", "")
        if not name or len(name) > 253 or not all(is_dns_subdomain(part) for part in name.split("/")):
            errors.append("spec.pool.name: Invalid value: %r: must be DNS subdomains separated by /" % name)
        if pool.get("resourceSliceCount", 0) <= 0:
            errors.append("spec.pool.resourceSliceCount: Invalid value: %r: must be greater than zero" % pool.get("resourceSliceCount"))
        if pool.get("generation", 0) < 0:
            errors.append("spec.pool.generation: Invalid value: must be greater than or equal to 0")
        chosen = [key for key in ("nodeName", "nodeSelector", "allNodes", "perDeviceNodeSelection")
                  if spec.get(key) not in (None, "", False)]
        if len(chosen) != 1:
            errors.append("spec: Invalid value: exactly one of `nodeName`, `nodeSelector`, `allNodes`, "
                          "`perDeviceNodeSelection` is required, not %s" % (chosen or "none"))
        devices = spec.get("devices") or []
        limit = 64 if any(d.get("taints") or d.get("consumesCounters") for d in devices) else 128
        if len(devices) > limit:
            errors.append("spec.devices: Too many: %d: must have at most %d items" % (len(devices), limit))
        seen = set()
        for index, device in enumerate(devices):
            where = "spec.devices[%d]" % index
            device_name = device.get("name", "")
            if not DNS_LABEL.match(device_name) or len(device_name) > 63:
                errors.append("%s.name: Invalid value: %r: must be a DNS label" % (where, device_name))
            if device_name in seen:
                errors.append("%s.name: Duplicate value: %r" % (where, device_name))
            seen.add(device_name)
            attributes = device.get("attributes") or {}
            if len(attributes) + len(device.get("capacity") or {}) > 32:
                errors.append("%s.attributes: Too many: at most 32 attributes and capacities combined" % where)
            for key, value in attributes.items():
                domain, _, identifier = key.rpartition("/")
                if (domain and not is_dns_subdomain(domain, 63)) or not C_IDENTIFIER.match(identifier) or len(identifier) > 32:
                    errors.append("%s.attributes[%s]: Invalid value: a qualified name is an optional DNS subdomain "
                                  "of at most 63 characters, /, and a C identifier of at most 32" % (where, key))
                set_fields = [f for f in ("int", "bool", "string", "version") if value.get(f) is not None]
                if len(set_fields) != 1:
                    errors.append("%s.attributes[%s]: Invalid value: exactly one value must be specified" % (where, key))
                if isinstance(value.get("string"), str) and len(value["string"]) > 64:
                    errors.append("%s.attributes[%s].string: Too long: may not be more than 64 bytes" % (where, key))
        return errors

    def rules_ResourceClaim(self, obj):
        errors = []
        status = obj.get("status") or {}
        allocated = {(r.get("driver"), r.get("pool"), r.get("device"), r.get("shareID"))
                     for r in ((status.get("allocation") or {}).get("devices") or {}).get("results") or []}
        for index, entry in enumerate(status.get("devices") or []):
            where = "status.devices[%d]" % index
            key = (entry.get("driver"), entry.get("pool"), entry.get("device"), entry.get("shareID"))
            if key not in allocated:
                errors.append("%s: Invalid value: %s: must be an allocated device in the claim" % (where, "/".join(str(k) for k in key[:3])))
            if len(entry.get("conditions") or []) > 8:
                errors.append("%s.conditions: Too many: must have at most 8 items" % where)
            if entry.get("data") is not None and len(json.dumps(entry["data"])) > 10 * 1024:
                errors.append("%s.data: Too long: may not be more than 10Ki" % where)
            network = entry.get("networkData") or {}
            if len(network.get("interfaceName") or "") > 256:
                errors.append("%s.networkData.interfaceName: Too long" % where)
            if len(network.get("hardwareAddress") or "") > 128:
                errors.append("%s.networkData.hardwareAddress: Too long" % where)
        return errors

    def rules_DeviceClass(self, obj):
        errors = []
        extended = (obj.get("spec") or {}).get("extendedResourceName")
        if extended is not None and not re.match(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", extended):
            errors.append("spec.extendedResourceName: Invalid value: %r: must be a qualified resource name" % extended)
        return errors


def status_object(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class APIError(Exception):
    def __init__(self, code, reason, message):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


class Location:
    """A request path: the collection it names or is in, the object's name, a subresource."""

    def __init__(self, path):
        segments = [s for s in path.split("/") if s]
        if segments[:1] == ["api"] and len(segments) >= 2:
            prefix, rest = segments[:2], segments[2:]
        elif segments[:1] == ["apis"] and len(segments) >= 3:
            prefix, rest = segments[:3], segments[3:]
        else:
            raise APIError(404, "NotFound", "the server could not find the requested resource")
        self.namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            self.namespace = rest[1]
            prefix, rest = prefix + rest[:2], rest[2:]
        if not 1 <= len(rest) <= 3:
            raise APIError(404, "NotFound", "the server could not find the requested resource")
        self.resource = rest[0]
        self.collection = "/" + "/".join(prefix + [self.resource])
        self.name = rest[1] if len(rest) >= 2 else None
        self.subresource = rest[2] if len(rest) == 3 else None


class Store:
    def __init__(self, tokens):
        self.changed = threading.Condition()
        self.collections = {}  # collection path -> {name: object}
        self.resource_version = 0
        # Claim path -> {status.devices key: field manager}, for server-side apply.
        self.status_owners = {}
        self.events = []  # (resourceVersion, collection, type, object)
        self.compacted = 0
        self.tokens = set(tokens)
        self.faults = []
        self.requests = []

    def record(self, location, event_type, obj):
        """Gives `obj` the next resourceVersion and logs the event. Holds the lock."""
        self.resource_version += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.resource_version)
        self.events.append((self.resource_version, location.collection, event_type, copy.deepcopy(obj)))
        self.changed.notify_all()


def matches(obj, label_selector, field_selector):
    labels = obj.get("metadata", {}).get("labels", {}) or {}
    for requirement in filter(None, (label_selector or "").split(",")):
        if "!=" in requirement:
            key, value = requirement.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in requirement:
            key, value = requirement.split("=", 1)
            if labels.get(key.rstrip("=")) != value.lstrip("="):
                return False
        elif labels.get(requirement) is None:
            return False
    for requirement in filter(None, (field_selector or "").split(",")):
        key, value = requirement.split("=", 1)
        current = obj
        for part in key.split("."):
            current = current.get(part) if isinstance(current, dict) else None
        if ("" if current is None else str(current)) != value:
            return False
    return True


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target, operations):
    """RFC 6902 add, replace, remove and test on object members and list indices."""
    result = copy.deepcopy(target)
    for operation in operations:
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in operation["path"].split("/")[1:]]
        parent = result
        for token in tokens[:-1]:
            parent = parent[int(token)] if isinstance(parent, list) else parent[token]
        last = tokens[-1]
        op = operation["op"]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if op == "add":
                parent.insert(index, operation["value"])
            elif op == "replace":
                parent[index] = operation["value"]
            elif op == "remove":
                del parent[index]
            elif op == "test" and parent[index] != operation["value"]:
                raise APIError(422, "Invalid", "the test operation failed at " + operation["path"])
        else:
            if op in ("add", "replace"):
                if op == "replace" and last not in parent:
                    raise APIError(422, "Invalid", "the replace operation's path does not exist: " + operation["path"])
                parent[last] = operation["value"]
            elif op == "remove":
                if last not in parent:
                    raise APIError(422, "Invalid", "the remove operation's path does not exist: " + operation["path"])
                del parent[last]
            elif op == "test" and parent.get(last) != operation["value"]:
                raise APIError(422, "Invalid", "the test operation failed at " + operation["path"])
    return result


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "apiserver-standin"
    # Headers and body leave in separate writes: without this, Nagle holds the body
    # until the client's delayed ACK of the headers, 40 ms a request.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    @property
    def store(self):
        return self.server.store

    # Framing

    def send_json(self, code, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        raw_body = self.read_body()
        if url.path.startswith("/_control/"):
            return self.control(method, url.path, raw_body)
        peer = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        client_cn = None
        if peer:
            for rdn in peer.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        client_cn = value
        entry = {"method": method, "path": url.path, "query": query,
                 "authorization": self.headers.get("Authorization"),
                 "userAgent": self.headers.get("User-Agent"),
                 "accept": self.headers.get("Accept"),
                 "contentType": self.headers.get("Content-Type"),
                 "clientCommonName": client_cn,
                 "body": raw_body.decode(errors="replace")}
        with self.store.changed:
            self.store.requests.append(entry)
            fault = next((f for f in self.store.faults if f.get("path", url.path) == url.path), None)
            if fault is not None:
                self.store.faults.remove(fault)
        if fault is not None:
            if fault.get("drop"):
                self.close_connection = True
                entry["answer"] = "dropped"
                return
            code = fault["status"]
            headers = [("Retry-After", str(fault["retryAfter"]))] if "retryAfter" in fault else []
            reason = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
                      400: "BadRequest"}.get(code, "Unknown")
            entry["answer"] = code
            return self.send_json(code, status_object(code, reason, fault.get("message", "injected fault")), headers)
        token = (self.headers.get("Authorization") or "")[len("Bearer "):]
        if not client_cn and token not in self.store.tokens:
            entry["answer"] = 401
            return self.send_json(401, status_object(401, "Unauthorized", "Unauthorized"))
        try:
            location = Location(url.path)
            if method == "GET" and location.name is None and query.get("watch") in ("true", "1"):
                entry["answer"] = 200
                return self.watch(location, query)
            code, obj = self.serve(method, location, query, raw_body)
            entry["answer"] = code
            self.send_json(code, obj)
        except APIError as error:
            entry["answer"] = error.code
            self.send_json(error.code, status_object(error.code, error.reason, error.message))

    # Control

    def control(self, method, path, raw_body):
        body = json.loads(raw_body) if raw_body else {}
        with self.store.changed:
            if path == "/_control/requests":
                return self.send_json(200, {"requests": self.store.requests})
            if path == "/_control/faults":
                self.store.faults.extend(body["faults"])
            elif path == "/_control/tokens":
                self.store.tokens = set(body["tokens"])
            elif path == "/_control/compact":
                self.store.compacted = self.store.resource_version + 1
            else:
                return self.send_json(404, status_object(404, "NotFound", "no control " + path))
        self.send_json(200, {})

    # The API

    def decode(self, raw_body):
        try:
            return json.loads(raw_body)
        except ValueError as error:
            raise APIError(400, "BadRequest", "the body is not JSON: %s" % error)

    def serve(self, method, location, query, raw_body):
        store = self.store
        with store.changed:
            objects = store.collections.setdefault(location.collection, {})
            if location.name is None:
                if method == "GET":
                    return 200, self.list(location, objects, query)
                if method == "POST":
                    return 201, self.create(location, objects, self.decode(raw_body))
                raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            current = objects.get(location.name)
            missing = APIError(404, "NotFound", '%s "%s" not found' % (location.resource, location.name))
            if method == "GET":
                if current is None:
                    raise missing
                return 200, current
            if method == "DELETE":
                if current is None:
                    raise missing
                del objects[location.name]
                store.record(location, "DELETED", current)
                return 200, current
            if method == "PUT":
                if current is None:
                    raise missing
                body = self.decode(raw_body)
                sent = body.get("metadata", {}).get("resourceVersion")
                if sent and sent != current["metadata"]["resourceVersion"]:
                    raise APIError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                                   'modified; please apply your changes to the latest version and try again'
                                   % (location.resource, location.name))
                if location.subresource == "status":
                    updated = copy.deepcopy(current)
                    updated["status"] = body.get("status")
                else:
                    updated = body
                    updated.setdefault("metadata", {})
                    for key in ("uid", "creationTimestamp", "namespace"):
                        if key in current["metadata"]:
                            updated["metadata"][key] = current["metadata"][key]
                self.validate(location, updated, location.name)
                objects[location.name] = updated
                store.record(location, "MODIFIED", updated)
                return 200, updated
            if method == "PATCH":
                return self.patch(location, objects, current, query, raw_body)
            raise APIError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def validate(self, location, obj, name):
        validator = self.server.validator
        if validator is None or not location.collection.startswith("/apis/resource.k8s.io/v1/"):
            return
        errors = validator.errors(location.resource, obj)
        if errors:
            raise APIError(422, "Invalid", '%s.resource.k8s.io "%s" is invalid: %s'
                           % (KINDS[location.resource], name, ", ".join(errors)))

    def list(self, location, objects, query):
        selected = [o for _, o in sorted(objects.items())
                    if matches(o, query.get("labelSelector"), query.get("fieldSelector"))]
        start = 0
        if query.get("continue"):
            start = int(base64.b64decode(query["continue"]).decode())
        limit = int(query.get("limit") or 0)
        end = start + limit if limit else len(selected)
        metadata = {"resourceVersion": str(self.store.resource_version)}
        if end < len(selected):
            metadata["continue"] = base64.b64encode(str(end).encode()).decode()
        return {"kind": "List", "apiVersion": "v1", "metadata": metadata, "items": selected[start:end]}

    def create(self, location, objects, body):
        if not isinstance(body, dict):
            raise APIError(400, "BadRequest", "the body is not an object")
        metadata = body.setdefault("metadata", {})
        name = metadata.get("name")
        if not name and metadata.get("generateName"):
            name = metadata["generateName"] + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            metadata["name"] = name
        kind = body.get("kind", "Object")
        if not name:
            raise APIError(422, "Invalid", '%s "" is invalid: metadata.name: Required value: name or generateName '
                           'is required' % kind)
        if not NAME.match(name):
            raise APIError(422, "Invalid", '%s "%s" is invalid: metadata.name: Invalid value: "%s": a lowercase '
                           "RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                           "and must start and end with an alphanumeric character" % (kind, name, name))
        if name in objects:
            raise APIError(409, "AlreadyExists", '%s "%s" already exists' % (location.resource, name))
        self.validate(location, body, name)
        metadata["uid"] = str(uuid.uuid4())
        metadata["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if location.namespace:
            metadata["namespace"] = location.namespace
        objects[name] = body
        self.store.record(location, "ADDED", body)
        return body

    def patch(self, location, objects, current, query, raw_body):
        content_type = (self.headers.get("Content-Type") or "").split(";")[0]
        patch = self.decode(raw_body)
        if content_type == "application/apply-patch+yaml":
            if not query.get("fieldManager"):
                raise APIError(400, "BadRequest", "PatchOptions.meta.k8s.io is invalid: fieldManager: Required "
                               "value: is required for apply patch")
            if current is None:
                patch.setdefault("metadata", {})["name"] = location.name
                return 201, self.create(location, objects, patch)
            if location.resource == "resourceclaims" and location.subresource == "status":
                updated = self.apply_claim_status(location, current, patch, query["fieldManager"])
            else:
                updated = merge_patch(current, patch)
        elif current is None:
            raise APIError(404, "NotFound", '%s "%s" not found' % (location.resource, location.name))
        elif content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            updated = merge_patch(current, patch)
        elif content_type == "application/json-patch+json":
            updated = json_patch(current, patch)
        else:
            raise APIError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json-patch+json, "
                           "application/merge-patch+json, application/apply-patch+yaml")
        if location.subresource == "status":
            kept = copy.deepcopy(current)
            kept["status"] = updated.get("status")
            updated = kept
        self.validate(location, updated, location.name)
        objects[location.name] = updated
        self.store.record(location, "MODIFIED", updated)
        return 200, updated

    def apply_claim_status(self, location, current, patch, manager):
        """Server-side apply to a claim's status.devices, a list map keyed by driver, pool,
        device and shareID: the applied entries replace theirs and are owned by the field
        manager; entries the manager applied before and leaves out now are removed, other
        managers' entries stay (kube-apiserver's structured merge for that list)."""
        status = dict(patch.get("status") or {})
        applied = status.pop("devices", None)
        updated = merge_patch(current, dict(patch, status=status))
        if applied is None:
            return updated
        key = lambda entry: (entry.get("driver"), entry.get("pool"), entry.get("device"), entry.get("shareID"))
        owners = self.store.status_owners.setdefault((location.collection, location.name), {})
        wanted = {key(entry) for entry in applied}
        kept = []
        for entry in ((current.get("status") or {}).get("devices") or []):
            if key(entry) in wanted:
                continue
            if owners.get(key(entry)) == manager:
                del owners[key(entry)]
                continue
            kept.append(entry)
        for entry in applied:
            owners[key(entry)] = manager
        updated.setdefault("status", {})["devices"] = kept + applied
        if not updated["status"]["devices"]:
            del updated["status"]["devices"]
        return updated

    def watch(self, location, query):
        store = self.store
        deadline = time.monotonic() + int(query.get("timeoutSeconds") or 60)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        selectors = (query.get("labelSelector"), query.get("fieldSelector"))

        def event(event_type, obj):
            self.send_chunk(json.dumps({"type": event_type, "object": obj}).encode() + b"\n")

        try:
            with store.changed:
                since = query.get("resourceVersion")
                if since not in (None, "", "0") and int(since) < store.compacted:
                    initial = [("ERROR", status_object(410, "Expired", "too old resource version: %s (%d)"
                                                      % (since, store.compacted)))]
                    position = None
                elif since in (None, "", "0"):
                    objects = store.collections.get(location.collection, {})
                    initial = [("ADDED", copy.deepcopy(o)) for _, o in sorted(objects.items())
                               if matches(o, *selectors)]
                    position = len(store.events)
                else:
                    initial = [(e[2], e[3]) for e in store.events
                               if e[0] > int(since) and e[1] == location.collection and matches(e[3], *selectors)]
                    position = len(store.events)
                if position is not None and query.get("allowWatchBookmarks") == "true":
                    initial.append(("BOOKMARK", {"kind": "Bookmark", "apiVersion": "v1",
                                                 "metadata": {"resourceVersion": str(store.resource_version)}}))
            for event_type, obj in initial:
                event(event_type, obj)
            while position is not None and time.monotonic() < deadline:
                with store.changed:
                    if position == len(store.events):
                        store.changed.wait(min(deadline - time.monotonic(), 0.2))
                    new = store.events[position:]
                    position = len(store.events)
                for _, collection, event_type, obj in new:
                    if collection == location.collection and matches(obj, *selectors):
                        event(event_type, obj)
            self.send_chunk(b"")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, context, store, validator=None):
        super().__init__(address, Handler)
        self.context = context
        self.store = store
        self.validator = validator

    def finish_request(self, request, client_address):
        # The TLS handshake in the connection's own thread: a client that gives up on it
        # (a wrong CA) costs that thread only.
        try:
            connection = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            Handler(connection, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert", required=True, help="the server certificate (PEM)")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    parser.add_argument("--client-ca", help="accept client certificates this CA issued")
    parser.add_argument("--token", action="append", default=[], help="an accepted bearer token")
    parser.add_argument("--openapi", help="check resource.k8s.io/v1 writes against this schema (see above)")
    arguments = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(arguments.cert, arguments.key)
    if arguments.client_ca:
        context.load_verify_locations(arguments.client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    validator = Validator(arguments.openapi) if arguments.openapi else None
    server = Server(("127.0.0.1", 0), context, Store(arguments.token), validator)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
