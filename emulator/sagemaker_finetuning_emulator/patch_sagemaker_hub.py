"""Gap 5 - the SageMaker Hub API (private hubs plus the simulated SageMakerPublicHub catalogue).

moto 5.2.5 has no Hub operations: ``BaseResponse.call_action`` raises ``NotImplementedError`` and
the server answers 500. The workflow needs them: evaluators (reward functions/prompts) are JsonDoc
hub content imported with ImportHubContent, datasets can be DataSet hub content, and the base model
of a job is resolved with DescribeHubContent on ``SageMakerPublicHub``.

The operations are methods added to ``SageMakerResponse`` (``call_action`` finds them by name) and
return ``ActionResult`` so botocore's output shapes serialise them. State lives on the SageMaker
backend instance, so it is per account/region and cleared by ``/moto-api/reset``. The public hub
is read-only and served from ``catalog.py``.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from sagemaker_finetuning_emulator import _patching, catalog
from sagemaker_finetuning_emulator.runtime import SIMULATED

_patching.require("moto.sagemaker.responses:SageMakerResponse.sagemaker_backend")
_patching.require("moto.sagemaker.responses:SageMakerResponse._get_param", "param_name")
_patching.require("moto.core.responses:ActionResult")
_patching.require("moto.core.responses:EmptyResult")
_patching.require("moto.sagemaker.exceptions:ValidationError")
_patching.require("moto.sagemaker.exceptions:ResourceNotFound")
_patching.require("moto.sagemaker.exceptions:ResourceInUseException")

_patching.require("moto.sagemaker.models:SageMakerModelBackend._get_resource_from_arn", "arn")

_store_lock = threading.RLock()
_orig_get_resource_from_arn: Any = None
#: Public-hub models removed through the control API (``remove_public_model``), in every region.
_removed_public: set[str] = set()


def remove_public_model(model_id: str) -> bool:
    """Hide ``model_id`` from SageMakerPublicHub (Describe/List answer as if it did not exist) until
    :func:`restore_public_model` or a reset. Returns whether the catalogue has it."""
    with _store_lock:
        _removed_public.add(model_id)
    return model_id in catalog.model_ids()


def restore_public_model(model_id: str) -> None:
    with _store_lock:
        _removed_public.discard(model_id)


def removed_public_models() -> list[str]:
    with _store_lock:
        return sorted(_removed_public)


def _forget_removed_public() -> None:
    with _store_lock:
        _removed_public.clear()


def public_model_ids() -> list[str]:
    """The public hub's model ids, without the removed ones."""
    with _store_lock:
        removed = set(_removed_public)
    return [m for m in catalog.model_ids() if m not in removed]


def _now() -> _dt.datetime:
    return _dt.datetime.now(tz=_dt.timezone.utc)


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


@dataclass
class Hub:
    name: str
    arn: str
    description: str
    display_name: str | None = None
    search_keywords: list[str] = field(default_factory=list)
    s3_storage_config: dict[str, Any] | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    status: str = "InService"
    creation_time: _dt.datetime = field(default_factory=_now)
    last_modified_time: _dt.datetime = field(default_factory=_now)

    def describe(self) -> dict[str, Any]:
        out = {
            "HubName": self.name,
            "HubArn": self.arn,
            "HubDescription": self.description,
            "HubStatus": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }
        if self.display_name:
            out["HubDisplayName"] = self.display_name
        if self.search_keywords:
            out["HubSearchKeywords"] = list(self.search_keywords)
        if self.s3_storage_config:
            out["S3StorageConfig"] = self.s3_storage_config
        return out

    def summary(self) -> dict[str, Any]:
        keys = ("HubName", "HubArn", "HubDisplayName", "HubDescription", "HubSearchKeywords", "HubStatus")
        d = self.describe()
        out = {k: d[k] for k in keys if k in d}
        out["CreationTime"] = self.creation_time
        out["LastModifiedTime"] = self.last_modified_time
        return out


@dataclass
class HubContent:
    hub: Hub
    content_type: str
    name: str
    version: str
    arn: str
    document_schema_version: str
    document: str
    display_name: str | None = None
    description: str | None = None
    markdown: str | None = None
    support_status: str | None = None
    search_keywords: list[str] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)
    status: str = "Available"
    creation_time: _dt.datetime = field(default_factory=_now)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "HubContentName": self.name,
            "HubContentArn": self.arn,
            "HubContentVersion": self.version,
            "HubContentType": self.content_type,
            "DocumentSchemaVersion": self.document_schema_version,
            "HubName": self.hub.name,
            "HubArn": self.hub.arn,
            "HubContentDocument": self.document,
            "HubContentStatus": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.creation_time,
        }
        for key, value in (
            ("HubContentDisplayName", self.display_name),
            ("HubContentDescription", self.description),
            ("HubContentMarkdown", self.markdown),
            ("SupportStatus", self.support_status),
        ):
            if value is not None:
                out[key] = value
        if self.search_keywords:
            out["HubContentSearchKeywords"] = list(self.search_keywords)
        return out

    def summary(self) -> dict[str, Any]:
        return _summary_from_describe(self.describe())


