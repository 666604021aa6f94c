"""The pool names a config yields, by the parser's rules (Sources/ResourcePools/
ConfigParser.swift): a pool's own resourcePrefix, else "rdma" for shared RDMA pools
(deviceType rdmaShared, an rdmaHcaMax, or a configList entry), else the daemon's
--resource-prefix, whose default is "intel.com". test_config.py checks these against
the real parser."""
import json

DEFAULT_PREFIX = "intel.com"
SHARED_RDMA_PREFIX = "rdma"


def pool_names(config_text, resource_prefix=DEFAULT_PREFIX):
    config = json.loads(config_text)
    names = []
    for list_key, shared_list in [("resourceList", False), ("configList", True)]:
        for entry in config.get(list_key, []):
            shared = entry.get("deviceType", "rdmaShared" if shared_list or "rdmaHcaMax" in entry else "netDevice") == "rdmaShared"
            prefix = entry.get("resourcePrefix", SHARED_RDMA_PREFIX if shared else resource_prefix)
            names.append(f"{prefix}/{entry['resourceName']}")
    return names
