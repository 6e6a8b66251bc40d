#!/usr/bin/env python3
"""tests/pods/adapt.py - the local changes the pods-mode test cluster needs,
applied to a manifest kept verbatim (the product description's, deploy/'s,
upstream's), so the files themselves stay as written and every change is here:

  --host-network PORT   every pod template gets hostNetwork: true and each
                        container KUBERNETES_SERVICE_HOST=127.0.0.1,
                        KUBERNETES_SERVICE_PORT=PORT: there is no kube-proxy
                        here and the API server listens on 127.0.0.1 only, so
                        the kubernetes Service's ClusterIP leads nowhere.
  --image FROM=TO       rename an image; every image gets
                        imagePullPolicy: Never (no registry is reachable; the
                        images are imported into containerd by tests/pods/images)
  --driver SOCKET       add the test CSI driver (csi-hostpath) as a container
                        sharing the volume mounted at dirname(SOCKET), serving
                        SOCKET; --replace-driver NAME replaces container NAME
                        (the placeholder driver of a manifest) with it instead
  --replicas N          set a Deployment's replicas
  --arg CONTAINER=ARG   append an argument to a container
Reads FILE, writes the adapted YAML to stdout."""
import argparse
import os
import sys

import yaml

DRIVER_IMAGE = "csi-provisioner.test/csi-hostpath:v0.1.0"


def driver_container(name, socket, mount):
    return {
        "name": name,
        "image": DRIVER_IMAGE,
        "imagePullPolicy": "Never",
        "args": ["--endpoint=unix://" + socket, "--nodeid=node-1"],
        "volumeMounts": [mount],
    }


def adapt_pod(spec, a):
    containers = spec["containers"]
    if a.driver:
        sockdir = os.path.dirname(a.driver)
        mount = None
        for c in containers:
            for m in c.get("volumeMounts", []):
                if m["mountPath"].rstrip("/") == sockdir:
                    mount = {"name": m["name"], "mountPath": sockdir}
        if mount is None:
            sys.exit("adapt: no container mounts %s" % sockdir)
        if a.replace_driver:
            idx = [i for i, c in enumerate(containers) if c["name"] == a.replace_driver]
            if not idx:
                sys.exit("adapt: no container %s to replace" % a.replace_driver)
            containers[idx[0]] = driver_container(a.replace_driver, a.driver, mount)
        else:
            containers.append(driver_container("csi-hostpath", a.driver, mount))
    if a.host_network:
        spec["hostNetwork"] = True
    for c in containers:
        c["image"] = a.images.get(c["image"], c["image"])
        c["imagePullPolicy"] = "Never"
        if a.host_network:
            env = c.setdefault("env", [])
            env += [{"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
                    {"name": "KUBERNETES_SERVICE_PORT", "value": str(a.host_network)}]
        for name, arg in a.args:
            if c["name"] == name:
                c.setdefault("args", []).append(arg)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    p.add_argument("--host-network", type=int)
    p.add_argument("--image", action="append", default=[])
    p.add_argument("--driver")
    p.add_argument("--replace-driver")
    p.add_argument("--replicas", type=int)
    p.add_argument("--arg", action="append", default=[])
    a = p.parse_args()
    a.images = dict(i.split("=", 1) for i in a.image)
    a.args = [tuple(x.split("=", 1)) for x in a.arg]
    with open(a.file, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for d in docs:
        if d.get("kind") in ("Deployment", "StatefulSet", "DaemonSet"):
            if a.replicas is not None and "replicas" in d["spec"]:
                d["spec"]["replicas"] = a.replicas
            adapt_pod(d["spec"]["template"]["spec"], a)
    yaml.safe_dump_all(docs, sys.stdout, allow_unicode=True, sort_keys=False)


if __name__ == "__main__":
    main()
