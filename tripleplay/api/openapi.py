"""The OpenAPI document made true to the answers (D97). ninja writes what the handlers declare; this
module adds, for every operation, what the edge itself answers and ninja cannot know:

- the error statuses every operation may answer, each with the one error shape
  (``{"error": {"code", "message", "details"}}``): 401 (authentication), 403 (the role; not the
  platforms' calls, which have no roles), 404 (an unknown id in the path), 400 (a body that is not
  JSON, a missing Idempotency-Key), 413 (a body over the size limit) and 422 (input outside the
  schema), and ``default`` for the domain's own refusals (409, 422 business rules, 502);
- a status a handler declares with its own shape that the edge also answers with the error shape
  (the PPV calls' 422: a bad final amount is an answer, a malformed request an error): both, as ``anyOf``;
- the Idempotency-Key header, which the money POSTs require (api/ledger.py parses it itself, to
  answer 400 ``idempotency_key_required``), as required, with its pattern; on the other creates
  (api/idempotency.py) it is optional, with the same pattern;
- ``components/schemas/StorableJson``: the free-form JSON a body may hold (adapter options, raw xDRs)
  where schemas.StorableObject marks it.
"""

from __future__ import annotations

from tripleplay.api.ledger import IDEMPOTENCY_KEY_PATTERN
from tripleplay.api.schemas import STORABLE_OBJECT_MARK, ErrorOut
from tripleplay.core.validation import STORABLE_TEXT_PATTERN

ERROR_REF = {"$ref": "#/components/schemas/Error"}
STORABLE_JSON_REF = {"$ref": "#/components/schemas/StorableJson"}
STORABLE_JSON = {
    "description": "any JSON value whose keys and strings hold no NUL",
    "anyOf": [
        {"type": "string", "pattern": STORABLE_TEXT_PATTERN},
        {"type": ["number", "boolean", "null"]},
        {"type": "array", "items": STORABLE_JSON_REF},
        {"type": "object", "propertyNames": {"pattern": STORABLE_TEXT_PATTERN}, "additionalProperties": STORABLE_JSON_REF},
    ],
}
STORABLE_OBJECT = {"type": "object", "propertyNames": {"pattern": STORABLE_TEXT_PATTERN},
                   "additionalProperties": STORABLE_JSON_REF}
IDEMPOTENCY_KEY = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": IDEMPOTENCY_KEY_PATTERN}

EDGE_ERRORS = {
    400: "Bad Request: the body is not JSON, or a required Idempotency-Key header is missing",
    401: "Unauthorized: no valid credentials",
    403: "Forbidden: the caller's role may not do this",
    404: "Not Found: no such id",
    413: "Payload Too Large: the body is over the size limit",
    422: "Unprocessable Entity: the input is outside the schema, or a business rule refused it",
}
DEFAULT_ERROR = "Error: the domain's own refusals (409 conflicts, 422 business rules, 502 an unreachable platform)"


def operation_id(module: str, handler: str) -> str:
    """``tripleplay.api.customers`` + ``list_customers`` -> ``customers_list`` (D115)."""
    area = module.rsplit(".", 1)[-1]
    noun = {area, area.rstrip("s"), area.removesuffix("es")}
    words = [w for w in handler.split("_") if w not in noun]
    return "_".join([area, *words]) if words else area


def _error_reply(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def _replace_marks(node):
    """StorableObject's marker becomes the recursive StorableJson object schema, wherever it is."""
    if isinstance(node, dict):
        if node.get(STORABLE_OBJECT_MARK):
            return {**{k: v for k, v in node.items() if k != STORABLE_OBJECT_MARK}, **STORABLE_OBJECT}
        return {k: _replace_marks(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_marks(v) for v in node]
    return node


def _edge_statuses(operation: dict) -> list[int]:
    """The error statuses the edge answers for this operation, before any domain rule runs."""
    statuses = []
    schemes = {name for requirement in operation.get("security") or [] for name in requirement}
    params = operation.get("parameters") or []
    if schemes:
        statuses.append(401)
    if schemes - {"PlatformToken"}:
        statuses.append(403)
    if any(p.get("in") == "path" for p in params):
        statuses.append(404)
    if "requestBody" in operation:
        statuses += [400, 413, 422]
    elif params:
        statuses.append(422)
    if any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in params):
        statuses.append(400)
    return sorted(set(statuses))


def _with_error_shape(reply: dict) -> None:
    """A declared answer whose status the edge also answers with the error shape: either shape."""
    media = reply.setdefault("content", {}).setdefault("application/json", {})
    schema = media.get("schema")
    if schema is None or schema == ERROR_REF:
        media["schema"] = ERROR_REF
    elif ERROR_REF not in schema.get("anyOf", []):
        media["schema"] = {"anyOf": [schema, ERROR_REF]}


def complete(schema: dict) -> dict:
    schema = _replace_marks(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error.pop("$defs", {}))
    components["Error"] = error
    components["StorableJson"] = STORABLE_JSON
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for param in operation.get("parameters") or []:
                if param.get("in") == "header" and param.get("name") == "Idempotency-Key":
                    # Required on the money POSTs; optional but honoured on the other creates (D117).
                    param["required"] = not param.get("description", "").startswith("optional")
                    param["schema"] = {**IDEMPOTENCY_KEY, "description": param.get("description", "")}
            # ninja keys a handler's declared statuses by int; the document's keys are strings.
            responses = operation["responses"] = {str(k): v for k, v in operation["responses"].items()}
            for status in _edge_statuses(operation):
                if str(status) in responses:
                    _with_error_shape(responses[str(status)])
                else:
                    responses[str(status)] = _error_reply(EDGE_ERRORS[status])
            responses.setdefault("default", _error_reply(DEFAULT_ERROR))
    return schema