def _summary_from_describe(d: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "HubContentName",
        "HubContentArn",
        "HubContentVersion",
        "HubContentType",
        "DocumentSchemaVersion",
        "HubContentDisplayName",
        "HubContentDescription",
        "SupportStatus",
        "HubContentSearchKeywords",
        "HubContentStatus",
        "CreationTime",
    )
    out = {k: d[k] for k in keys if k in d}
    out["OriginalCreationTime"] = d["CreationTime"]
    return out


def store(backend: Any) -> dict[str, Any]:
    """The hub state of one SageMaker backend (created lazily; dropped with the backend on reset)."""
    with _store_lock:
        st = backend.__dict__.get("_finetune_hub_store")
        if st is None:
            st = {"hubs": {}, "contents": {}}
            backend.__dict__["_finetune_hub_store"] = st
        return st


def hub_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account_id}:hub/{name}"


def public_hub_arn(region: str) -> str:
    return f"arn:aws:sagemaker:{region}:aws:hub/{catalog.PUBLIC_HUB_NAME}"


def _hub_name(name_or_arn: str) -> str:
    if name_or_arn and name_or_arn.startswith("arn:"):
        return name_or_arn.rsplit("/", 1)[-1]
    return name_or_arn


def _errors() -> Any:
    from moto.sagemaker import exceptions

    return exceptions


# -- backend-level operations (shared with the CloudFormation model and the job simulator) ------


