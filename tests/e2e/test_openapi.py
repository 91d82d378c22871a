"""docs/openapi.yaml against the server's own route table.

`fleetres-server --routes` prints every route the router serves, one
"METHOD PATH" line each; the OpenAPI document must describe exactly those
(method, path) pairs — no missing route, no invented one — with path
placeholder names normalized ({id} and {pool_id} are the same segment).
The document must also hold together as OpenAPI 3: version string, info,
operations with responses, path parameters declared, and every $ref
resolving inside the document.

FLEETRES_SERVER names the binary (meson sets it); PyYAML is Debian's
python3-yaml.
"""
import os
import re
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "docs" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PLACEHOLDER = re.compile(r"\{([^{}/]+)\}")


def normalize(path):
    """Placeholder names do not matter: /pools/{id} == /pools/{pool_id}."""
    return PLACEHOLDER.sub("{}", path)


def server_binary():
    binary = Path(os.environ.get("FLEETRES_SERVER", "build/service/fleetres-server"))
    if not binary.is_absolute() and not binary.exists():
        binary = ROOT / binary
    return binary


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_routes():
    """[(METHOD, path)] in the order the server printed them."""
    binary = server_binary()
    assert binary.exists(), "no server binary at %s (set FLEETRES_SERVER)" % binary
    with tempfile.TemporaryDirectory() as d:
        # Should --routes be ignored, the server would start: keep it off
        # the default port and database, and bounded in time.
        env = dict(os.environ, PORT=str(free_port()), LOG_LEVEL="error",
                   DATABASE_URL=os.path.join(d, "fleetres.db"))
        try:
            done = subprocess.run([str(binary), "--routes"], env=env, capture_output=True,
                                  timeout=10, check=False)
        except subprocess.TimeoutExpired:
            pytest.fail("%s --routes did not print its routes and exit" % binary)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    routes = []
    for line in done.stdout.decode("utf-8").splitlines():
        parts = line.split(" ")
        assert len(parts) == 2 and parts[0].isupper() and parts[1].startswith("/"), \
            "unexpected --routes line: %r" % line
        routes.append((parts[0], parts[1]))
    assert routes, "--routes printed no route"
    return routes


@pytest.fixture(scope="module")
def spec():
    with open(SPEC_PATH, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    assert isinstance(doc, dict), "%s is not a YAML mapping" % SPEC_PATH
    return doc


def operations(doc):
    """Yields (path, method, path item, operation) for every operation."""
    for path, item in doc["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item, item[method]


def resolve(doc, ref):
    """The node a local $ref ("#/a/b") points at; KeyError if none."""
    assert isinstance(ref, str) and ref.startswith("#/"), "non-local $ref %r" % (ref,)
    node = doc
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(token)]
        else:
            node = node[token]
    return node


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(doc, node["$ref"])
    return node


def all_refs(node, where="#"):
    """Yields (location, $ref value) for every $ref in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield where, value
            else:
                yield from all_refs(value, "%s/%s" % (where, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from all_refs(value, "%s/%d" % (where, i))


def test_server_routes_are_unique(server_routes):
    seen = [(m, normalize(p)) for m, p in server_routes]
    duplicates = sorted({r for r in seen if seen.count(r) > 1})
    assert not duplicates, "routes registered twice: %s" % duplicates


def test_spec_describes_exactly_the_server_routes(server_routes, spec):
    served = {(method, normalize(path)) for method, path in server_routes}
    described = {(method.upper(), normalize(path))
                 for path, method, _, _ in operations(spec)}
    missing = sorted(served - described)
    invented = sorted(described - served)
    assert not missing and not invented, (
        "served but not in docs/openapi.yaml: %s; in docs/openapi.yaml but not served: %s"
        % (missing, invented))


def test_openapi_top_level(spec):
    assert isinstance(spec.get("openapi"), str), "openapi must be a version string"
    assert re.fullmatch(r"3\.\d+\.\d+", spec["openapi"]), spec["openapi"]
    info = spec.get("info")
    assert isinstance(info, dict)
    assert isinstance(info.get("title"), str) and info["title"]
    assert isinstance(info.get("version"), str) and info["version"]
    assert isinstance(spec.get("paths"), dict) and spec["paths"]
    for path in spec["paths"]:
        assert path.startswith("/"), "path %r must start with /" % path


def test_every_operation_has_responses(spec):
    operation_ids = []
    for path, method, _, op in operations(spec):
        where = "%s %s" % (method.upper(), path)
        assert isinstance(op, dict), where
        responses = op.get("responses")
        assert isinstance(responses, dict) and responses, "%s has no responses" % where
        for code, response in responses.items():
            code = str(code)
            assert code == "default" or re.fullmatch(r"[1-5]([0-9]{2}|XX)", code), \
                "%s: bad response key %r" % (where, code)
            response = deref(spec, response)
            assert isinstance(response.get("description"), str), \
                "%s %s: a response needs a description" % (where, code)
        assert any(str(c).startswith("2") for c in responses), \
            "%s has no success response" % where
        if "operationId" in op:
            operation_ids.append(op["operationId"])
    assert len(operation_ids) == len(set(operation_ids)), "operationId used twice"


def test_path_placeholders_are_declared_parameters(spec):
    for path, method, item, op in operations(spec):
        declared = {}
        for param in list(item.get("parameters", [])) + list(op.get("parameters", [])):
            param = deref(spec, param)
            assert {"name", "in"} <= set(param), "%s %s: parameter %r" % (method, path, param)
            declared[(param["name"], param["in"])] = param
        for name in PLACEHOLDER.findall(path):
            param = declared.get((name, "path"))
            assert param is not None, "%s %s: {%s} is not a path parameter" % (
                method.upper(), path, name)
            assert param.get("required") is True, "path parameter %s must be required" % name
        for (name, where) in declared:
            if where == "path":
                assert "{%s}" % name in path, "%s %s: no {%s} in the path" % (
                    method.upper(), path, name)


def test_every_ref_resolves(spec):
    unresolved = []
    for where, ref in all_refs(spec):
        try:
            resolve(spec, ref)
        except (AssertionError, KeyError, IndexError, ValueError, TypeError):
            unresolved.append("%s -> %r" % (where, ref))
    assert not unresolved, "unresolved $ref: %s" % unresolved
