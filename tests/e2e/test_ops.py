"""Transport conventions and operations endpoints (SPEC §1, §8)."""
import json
import os

from conftest import BASE


def test_health_ok_with_optional_backends_disabled(server):
    status, headers, body = server.request("GET", "/health")
    assert status == 200
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    with_redis = os.environ.get("FLEETRES_E2E_REDIS") == "1"
    assert body["checks"]["redis"]["status"] == ("ok" if with_redis else "disabled")
    for name in ("kafka", "clickhouse"):
        assert body["checks"][name]["status"] == "disabled"
    assert headers["content-type"].startswith("application/json")


def test_metrics_prometheus_text(server):
    server.api("GET", "/pools")
    status, headers, body = server.request("GET", "/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert 'fleetres_http_requests_total{method="GET",route="/pools",status="200"}' in body
    assert "fleetres_http_request_duration_seconds_bucket" in body
    assert "fleetres_queue_depth" in body
    assert "fleetres_request_fulfilment_seconds_count" in body


def test_unknown_route_is_404_with_error_body(server):
    status, _, body = server.api("GET", "/nope")
    assert status == 404
    assert body["error"]["code"] == "not_found"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["details"] == {}


def test_wrong_method_is_405_with_allow(server):
    status, headers, body = server.api("PATCH", "/pools")
    assert status == 405
    assert body["error"]["code"] == "method_not_allowed"
    assert "GET" in headers["allow"] and "POST" in headers["allow"]


def test_non_json_body_is_415(server):
    status, _, body = server.api("POST", "/pools", raw=b"name=x",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415
    assert body["error"]["code"] == "unsupported_media_type"


def test_oversize_body_is_413(server):
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    status, _, body = server.api("POST", "/pools", raw=big,
                                 headers={"Content-Type": "application/json"})
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"


def test_invalid_utf8_and_broken_json_are_400(server):
    for raw in (b'{"name": "\xff\xfe"}', b'{"name": ', b"[1, 2", b"", b"nul"):
        status, _, body = server.api("POST", "/pools", raw=raw,
                                     headers={"Content-Type": "application/json"})
        assert status == 400, raw
        assert body["error"]["code"] == "invalid_request"
    _, _, listing = server.api("GET", "/pools?limit=1000")
    assert all(p["name"] != "\ufffd" for p in listing["items"])


def test_request_id_is_echoed_or_generated(server):
    _, headers, _ = server.request("GET", "/health", headers={"X-Request-ID": "abc-123"})
    assert headers["x-request-id"] == "abc-123"
    _, headers, _ = server.request("GET", "/health")
    assert len(headers["x-request-id"]) >= 8


def test_limit_bounds_are_400(server):
    for bad in ("0", "1001", "abc", "-1"):
        status, _, body = server.api("GET", "/pools?limit=" + bad)
        assert status == 400, bad
        assert body["error"]["details"]["field"] == "limit"
