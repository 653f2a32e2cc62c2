"""The service's contract as an OpenAPI 3.1 document (served at /openapi.json)."""

from __future__ import annotations

from typing import Any

from fer_runtime import __version__
from fer_runtime.request_options import REQUEST_OPTIONS
from fer_runtime.serve.uploads import NPY_TYPE

_ERROR = {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_MULTIPART = {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}
_IMAGE_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "image/*": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": _MULTIPART,
    },
}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Unreadable input: empty, truncated or corrupt image, bad multipart body.",
        401: "Missing or wrong bearer token.",
        413: "Body over --max-body-mb, or an image declaring more than --max-pixels pixels.",
        415: "Not an image in a supported format, or an unsupported Content-Type.",
        422: "Bad query option, or an image that decodes but cannot be analysed.",
        503: "Too many faces waiting (see Retry-After), too many open connections, or the model is not running.",
        504: "No answer within the server's time limit.",
    }
    return {str(s): {**_ERROR, "description": reasons[s]} for s in statuses}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_FACES = {"type": "object", "properties": {"faces": {"type": "array", "items": {"$ref": "#/components/schemas/Face"}}}}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
}
_ANALYZE_ERRORS = (400, 401, 413, 415, 422, 503, 504)


def _face_schema(classes: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["box", "label", "confidence", "scores"],
        "properties": {
            "box": {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4},
            "label": {"type": "string", "enum": [*classes, "uncertain"]},
            "confidence": {"type": "number"},
            "scores": {"type": "object", "additionalProperties": {"type": "number"}},
            "detection_score": {"type": "number"},
            "landmarks": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "number"}}},
        },
    }


def _analyze_paths(secured: dict[str, Any]) -> dict[str, Any]:
    query = [
        {"name": o.name, "in": "query", "required": False, "schema": o.json_schema(), "description": o.help}
        for o in REQUEST_OPTIONS
    ]
    per_image = {"oneOf": [_FACES, {"$ref": "#/components/schemas/Error"}]}
    batch = {"type": "object", "properties": {"images": {"type": "array", "items": per_image}}}
    return {
        "/v1/analyze": {
            "post": {
                "summary": "Find the faces in one image and classify their emotions.",
                "parameters": query,
                "requestBody": _IMAGE_BODY,
                "responses": {"200": _json("The faces, as fer-run --json gives them.", _FACES)}
                | _errors(*_ANALYZE_ERRORS),
                **secured,
            }
        },
        "/v1/analyze/batch": {
            "post": {
                "summary": "Several images (multipart fields 'file'), or a stack of face crops as one NumPy .npy "
                "array (uint8 [N, H, W] gray or [N, H, W, 3] BGR, each crop one face; no decoding, no detection): "
                "an answer per image, in order.",
                "parameters": query,
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": _MULTIPART,
                        NPY_TYPE: {"schema": {"type": "string", "format": "binary"}},
                    },
                },
                "responses": {"200": _json("Per image: its faces, or its own error and status.", batch)}
                | _errors(*_ANALYZE_ERRORS),
                **secured,
            }
        },
    }


def _other_paths(secured: dict[str, Any]) -> dict[str, Any]:
    def get(summary: str, responses: dict[str, Any], private: bool) -> dict[str, Any]:
        return {"get": {"summary": summary, "responses": responses, **(secured if private else {})}}

    return {
        "/v1/model": get(
            "The model's description, file and sha256.", {"200": _json("The model.", {"type": "object"})}, True
        ),
        "/healthz": get("The process is alive.", {"200": _json("Alive.", {"type": "object"})}, False),
        "/readyz": get(
            "The model is loaded and answering.", {"200": _json("Ready.", {"type": "object"})} | _errors(503), False
        ),
        "/metrics": get(
            "Prometheus text: requests, latency, batch sizes, waiting faces.",
            {"200": {"description": "Prometheus text format."}},
            True,
        ),
    }


def openapi_schema(classes: list[str], token: bool) -> dict[str, Any]:
    """The document for a model with these `classes`; `token`: /v1 and /metrics need a bearer token."""
    secured: dict[str, Any] = {"security": [{"bearer": []}]} if token else {}
    return {
        "openapi": "3.1.0",
        "info": {"title": "fer-serve", "version": __version__, "description": "Facial-emotion recognition over HTTP."},
        "paths": _analyze_paths(secured) | _other_paths(secured),
        "components": {
            "schemas": {"Face": _face_schema(classes), "Error": _ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