def create_hub(
    backend: Any,
    name: str,
    description: str,
    display_name: str | None = None,
    search_keywords: list[str] | None = None,
    s3_storage_config: dict[str, Any] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> Hub:
    exc = _errors()
    if name == catalog.PUBLIC_HUB_NAME:
        raise exc.ValidationError(f"Hub name {name} is reserved.")
    with _store_lock:
        hubs = store(backend)["hubs"]
        if name in hubs:
            raise exc.ResourceInUseException(f"Hub {name} already exists.")
        hub = Hub(
            name=name,
            arn=hub_arn(backend.region_name, backend.account_id, name),
            description=description,
            display_name=display_name,
            search_keywords=list(search_keywords or []),
            s3_storage_config=s3_storage_config,
            tags=list(tags or []),
        )
        hubs[name] = hub
        return hub


def get_hub(backend: Any, name_or_arn: str) -> Hub:
    name = _hub_name(name_or_arn)
    with _store_lock:
        hub = store(backend)["hubs"].get(name)
    if hub is None:
        raise _errors().ResourceNotFound(f"Hub {name} does not exist.")
    return hub


def delete_hub(backend: Any, name_or_arn: str) -> None:
    name = _hub_name(name_or_arn)
    with _store_lock:
        st = store(backend)
        if name not in st["hubs"]:
            raise _errors().ResourceNotFound(f"Hub {name} does not exist.")
        del st["hubs"][name]
        for key in [k for k in st["contents"] if k[0] == name]:
            del st["contents"][key]


def find_content(
    backend: Any, hub_name: str, content_type: str, name: str, version: str | None = None
) -> HubContent | None:
    with _store_lock:
        versions = store(backend)["contents"].get((_hub_name(hub_name), content_type, name), {})
        if not versions:
            return None
        if version is None:
            return versions[max(versions, key=_version_key)]
        return versions.get(version)


def content_from_arn(backend: Any, arn: str) -> HubContent | None:
    """Resolve ``arn:...:hub-content/<hub>/<type>/<name>[/<version>]`` in the private hubs."""
    try:
        rest = arn.split(":hub-content/", 1)[1]
    except IndexError:
        return None
    parts = rest.split("/")
    if len(parts) < 3:
        return None
    return find_content(backend, parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else None)


# -- public hub ----------------------------------------------------------------------------------


def _public_describe(region: str, content_type: str, name: str, version: str | None) -> dict[str, Any]:
    if content_type != "Model" or name not in public_model_ids():
        raise _errors().ResourceNotFound(
            f"Hub content {content_type}/{name} does not exist in hub {catalog.PUBLIC_HUB_NAME} "
            f"({SIMULATED} catalogue: {', '.join(public_model_ids())})"
        )
    described = catalog.describe_hub_content(region, name)
    if version is not None and version != described["HubContentVersion"]:
        raise _errors().ResourceNotFound(
            f"Hub content {content_type}/{name} version {version} does not exist in hub {catalog.PUBLIC_HUB_NAME} "
            f"({SIMULATED} catalogue has {described['HubContentVersion']})"
        )
    out = dict(described)
    for key in ("CreationTime", "LastModifiedTime"):
        if isinstance(out.get(key), str):
            out[key] = _dt.datetime.fromisoformat(out[key].replace("Z", "+00:00"))
    out.setdefault("LastModifiedTime", out["CreationTime"])
    return out


def _public_hub_describe(region: str) -> dict[str, Any]:
    created = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
    return {
        "HubName": catalog.PUBLIC_HUB_NAME,
        "HubArn": public_hub_arn(region),
        "HubDisplayName": "SageMaker Public Hub",
        "HubDescription": f"{SIMULATED} public hub catalogue of the offline emulator",
        "HubStatus": "InService",
        "CreationTime": created,
        "LastModifiedTime": created,
    }


# -- pagination ----------------------------------------------------------------------------------


def _page(items: list[Any], max_results: int | None, next_token: str | None) -> tuple[list[Any], str | None]:
    start = 0
    if next_token:
        try:
            start = int(next_token)
        except ValueError:
            raise _errors().ValidationError("Invalid pagination token.") from None
    size = max_results or 100
    page = items[start : start + size]
    return page, (str(start + size) if start + size < len(items) else None)


def _sorted(items: list[dict[str, Any]], sort_by: str | None, sort_order: str | None, default: str) -> list[dict[str, Any]]:
    key = {"HubContentName": "HubContentName", "HubName": "HubName", "CreationTime": "CreationTime"}.get(
        sort_by or "", default
    )
    return sorted(items, key=lambda d: d.get(key) or "", reverse=(sort_order == "Descending"))


# -- response methods ----------------------------------------------------------------------------


def _action_result(value: Any) -> Any:
    from moto.core.responses import ActionResult

    return ActionResult(value)


def _empty() -> Any:
    from moto.core.responses import EmptyResult

    return EmptyResult()


def create_hub_response(self: Any) -> Any:
    hub = create_hub(
        self.sagemaker_backend,
        name=self._get_param("HubName"),
        description=self._get_param("HubDescription"),
        display_name=self._get_param("HubDisplayName"),
        search_keywords=self._get_param("HubSearchKeywords"),
        s3_storage_config=self._get_param("S3StorageConfig"),
        tags=self._get_param("Tags"),
    )
    return _action_result({"HubArn": hub.arn})


def describe_hub_response(self: Any) -> Any:
    name = _hub_name(self._get_param("HubName"))
    if name == catalog.PUBLIC_HUB_NAME:
        return _action_result(_public_hub_describe(self.region))
    return _action_result(get_hub(self.sagemaker_backend, name).describe())


def update_hub_response(self: Any) -> Any:
    hub = get_hub(self.sagemaker_backend, self._get_param("HubName"))
    for attr, param in (
        ("description", "HubDescription"),
        ("display_name", "HubDisplayName"),
        ("search_keywords", "HubSearchKeywords"),
    ):
        value = self._get_param(param)
        if value is not None:
            setattr(hub, attr, value)
    hub.last_modified_time = _now()
    return _action_result({"HubArn": hub.arn})


def list_hubs_response(self: Any) -> Any:
    with _store_lock:
        hubs = list(store(self.sagemaker_backend)["hubs"].values())
    contains = self._get_param("NameContains")
    items = [h.summary() for h in hubs if not contains or contains in h.name]
    items = _sorted(items, self._get_param("SortBy"), self._get_param("SortOrder"), "CreationTime")
    page, token = _page(items, self._get_param("MaxResults"), self._get_param("NextToken"))
    result: dict[str, Any] = {"HubSummaries": page}
    if token:
        result["NextToken"] = token
    return _action_result(result)


def delete_hub_response(self: Any) -> Any:
    if _hub_name(self._get_param("HubName")) == catalog.PUBLIC_HUB_NAME:
        raise _errors().ValidationError(f"Hub {catalog.PUBLIC_HUB_NAME} cannot be deleted.")
    delete_hub(self.sagemaker_backend, self._get_param("HubName"))
    return _empty()


def import_hub_content_response(self: Any) -> Any:
    exc = _errors()
    backend = self.sagemaker_backend
    hub_name = _hub_name(self._get_param("HubName"))
    if hub_name == catalog.PUBLIC_HUB_NAME:
        raise exc.ValidationError(f"Content cannot be imported into {catalog.PUBLIC_HUB_NAME}.")
    hub = get_hub(backend, hub_name)
    content_type = self._get_param("HubContentType")
    name = self._get_param("HubContentName")
    document = self._get_param("HubContentDocument")
    try:
        json.loads(document)
    except (TypeError, ValueError) as err:
        raise exc.ValidationError(f"HubContentDocument is not a valid JSON document: {err}") from None
    with _store_lock:
        versions = store(backend)["contents"].setdefault((hub.name, content_type, name), {})
        version = self._get_param("HubContentVersion")
        if version is None:
            if versions:
                latest = _version_key(max(versions, key=_version_key))
                version = ".".join(str(p) for p in (*latest[:-1], latest[-1] + 1))
            else:
                version = "1.0.0"
        if version in versions:
            raise exc.ResourceInUseException(
                f"Hub content {content_type}/{name} version {version} already exists in hub {hub.name}."
            )
        if versions and _version_key(version) < _version_key(max(versions, key=_version_key)):
            raise exc.ValidationError(
                f"Hub content version {version} must be greater than the latest version "
                f"{max(versions, key=_version_key)} of {content_type}/{name}."
            )
        content = HubContent(
            hub=hub,
            content_type=content_type,
            name=name,
            version=version,
            arn=f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:hub-content/{hub.name}/{content_type}/{name}/{version}",
            document_schema_version=self._get_param("DocumentSchemaVersion"),
            document=document,
            display_name=self._get_param("HubContentDisplayName"),
            description=self._get_param("HubContentDescription"),
            markdown=self._get_param("HubContentMarkdown"),
            support_status=self._get_param("SupportStatus"),
            search_keywords=list(self._get_param("HubContentSearchKeywords") or []),
            tags=list(self._get_param("Tags") or []),
        )
        versions[version] = content
    return _action_result({"HubArn": hub.arn, "HubContentArn": content.arn})


def describe_hub_content_response(self: Any) -> Any:
    hub_name = _hub_name(self._get_param("HubName"))
    content_type = self._get_param("HubContentType")
    name = self._get_param("HubContentName")
    version = self._get_param("HubContentVersion")
    if hub_name == catalog.PUBLIC_HUB_NAME:
        return _action_result(_public_describe(self.region, content_type, name, version))
    get_hub(self.sagemaker_backend, hub_name)
    content = find_content(self.sagemaker_backend, hub_name, content_type, name, version)
    if content is None:
        suffix = f" version {version}" if version else ""
        raise _errors().ResourceNotFound(f"Hub content {content_type}/{name}{suffix} does not exist in hub {hub_name}.")
    return _action_result(content.describe())


def _all_contents(backend: Any, hub_name: str) -> dict[tuple[str, str, str], dict[str, HubContent]]:
    with _store_lock:
        return {k: dict(v) for k, v in store(backend)["contents"].items() if k[0] == hub_name and v}


def list_hub_contents_response(self: Any) -> Any:
    hub_name = _hub_name(self._get_param("HubName"))
    content_type = self._get_param("HubContentType")
    contains = self._get_param("NameContains")
    if hub_name == catalog.PUBLIC_HUB_NAME:
        items = (
            [_summary_from_describe(_public_describe(self.region, "Model", m, None)) for m in public_model_ids()]
            if content_type == "Model"
            else []
        )
    else:
        get_hub(self.sagemaker_backend, hub_name)
        items = []
        for (_, ctype, _name), versions in _all_contents(self.sagemaker_backend, hub_name).items():
            if ctype != content_type:
                continue
            items.append(versions[max(versions, key=_version_key)].summary())
    if contains:
        items = [i for i in items if contains in i["HubContentName"]]
    items = _sorted(items, self._get_param("SortBy"), self._get_param("SortOrder"), "HubContentName")
    page, token = _page(items, self._get_param("MaxResults"), self._get_param("NextToken"))
    result: dict[str, Any] = {"HubContentSummaries": page}
    if token:
        result["NextToken"] = token
    return _action_result(result)


def list_hub_content_versions_response(self: Any) -> Any:
    hub_name = _hub_name(self._get_param("HubName"))
    content_type = self._get_param("HubContentType")
    name = self._get_param("HubContentName")
    min_version = self._get_param("MinVersion")
    if hub_name == catalog.PUBLIC_HUB_NAME:
        items = [_summary_from_describe(_public_describe(self.region, content_type, name, None))]
    else:
        get_hub(self.sagemaker_backend, hub_name)
        with _store_lock:
            versions = dict(store(self.sagemaker_backend)["contents"].get((hub_name, content_type, name), {}))
        if not versions:
            raise _errors().ResourceNotFound(f"Hub content {content_type}/{name} does not exist in hub {hub_name}.")
        items = [versions[v].summary() for v in sorted(versions, key=_version_key)]
    if min_version:
        items = [i for i in items if _version_key(i["HubContentVersion"]) >= _version_key(min_version)]
    if self._get_param("SortOrder") == "Descending":
        items.reverse()
    page, token = _page(items, self._get_param("MaxResults"), self._get_param("NextToken"))
    result: dict[str, Any] = {"HubContentSummaries": page}
    if token:
        result["NextToken"] = token
    return _action_result(result)


def delete_hub_content_response(self: Any) -> Any:
    hub_name = _hub_name(self._get_param("HubName"))
    if hub_name == catalog.PUBLIC_HUB_NAME:
        raise _errors().ValidationError(f"Content of {catalog.PUBLIC_HUB_NAME} cannot be deleted.")
    get_hub(self.sagemaker_backend, hub_name)
    content_type = self._get_param("HubContentType")
    name = self._get_param("HubContentName")
    version = self._get_param("HubContentVersion")
    with _store_lock:
        versions = store(self.sagemaker_backend)["contents"].get((hub_name, content_type, name), {})
        if version not in versions:
            raise _errors().ResourceNotFound(
                f"Hub content {content_type}/{name} version {version} does not exist in hub {hub_name}."
            )
        del versions[version]
    return _empty()


_METHODS = {
    "create_hub": create_hub_response,
    "describe_hub": describe_hub_response,
    "update_hub": update_hub_response,
    "list_hubs": list_hubs_response,
    "delete_hub": delete_hub_response,
    "import_hub_content": import_hub_content_response,
    "describe_hub_content": describe_hub_content_response,
    "list_hub_contents": list_hub_contents_response,
    "list_hub_content_versions": list_hub_content_versions_response,
    "delete_hub_content": delete_hub_content_response,
}


def get_resource_from_arn(self: Any, arn: str) -> Any:
    """``SageMakerModelBackend._get_resource_from_arn`` (AddTags/ListTags/DeleteTags) for more types.

    moto: knows neither hubs nor hub contents (``AttributeError`` -> 500), splits
    ``model-package/<group>/<version>`` into too many parts (``ValueError`` -> 500) and answers
    unknown types with a 500 too.
    AWS: tags hubs, hub contents and model packages; unknown resources give a ValidationException.
    """
    exc = _errors()
    if ":hub-content/" in arn:
        content = content_from_arn(self, arn)
        if content is None:
            raise exc.ResourceNotFound(f"Hub content {arn} does not exist.")
        return content
    if ":hub/" in arn:
        return get_hub(self, arn)
    if ":model-package/" in arn:
        name = self.model_package_name_mapping.get(arn, arn)
        package = self.model_packages.get(name)
        if package is None:
            raise exc.ValidationError(f"Model package {arn} not found")
        if getattr(package, "tags", None) is None:
            package.tags = []
        return package
    try:
        return _orig_get_resource_from_arn(self, arn)
    except (AttributeError, ValueError):
        raise exc.ValidationError(f"Could not find resource {arn}") from None


def apply() -> None:
    """Add the Hub operations to ``SageMakerResponse``.

    moto: no such methods, so ``call_action`` raises ``NotImplementedError`` (HTTP 500).
    AWS: private hubs with versioned JsonDoc/DataSet/Model/Notebook content, and the read-only
    ``SageMakerPublicHub`` catalogue of JumpStart models.
    """
    global _orig_get_resource_from_arn
    from sagemaker_finetuning_emulator.runtime import RUNTIME

    RUNTIME.reset_hooks.append(_forget_removed_public)
    for name, func in _METHODS.items():
        func.__name__ = name
        _patching.replace(f"moto.sagemaker.responses:SageMakerResponse.{name}", func, f"Hub API: {name}", add=True)
    _orig_get_resource_from_arn = _patching.replace(
        "moto.sagemaker.models:SageMakerModelBackend._get_resource_from_arn",
        get_resource_from_arn,
        "tags on hubs, hub contents and model packages",
    )
