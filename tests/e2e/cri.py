# SPDX-License-Identifier: Apache-2.0
"""A small CRI v1 client for the e2e lanes, and the builder of their container image.

  cri.py serve             one request per input line, one answer per output line (JSON):
                           {"sock": PATH, "method": "RunPodSandbox", "req": {...}, "timeout": S}
                           -> {"ok": true, "resp": {...}} | {"ok": false, "error": "CODE: text"}
                           Messages are written as JSON with the proto field names; ExecSync's
                           stdout and stderr come back as text.
  cri.py image OUT NAME    an OCI image layout tarball (one layer) named NAME: busybox-static
                           with its applets, socat with the libraries it links, Cmd sleep inf.

The messages come from tests/e2e/cri.proto (the same field numbers as k8s.io/cri-api), compiled
at run time by grpc_tools into a descriptor set: no generated code is kept.
"""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def load_proto():
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory(prefix="cnic-cri-pb.") as d:
        out = os.path.join(d, "cri.pb")
        rc = protoc.main(["protoc", "-I" + HERE, "--descriptor_set_out=" + out, "cri.proto"])
        if rc != 0:
            raise SystemExit("protoc failed on cri.proto")
        with open(out, "rb") as f:
            fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    fd = pool.FindFileByName("cri.proto")
    if hasattr(message_factory, "GetMessageClass"):
        cls = message_factory.GetMessageClass
    else:
        factory = message_factory.MessageFactory(pool)
        cls = factory.GetPrototype
    methods = {}
    for svc in fd.services_by_name.values():
        for m in svc.methods:
            methods[m.name] = ("/%s/%s" % (svc.full_name, m.name), cls(m.input_type), cls(m.output_type))
    return methods


def to_dict(msg):
    from google.protobuf import json_format

    try:
        return json_format.MessageToDict(msg, preserving_proto_field_name=True,
                                         including_default_value_fields=True)
    except TypeError:  # protobuf >= 26 renamed the option
        return json_format.MessageToDict(msg, preserving_proto_field_name=True,
                                         always_print_fields_with_no_presence=True)


def serve():
    import grpc
    from google.protobuf import json_format

    methods = load_proto()
    channels = {}
    for line in sys.stdin:
        try:
            q = json.loads(line)
            path, req_cls, resp_cls = methods[q["method"]]
            ch = channels.get(q["sock"])
            if ch is None:
                ch = channels[q["sock"]] = grpc.insecure_channel("unix:" + q["sock"])
            call = ch.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                  response_deserializer=resp_cls.FromString)
            req = json_format.ParseDict(q.get("req", {}), req_cls())
            resp = call(req, timeout=q.get("timeout", 60))
            d = to_dict(resp)
            if q["method"] == "ExecSync":
                d["stdout"] = resp.stdout.decode(errors="replace")
                d["stderr"] = resp.stderr.decode(errors="replace")
            ans = {"ok": True, "resp": d}
        except grpc.RpcError as e:
            ans = {"ok": False, "error": "%s: %s" % (e.code().name, e.details())}
        except Exception as e:  # a bad request line: answer it, keep serving
            ans = {"ok": False, "error": "client: %s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(ans) + "\n")
        sys.stdout.flush()


# ---- the image -------------------------------------------------------------------------------------

def add_file(tar, path, src=None, data=None, mode=0o755):
    ti = tarfile.TarInfo(path.lstrip("/"))
    ti.mode = mode
    ti.mtime = 0
    if src is not None:
        with open(src, "rb") as f:
            data = f.read()
    ti.size = len(data)
    tar.addfile(ti, io.BytesIO(data))


def add_dir(tar, path, seen):
    parts = path.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        p = "/".join(parts[:i])
        if p and p not in seen:
            seen.add(p)
            ti = tarfile.TarInfo(p)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o1777 if p == "tmp" else 0o755
            ti.mtime = 0
            tar.addfile(ti)


def shared_libs(binary):
    """The files the dynamic loader maps for BINARY, as ldd lists them."""
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        w = line.split()
        if "=>" in w and len(w) > w.index("=>") + 1 and w[w.index("=>") + 1].startswith("/"):
            libs.append(w[w.index("=>") + 1])
        elif w and w[0].startswith("/"):
            libs.append(w[0])  # the loader itself
    return libs


def layer_tar(busybox, socat):
    buf = io.BytesIO()
    seen = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "run", "usr/bin"):
            add_dir(tar, d, seen)
        add_file(tar, "/bin/busybox", src=busybox)
        applets = subprocess.run([busybox, "--list"], check=True, capture_output=True,
                                 text=True).stdout.split()
        for a in applets:
            if a in ("busybox", "[[", "["):
                continue
            ti = tarfile.TarInfo("bin/" + a)
            ti.type = tarfile.SYMTYPE
            ti.linkname = "busybox"
            ti.mode = 0o777
            tar.addfile(ti)
        add_file(tar, "/usr/bin/socat", src=socat)
        for lib in shared_libs(socat):
            add_dir(tar, os.path.dirname(lib), seen)
            add_file(tar, lib, src=os.path.realpath(lib))
        add_file(tar, "/etc/passwd", data=b"root:x:0:0:root:/:/bin/sh\n", mode=0o644)
        add_file(tar, "/etc/group", data=b"root:x:0:\n", mode=0o644)
    return buf.getvalue()


def blob(tar, data):
    digest = hashlib.sha256(data).hexdigest()
    add_file(tar, "/blobs/sha256/" + digest, data=data, mode=0o644)
    return {"digest": "sha256:" + digest, "size": len(data)}


def image(out, name):
    busybox = os.environ.get("BUSYBOX", "/bin/busybox")
    socat = os.environ.get("SOCAT", "/usr/bin/socat")
    layer = layer_tar(busybox, socat)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine),
        "os": "linux",
        "config": {"Cmd": ["/bin/sleep", "inf"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
        seen = set()
        add_dir(tar, "blobs/sha256", seen)
        lay = dict(blob(tar, layer), mediaType="application/vnd.oci.image.layer.v1.tar")
        cfg = dict(blob(tar, json.dumps(config).encode()), mediaType="application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cfg, "layers": [lay]}
        man = dict(blob(tar, json.dumps(manifest).encode()),
                   mediaType="application/vnd.oci.image.manifest.v1+json")
        man["annotations"] = {"io.containerd.image.name": name,
                              "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}
        index = {"schemaVersion": 2, "manifests": [man]}
        add_file(tar, "/index.json", data=json.dumps(index).encode(), mode=0o644)
        add_file(tar, "/oci-layout", data=b'{"imageLayoutVersion":"1.0.0"}', mode=0o644)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        serve()
    elif len(sys.argv) == 4 and sys.argv[1] == "image":
        image(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
