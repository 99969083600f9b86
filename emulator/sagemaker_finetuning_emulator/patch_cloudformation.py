"""Gap 2 - CloudFormation: SageMaker resource types, real custom resources, stack failures.

* ``AWS::SageMaker::ModelPackageGroup``, ``AWS::SageMaker::Hub`` and ``AWS::CloudWatch::Alarm``
  are registered as direct
  ``CloudFormationModel`` subclasses (moto skips unknown types, and a ``Fn::GetAtt`` on a skipped
  resource is a 500).
* Custom resources (``AWS::CloudFormation::CustomResource`` and ``Custom::*``) are handled by
  :class:`FinetuneCustomResource`: Create/Update/Delete events are sent to the ServiceToken
  Lambda **synchronously**, so ``CreateStack``, change sets, updates and deletes all wait for the
  ResponseURL PUT, dependants see the returned ``Data``, and a ``FAILED`` response fails the stack.
  Python handlers run through the Lambda runner; the CDK provider framework (``cr.Provider``,
  a Node.js function) is emulated by calling the user's Python ``onEvent``/``isComplete``
  functions directly; other non-Python providers are acknowledged with a SIMULATED success.
* A resource failure turns into ``CREATE_FAILED``/``ROLLBACK_COMPLETE`` (or ``UPDATE_FAILED``/
  ``UPDATE_ROLLBACK_COMPLETE``, ``DELETE_FAILED``) with the reason in the stack events, instead of
  an HTTP 500 and a stack stuck ``*_IN_PROGRESS``. As on AWS, the rollback of a failed create also
  sends Delete to the custom resource that answered FAILED (with the physical id it answered).
* After ``ExecuteChangeSet`` the stack has its template, Outputs, exports and parameters;
  Describe/DeleteChangeSet are scoped to the stack and report ``ChangeSetNotFound`` (``cdk
  deploy`` of an existing stack depends on it).
* ``moto.settings.moto_server_host`` is ``http://localhost``; a TemplateURL on ``127.0.0.1`` is
  read path-style.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import threading
import time
import uuid
from typing import Any
from urllib.parse import quote

from moto.core.common_models import CloudFormationModel

from sagemaker_finetuning_emulator import _patching, patch_sagemaker_hub
from sagemaker_finetuning_emulator.runtime import LOG, RUNTIME, SIMULATED

_patching.require("moto.core.common_models:CloudFormationModel")
_patching.require("moto.cloudformation.parsing:get_model_list")
_patching.require("moto.cloudformation.parsing:get_model_map")
_patching.require("moto.cloudformation.parsing:get_name_type_map")
_patching.require("moto.cloudformation.parsing:resource_class_from_type", "resource_type")
_patching.require("moto.cloudformation.parsing:ResourceMap.delete")
_patching.require("moto.cloudformation.parsing:OutputMap", "resources", "template", "stack_id")
_patching.require("moto.cloudformation.models:Stack.create_resources")
_patching.require("moto.cloudformation.models:Stack.update", "template", "role_arn", "parameters", "tags")
_patching.require("moto.cloudformation.models:Stack._add_stack_event", "resource_status", "resource_status_reason")
_patching.require("moto.cloudformation.models:Stack._create_output_map")
_patching.require("moto.cloudformation.models:Event")
_patching.require("moto.cloudformation.models:CloudFormationBackend.execute_change_set", "change_set_name", "stack_name")
_patching.require("moto.cloudformation.models:CloudFormationBackend.delete_stack", "name_or_stack_id")
_patching.require("moto.cloudformation.models:get_stack_from_s3_url")
_patching.require("moto.cloudformation.responses:get_stack_from_s3_url")
_patching.require("moto.cloudformation.utils:get_stack_from_s3_url", "template_url", "account_id", "partition")
_patching.require("moto.cloudformation.responses:CloudFormationResponse.process_cfn_response")
_patching.require("moto.cloudformation.responses:CloudFormationResponse.create_change_set")
_patching.require("moto.cloudformation.responses:CloudFormationResponse.describe_change_set")
_patching.require("moto.cloudformation.responses:CloudFormationResponse.delete_change_set")
_patching.require("moto.cloudformation.responses:CloudFormationResponse.cloudformation_backend")
_patching.require("moto.cloudformation.exceptions:CloudFormationError")
_patching.require("moto.settings:moto_server_host")
_patching.require("moto.sagemaker.models:SageMakerModelBackend.create_model_package_group", "model_package_group_name")
_patching.require("moto.awslambda.utils:get_backend", "account_id", "region")
_patching.require(
    "moto.cloudwatch.models:CloudWatchBackend.put_metric_alarm",
    "name", "namespace", "metric_name", "comparison_operator", "evaluation_periods", "period", "threshold",
    "statistic", "description", "dimensions", "alarm_actions", "datapoints_to_alarm", "treat_missing_data",
)
_patching.require("moto.cloudwatch.models:CloudWatchBackend.delete_alarms", "alarm_names")
_patching.require("moto.cloudwatch.models:cloudwatch_backends")

#: Longest a custom resource may take (the handler's own timeout applies first).
CUSTOM_RESOURCE_TIMEOUT = 900.0
#: How long to wait for the ResponseURL PUT after the handler returned.
_RESPONSE_GRACE = 2.0
#: Polling interval of an emulated provider-framework ``isComplete`` function (AWS: 5 s default).
_IS_COMPLETE_INTERVAL = 0.5


def _sagemaker(account_id: str, region: str) -> Any:
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[account_id][region]


def _iso(value: _dt.datetime) -> str:
    return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _unsupported_attribute(attribute: str) -> Exception:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    LOG.warning("Fn::GetAtt attribute %s is not supported", attribute)
    return UnformattedGetAttTemplateException()


# -- AWS::SageMaker::ModelPackageGroup ------------------------------------------------------------


class CfnModelPackageGroup(CloudFormationModel):
    """``AWS::SageMaker::ModelPackageGroup`` through moto's SageMaker backend.

    moto: not registered, so the resource is skipped with a warning and a ``GetAtt`` on it is a
    500 (``'NoneType' object has no attribute 'has_cfn_attr'``).
    AWS: creates the group; ``Ref`` returns the ARN; GetAtt ModelPackageGroupArn,
    ModelPackageGroupStatus, CreationTime.
    """

    def __init__(self, account_id: str, region: str, name: str):
        self.account_id = account_id
        self.region = region
        self.name = name

    @property
    def _group(self) -> Any:
        return _sagemaker(self.account_id, self.region).model_package_groups[self.name]

    @property
    def physical_resource_id(self) -> str:
        return self._group.arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SageMaker::ModelPackageGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ModelPackageGroupName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("ModelPackageGroupArn", "ModelPackageGroupStatus", "CreationTime")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        group = self._group
        if attribute_name == "ModelPackageGroupArn":
            return group.arn
        if attribute_name == "ModelPackageGroupStatus":
            return group.model_package_group_status
        if attribute_name == "CreationTime":
            return _iso(group.creation_time)
        raise _unsupported_attribute(attribute_name)

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnModelPackageGroup":
        props = cloudformation_json.get("Properties", {})
        name = props.get("ModelPackageGroupName") or resource_name
        backend = _sagemaker(account_id, region_name)
        if name in backend.model_package_groups:
            from moto.cloudformation.exceptions import ValidationError

            raise ValidationError(name, message=f"Model Package Group already exists: {name}")
        backend.create_model_package_group(
            model_package_group_name=name,
            model_package_group_description=props.get("ModelPackageGroupDescription"),
            tags=props.get("Tags") or [],
        )
        return cls(account_id, region_name, name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls,
        original_resource: "CfnModelPackageGroup",
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> "CfnModelPackageGroup":
        props = cloudformation_json.get("Properties", {})
        name = props.get("ModelPackageGroupName") or original_resource.name
        if name != original_resource.name:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(name, cloudformation_json, account_id, region_name)
        group = original_resource._group
        group.model_package_group_description = props.get("ModelPackageGroupDescription")
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        name = resource_name.rsplit("/", 1)[-1]
        _sagemaker(account_id, region_name).model_package_groups.pop(name, None)

    def delete(self, account_id: str, region_name: str) -> None:
        _sagemaker(account_id, region_name).model_package_groups.pop(self.name, None)


# -- AWS::SageMaker::Hub --------------------------------------------------------------------------


class CfnHub(CloudFormationModel):
    """``AWS::SageMaker::Hub`` through the emulator's hub store (``patch_sagemaker_hub``).

    moto: no Hub at all. AWS: creates a private hub; GetAtt HubArn. (``Ref`` is taken to return
    the ARN, as for the other SageMaker registry types.)
    """

    def __init__(self, account_id: str, region: str, name: str, arn: str):
        self.account_id = account_id
        self.region = region
        self.name = name
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SageMaker::Hub"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "HubName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("HubArn",)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "HubArn":
            return self.arn
        raise _unsupported_attribute(attribute_name)

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnHub":
        props = cloudformation_json.get("Properties", {})
        name = props.get("HubName") or resource_name
        hub = patch_sagemaker_hub.create_hub(
            _sagemaker(account_id, region_name),
            name=name,
            description=props.get("HubDescription", ""),
            display_name=props.get("HubDisplayName"),
            search_keywords=props.get("HubSearchKeywords"),
            s3_storage_config=props.get("S3StorageConfig"),
            tags=props.get("Tags"),
        )
        return cls(account_id, region_name, name, hub.arn)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls,
        original_resource: "CfnHub",
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> "CfnHub":
        props = cloudformation_json.get("Properties", {})
        hub = patch_sagemaker_hub.get_hub(_sagemaker(account_id, region_name), original_resource.name)
        hub.description = props.get("HubDescription", hub.description)
        hub.display_name = props.get("HubDisplayName", hub.display_name)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        try:
            patch_sagemaker_hub.delete_hub(_sagemaker(account_id, region_name), resource_name)
        except Exception:  # noqa: BLE001 - already gone
            pass

    def delete(self, account_id: str, region_name: str) -> None:
        self.delete_from_cloudformation_json(self.name, {}, account_id, region_name)


# -- AWS::CloudWatch::Alarm -------------------------------------------------------------------------


class CfnAlarm(CloudFormationModel):
    """``AWS::CloudWatch::Alarm`` through moto's CloudWatch backend (metric alarms only).

    moto: not registered (skipped with a warning; a GetAtt on it is a 500). AWS: creates the
    alarm; ``Ref`` is the alarm name, GetAtt ``Arn``. Metric-math alarms (``Metrics``) are
    created without their queries.
    """

    def __init__(self, account_id: str, region: str, name: str):
        self.account_id = account_id
        self.region = region
        self.name = name

    @staticmethod
    def _backend(account_id: str, region: str) -> Any:
        from moto.cloudwatch.models import cloudwatch_backends

        return cloudwatch_backends[account_id][region]

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{self.name}"
        raise _unsupported_attribute(attribute_name)

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnAlarm":
        p = cloudformation_json.get("Properties", {})
        name = p.get("AlarmName") or resource_name

        def num(key: str, default: Any = None, kind: Any = int) -> Any:
            return kind(p[key]) if p.get(key) is not None else default

        cls._backend(account_id, region_name).put_metric_alarm(
            name=name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p.get("ComparisonOperator"),
            evaluation_periods=num("EvaluationPeriods", 1),
            period=num("Period"),
            threshold=num("Threshold", kind=float),
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"),
            dimensions=[{"Name": d.get("Name"), "Value": d.get("Value")} for d in p.get("Dimensions") or []],
            alarm_actions=list(p.get("AlarmActions") or []),
            datapoints_to_alarm=num("DatapointsToAlarm"),
            extended_statistic=p.get("ExtendedStatistic"),
            ok_actions=list(p.get("OKActions") or []),
            insufficient_data_actions=list(p.get("InsufficientDataActions") or []),
            unit=p.get("Unit"),
            actions_enabled=str(p.get("ActionsEnabled", True)).lower() != "false",
            treat_missing_data=p.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=p.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=p.get("ThresholdMetricId"),
        )
        return cls(account_id, region_name, name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls,
        original_resource: "CfnAlarm",
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> "CfnAlarm":
        name = cloudformation_json.get("Properties", {}).get("AlarmName") or original_resource.name
        if name != original_resource.name:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cls._backend(account_id, region_name).delete_alarms([resource_name])

    def delete(self, account_id: str, region_name: str) -> None:
        self._backend(account_id, region_name).delete_alarms([self.name])


# -- custom resources ------------------------------------------------------------------------------


class CustomResourceFailed(Exception):
    """A custom resource answered FAILED (or never answered)."""

    def __init__(self, logical_id: str, resource_type: str, reason: str, physical_id: str | None = None):
        super().__init__(reason)
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason
        self.physical_id = physical_id
        #: The resource whose Create failed (set when its FAILED response named a physical id).
        self.resource: FinetuneCustomResource | None = None


class _Pending:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.response: dict[str, Any] | None = None


_PENDING: dict[str, _Pending] = {}
_pending_lock = threading.Lock()


def _stringify(value: Any) -> Any:
    """CloudFormation passes every scalar of a custom resource's properties as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify(v) for v in value]
    return value


def _response_url(region: str, stack_id: str, request_id: str) -> str:
    return (
        f"http://localhost:{RUNTIME.port or 5000}/cloudformation_{region}/cfnresponse"
        f"?stack={quote(stack_id, safe='')}&request={request_id}"
    )


def _lambda_backend(account_id: str, region: str) -> Any:
    from moto.awslambda.utils import get_backend

    return get_backend(account_id, region)


class FinetuneCustomResource(CloudFormationModel):
    """``AWS::CloudFormation::CustomResource`` and ``Custom::*`` with synchronous lifecycle events.

    moto (``CustomModel``): sends only the Create event, in a background thread, to a ResponseURL
    on ``host.docker.internal``; ``AWS::CloudFormation::CustomResource`` is not recognised; change
    sets do not wait; Update and Delete events are never sent; ``FAILED`` is ignored.
    AWS: sends Create/Update/Delete, waits for the response, fails (and rolls back) the stack on
    ``FAILED``, passes the returned ``Data`` to ``Fn::GetAtt`` and ``PhysicalResourceId`` to ``Ref``.
    """

    def __init__(
        self,
        account_id: str,
        region: str,
        stack_id: str,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
    ):
        self.account_id = account_id
        self.region = region
        self.stack_id = stack_id
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.properties = properties
        self.physical_id: str = ""
        self.data: dict[str, Any] = {}
        self._function: Any = None
        self._failed_update: tuple[str, Exception] | None = None
        self._delete_failure: Exception | None = None
        self._deleted = False

    # -- CloudFormationModel ----------------------------------------------------------------
    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFormation::CustomResource"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.data:
            return self.data[attribute_name]
        LOG.warning(
            "Fn::GetAtt %s.%s: the custom resource returned no such key (AWS fails the stack here)",
            self.logical_id,
            attribute_name,
        )
        return None

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> "FinetuneCustomResource":
        props = _stringify(copy.deepcopy(cloudformation_json.get("Properties", {})))
        resource = cls(
            account_id, region_name, kwargs["StackId"], kwargs["LogicalId"], kwargs.get("ResourceType", cls.cloudformation_type()), props
        )
        try:
            response = resource._send("Create", props)
        except CustomResourceFailed as exc:
            if exc.physical_id:  # the rollback sends Delete for the physical id the FAILED response gave
                resource.physical_id = exc.physical_id
                exc.resource = resource
            raise
        resource.physical_id = response.get("PhysicalResourceId") or resource.physical_id
        resource.data = response.get("Data") or {}
        resource._register_on_stack()
        return resource

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls,
        original_resource: "FinetuneCustomResource",
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> "FinetuneCustomResource":
        res = original_resource
        props = _stringify(copy.deepcopy(cloudformation_json.get("Properties", {})))
        fingerprint = json.dumps(props, sort_keys=True, default=str)
        if res._failed_update and res._failed_update[0] == fingerprint:
            # moto retries failed updates up to 5 times; the handler is only called once.
            raise res._failed_update[1]
        old_props, old_physical = res.properties, res.physical_id
        try:
            response = res._send("Update", props, old_properties=old_props, physical_id=old_physical)
        except Exception as exc:
            res._failed_update = (fingerprint, exc)
            raise
        res._failed_update = None
        res.properties = props
        res.data = response.get("Data") or {}
        new_physical = response.get("PhysicalResourceId") or old_physical
        res.physical_id = new_physical
        if new_physical != old_physical:
            # AWS replaces: the old physical resource gets a Delete during cleanup.
            try:
                res._send("Delete", old_props, physical_id=old_physical)
            except CustomResourceFailed as exc:
                LOG.warning("cleanup Delete of %s (%s) failed: %s", res.logical_id, old_physical, exc.reason)
        return res

    def delete(self, account_id: str, region_name: str) -> None:
        if self._deleted:
            return
        if self._delete_failure is not None:
            raise self._delete_failure
        try:
            self._send("Delete", self.properties, physical_id=self.physical_id)
        except Exception as exc:
            self._delete_failure = exc
            raise
        self._deleted = True

    # -- event delivery ------------------------------------------------------------------------
    def _register_on_stack(self) -> None:
        from moto.cloudformation.models import cloudformation_backends

        try:
            stack = cloudformation_backends[self.account_id][self.region].get_stack(self.stack_id)
            stack.custom_resources[self.logical_id] = self  # type: ignore[assignment]
        except Exception:  # noqa: BLE001 - bookkeeping only
            pass

    def _function_for(self, service_token: str) -> Any:
        if self._function is not None:
            return self._function
        try:
            fn = _lambda_backend(self.account_id, self.region).get_function(service_token)
        except Exception as exc:  # noqa: BLE001
            raise CustomResourceFailed(
                self.logical_id, self.resource_type, f"ServiceToken {service_token} is not a Lambda function in the emulator ({exc})"
            ) from None
        # Keep the function object: on stack delete, moto may delete the function first.
        self._function = fn
        return fn

    def _send(
        self, request_type: str, properties: dict[str, Any], old_properties: dict[str, Any] | None = None, physical_id: str | None = None
    ) -> dict[str, Any]:
        service_token = properties.get("ServiceToken") or self.properties.get("ServiceToken")
        if not service_token:
            raise CustomResourceFailed(self.logical_id, self.resource_type, "ServiceToken is required")
        fn = self._function_for(service_token)
        request_id = str(uuid.uuid4())
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": service_token,
            "ResponseURL": _response_url(self.region, self.stack_id, request_id),
            "StackId": self.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": self.logical_id,
            "ResourceType": self.resource_type,
            "ResourceProperties": properties,
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = old_properties
        LOG.info("custom resource %s (%s): %s via %s", self.logical_id, self.resource_type, request_type, fn.function_name)
        env = fn.environment_vars or {}
        if env.get("USER_ON_EVENT_FUNCTION_ARN"):
            response = _provider_framework(self, fn, event)
        elif not str(fn.run_time or "").startswith("python"):
            response = {
                "Status": "SUCCESS",
                "PhysicalResourceId": physical_id or f"{self.logical_id}-{SIMULATED}-{request_id[:8]}",
                "Data": {},
                "Reason": f"{SIMULATED}: {fn.run_time} provider not run by the offline emulator",
            }
            LOG.warning(
                "%s: custom resource %s is served by %s (%s); acknowledged %s without running it",
                SIMULATED,
                self.logical_id,
                fn.function_name,
                fn.run_time,
                request_type,
            )
        else:
            response = _invoke_and_wait(fn, event)
        status = response.get("Status")
        if status != "SUCCESS":
            reason = response.get("Reason") or f"custom resource answered {status!r}"
            raise CustomResourceFailed(self.logical_id, self.resource_type, reason, response.get("PhysicalResourceId"))
        return response


def _invoke_and_wait(fn: Any, event: dict[str, Any]) -> dict[str, Any]:
    pending = _Pending()
    request_id = event["RequestId"]
    with _pending_lock:
        _PENDING[request_id] = pending
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        headers: dict[str, str] = {}
        try:
            outcome["payload"] = fn.invoke(json.dumps(event), {}, headers)
            outcome["error"] = headers.get("x-amz-function-error")
        except Exception as exc:  # noqa: BLE001
            outcome["exception"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"cfn-custom-{event['LogicalResourceId']}", daemon=True).start()
    deadline = time.monotonic() + min(CUSTOM_RESOURCE_TIMEOUT, float(fn.timeout or 3) + 60)
    try:
        while not pending.event.wait(0.05):
            if done.is_set():
                if pending.event.wait(_RESPONSE_GRACE):
                    break
                detail = ""
                if outcome.get("error"):
                    detail = f": {_error_text(outcome.get('payload'))}"
                elif "exception" in outcome:
                    detail = f": {outcome['exception']}"
                return {
                    "Status": "FAILED",
                    "Reason": f"{SIMULATED}: the custom resource handler {fn.function_name} returned without "
                    f"sending a response to the ResponseURL{detail} (AWS would wait up to one hour)",
                }
            if time.monotonic() > deadline:
                return {"Status": "FAILED", "Reason": f"{SIMULATED}: no response from {fn.function_name} in time"}
        return pending.response or {"Status": "FAILED", "Reason": "empty response"}
    finally:
        with _pending_lock:
            _PENDING.pop(request_id, None)


def _error_text(payload: Any) -> str:
    try:
        doc = json.loads(payload)
        return f"{doc.get('errorType')}: {doc.get('errorMessage')}"
    except Exception:  # noqa: BLE001
        return str(payload)[:500]


def _provider_framework(resource: FinetuneCustomResource, framework_fn: Any, event: dict[str, Any]) -> dict[str, Any]:
    """Emulate the CDK provider framework (``custom_resources.Provider``): call the user's functions."""
    from sagemaker_finetuning_emulator.patch_lambda import run_function

    env = framework_fn.environment_vars or {}
    backend = _lambda_backend(resource.account_id, resource.region)
    on_event = backend.get_function(env["USER_ON_EVENT_FUNCTION_ARN"])
    sanitized = dict(event, ResponseURL="...")
    payload, errored, _ = run_function(on_event, sanitized)
    if errored:
        return {"Status": "FAILED", "Reason": _error_text(payload)}
    result = json.loads(payload or b"null") or {}
    physical = result.get("PhysicalResourceId") or (
        event.get("PhysicalResourceId") if event["RequestType"] != "Create" else event["RequestId"]
    )
    data = dict(result.get("Data") or {})
    if env.get("USER_IS_COMPLETE_FUNCTION_ARN"):
        is_complete = backend.get_function(env["USER_IS_COMPLETE_FUNCTION_ARN"])
        deadline = time.monotonic() + CUSTOM_RESOURCE_TIMEOUT
        while True:
            payload, errored, _ = run_function(is_complete, {**sanitized, **result, "PhysicalResourceId": physical})
            if errored:
                return {"Status": "FAILED", "Reason": _error_text(payload)}
            status = json.loads(payload or b"null") or {}
            if status.get("IsComplete"):
                data.update(status.get("Data") or {})
                break
            if time.monotonic() > deadline:
                return {"Status": "FAILED", "Reason": "Operation timed out"}
            time.sleep(_IS_COMPLETE_INTERVAL)
    LOG.info("%s: emulated the CDK provider framework for %s", SIMULATED, resource.logical_id)
    return {"Status": "SUCCESS", "PhysicalResourceId": physical, "Data": data}


def process_cfn_response(self: Any) -> Any:
    """``CloudFormationResponse.process_cfn_response`` that hands the PUT to the waiting resource.

    moto: on SUCCESS stores Data on moto's own ``CustomModel``; ignores FAILED and
    PhysicalResourceId. AWS: the response (either status) completes the pending operation.
    """
    try:
        body = json.loads(self.body or "{}")
    except ValueError:
        body = {}
    request_id = body.get("RequestId") or (self.querystring.get("request") or [None])[0]
    with _pending_lock:
        pending = _PENDING.get(request_id)
    if pending is not None:
        pending.response = body
        pending.event.set()
        return 200, {"status": 200}, ""
    LOG.warning("custom resource response for unknown request %s ignored", request_id)
    return 200, {"status": 200}, ""


def resource_class_from_type(resource_type: str) -> Any:
    """``Custom::*`` -> :class:`FinetuneCustomResource`.

    moto: hard-codes the ``Custom::`` prefix to its ``CustomModel`` (Create only, not awaited by
    change sets, FAILED ignored). Why that is wrong for us: the hub-evaluator and bucket-cleanup
    resources of the app must see Update/Delete and must fail the deploy when they fail.
    AWS: every ``Custom::*`` type is a custom resource with the full lifecycle.
    """
    if resource_type.startswith("Custom::"):
        return FinetuneCustomResource
    return _original_resource_class_from_type(resource_type)


_original_resource_class_from_type: Any = None


# -- stack lifecycle -------------------------------------------------------------------------------


def _resource_event(stack: Any, exc: Exception, status: str) -> None:
    from moto.cloudformation.models import Event

    if isinstance(exc, CustomResourceFailed):
        stack.events.append(
            Event(
                stack_id=stack.stack_id,
                stack_name=stack.name,
                logical_resource_id=exc.logical_id,
                physical_resource_id=exc.physical_id or "",
                resource_type=exc.resource_type,
                resource_status=status,
                resource_status_reason=f"Received response status [FAILED] from custom resource. Message returned: {exc.reason}",
                resource_properties=None,
            )
        )


def _reason(exc: Exception) -> str:
    if isinstance(exc, CustomResourceFailed):
        return f"The following resource(s) failed: [{exc.logical_id}]. {exc.reason}"
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{SIMULATED} emulator error: {type(exc).__name__}: {message}"


def _fail_create(stack: Any, exc: Exception) -> None:
    from moto.cloudformation.parsing import OutputMap

    LOG.warning("stack %s: creation failed: %s", stack.name, _reason(exc), exc_info=not isinstance(exc, CustomResourceFailed))
    _resource_event(stack, exc, "CREATE_FAILED")
    # A failed stack has no Outputs (they may name resources that were never created).
    stack.output_map = OutputMap(stack.resource_map, {}, stack.stack_id)
    stack.status = "CREATE_FAILED"
    stack._add_stack_event("CREATE_FAILED", resource_status_reason=_reason(exc))
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=_reason(exc))
    try:
        if isinstance(exc, CustomResourceFailed) and exc.resource is not None:
            # AWS: the rollback also sends Delete to the custom resource whose Create failed, with the
            # PhysicalResourceId of its FAILED response (it may have created something before failing).
            # moto: the failed resource is not in the resource map, so it never gets a Delete.
            exc.resource.delete(stack.account_id, stack.region_name)
        stack.resource_map.delete()
        stack.status = "ROLLBACK_COMPLETE"
        stack._add_stack_event("ROLLBACK_COMPLETE")
    except Exception as rollback_exc:  # noqa: BLE001
        stack.status = "ROLLBACK_FAILED"
        stack._add_stack_event("ROLLBACK_FAILED", resource_status_reason=_reason(rollback_exc))


def _fail_update(stack: Any, exc: Exception) -> None:
    LOG.warning("stack %s: update failed: %s", stack.name, _reason(exc), exc_info=not isinstance(exc, CustomResourceFailed))
    _resource_event(stack, exc, "UPDATE_FAILED")
    stack._add_stack_event("UPDATE_FAILED", resource_status_reason=_reason(exc))
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=_reason(exc))
    stack.status = "UPDATE_ROLLBACK_COMPLETE"
    stack._add_stack_event(
        "UPDATE_ROLLBACK_COMPLETE",
        resource_status_reason=f"{SIMULATED}: resources changed before the failure were not rolled back",
    )


_orig_create_resources: Any = None
_orig_stack_update: Any = None
_orig_execute_change_set: Any = None
_orig_delete_stack: Any = None
_orig_resource_map_delete: Any = None
_orig_get_stack_from_s3_url: Any = None


def create_resources(self: Any) -> None:
    """``Stack.create_resources`` that turns a resource failure into CREATE_FAILED + rollback.

    moto: the exception escapes (HTTP 500 for CreateStack) and the stack stays CREATE_IN_PROGRESS.
    AWS: CREATE_FAILED, then ROLLBACK_COMPLETE, with the reason in DescribeStackEvents.
    """
    try:
        _orig_create_resources(self)
    except Exception as exc:  # noqa: BLE001
        _fail_create(self, exc)


def stack_update(self: Any, template: str, role_arn: str | None = None, parameters: Any = None, tags: Any = None) -> None:
    """``Stack.update`` (UpdateStack) with UPDATE_FAILED/UPDATE_ROLLBACK_COMPLETE on failure.

    moto: the exception escapes (HTTP 500) and the stack keeps its old status. AWS: UPDATE_FAILED,
    then a rollback to the previous template (here only the status: see ``_fail_update``).
    """
    try:
        _orig_stack_update(self, template, role_arn=role_arn, parameters=parameters, tags=tags)
    except Exception as exc:  # noqa: BLE001
        _fail_update(self, exc)


def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
    """``CloudFormationBackend.execute_change_set`` with failures and Outputs.

    moto: a resource failure escapes as a 500; after success the stack keeps the empty template
    it was created with in REVIEW_IN_PROGRESS, so DescribeStacks has no Outputs (and no exports).
    AWS: the stack gets the change set's template, parameters, Outputs and exports; a failure
    gives CREATE_FAILED/ROLLBACK_COMPLETE or UPDATE_FAILED/UPDATE_ROLLBACK_COMPLETE.
    """
    change_set = self.change_sets.get(change_set_name)
    if change_set is None:
        change_set = next((cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name), None)
    if change_set is None:
        return _orig_execute_change_set(self, change_set_name, stack_name)
    stack = self.stacks[change_set.stack_id]
    try:
        _orig_execute_change_set(self, change_set_name, stack_name)
    except Exception as exc:  # noqa: BLE001
        change_set.execution_status = "EXECUTE_FAILED"
        if change_set.change_set_type == "CREATE":
            _fail_create(stack, exc)
        else:
            _fail_update(stack, exc)
        return None
    stack.template = change_set.template
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    if change_set.parameters:
        stack.parameters = change_set.parameters
    stack.output_map = stack._create_output_map()
    try:
        for export in stack.exports:
            self.exports[export.name] = export
    except Exception:  # noqa: BLE001 - exports are best effort
        LOG.warning("could not register the exports of %s", stack.name, exc_info=True)
    return None


def delete_stack(self: Any, name_or_stack_id: str) -> None:
    """``CloudFormationBackend.delete_stack`` that leaves a DELETE_FAILED stack in place.

    moto: the exception escapes (500) and the stack vanishes from ListStacks.
    AWS: DELETE_FAILED with the reason; the stack can be deleted again.
    """
    stack = self.stacks.get(name_or_stack_id) or next(
        (s for s in self.stacks.values() if s.name == name_or_stack_id), None
    )
    try:
        _orig_delete_stack(self, name_or_stack_id)
    except Exception as exc:  # noqa: BLE001
        if stack is None:
            raise
        LOG.warning("stack %s: delete failed: %s", stack.name, _reason(exc))
        _resource_event(stack, exc, "DELETE_FAILED")
        stack.status = "DELETE_FAILED"
        stack._add_stack_event("DELETE_FAILED", resource_status_reason=_reason(exc))
        self.stacks[stack.stack_id] = stack
        self.deleted_stacks.pop(stack.stack_id, None)


def resource_map_delete(self: Any) -> None:
    """``ResourceMap.delete`` that deletes custom resources first (newest first).

    moto: deletes in arbitrary order, retrying failures, so a custom resource's Lambda is often
    gone before its Delete event would be sent. AWS: reverse dependency order; custom resources are
    normally leaves, so they go first.
    """
    customs = [
        (logical_id, res)
        for logical_id, res in list(self._parsed_resources.items())
        if isinstance(res, FinetuneCustomResource)
        and self._resource_json_map.get(logical_id, {}).get("DeletionPolicy") != "Retain"
    ]
    for logical_id, res in reversed(customs):
        res.delete(self._account_id, self._region_name)
        self._parsed_resources.pop(logical_id, None)
    _orig_resource_map_delete(self)


def _find_change_set(backend: Any, name: str, stack_name: str | None) -> Any:
    if name in backend.change_sets:  # an ARN
        return backend.change_sets[name]
    matches = [
        cs
        for cs in backend.change_sets.values()
        if cs.change_set_name == name and (not stack_name or stack_name in (cs.stack_name, cs.stack_id))
    ]
    return matches[-1] if matches else None


def _change_set_not_found(name: str) -> Exception:
    from moto.cloudformation.exceptions import CloudFormationError

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFoundException"

    return ChangeSetNotFound(f"ChangeSet [{name}] does not exist")


_orig_create_change_set: Any = None


def create_change_set(self: Any) -> Any:
    """``CreateChangeSet`` where ``UsePreviousValue`` means the previous *input* value.

    moto: substitutes the previous *resolved* value; for an ``AWS::SSM::Parameter::Value<...>``
    parameter (CDK's ``BootstrapVersion``) that is the SSM value ("30"), which the update then
    tries to resolve as a parameter name and crashes - every ``cdk deploy`` of an existing stack.
    AWS: re-uses the previous input (the SSM parameter name, or the template default) and
    resolves it again.
    """
    params = self._get_param("Parameters") or []
    if self._get_param("ChangeSetType") == "UPDATE" and any(p.get("UsePreviousValue") for p in params):
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        previous = dict(stack.resource_map.input_parameters or {})
        rewritten = []
        for param in params:
            key = param.get("ParameterKey")
            if not param.get("UsePreviousValue"):
                rewritten.append(param)
            elif key in previous:
                rewritten.append({"ParameterKey": key, "ParameterValue": previous[key]})
            # else: the parameter had its template default before; leaving it out keeps that
        self.params["Parameters"] = rewritten
    return _orig_create_change_set(self)


def describe_change_set(self: Any) -> Any:
    """``DescribeChangeSet`` scoped to the stack, with AWS's not-found error.

    moto: looks the name up across all stacks and answers an unknown one with
    ``ValidationError: Stack with id <change set> does not exist``.
    Why that is wrong for us: ``cdk deploy`` deletes its previous ``cdk-deploy-change-set`` and
    polls DescribeChangeSet until it reports ``ChangeSetNotFound``; moto's error aborts the
    deploy of every stack update.
    AWS: ``ChangeSetNotFound`` (HTTP 404) for a name the stack does not have.
    """
    from moto.core.responses import ActionResult

    name = self._get_param("ChangeSetName")
    change_set = _find_change_set(self.cloudformation_backend, name, self._get_param("StackName"))
    if change_set is None:
        raise _change_set_not_found(name)
    return ActionResult(change_set)


def delete_change_set(self: Any) -> Any:
    """``DeleteChangeSet`` scoped to the stack; deleting a missing change set succeeds.

    moto: deletes the first change set with that name in any stack; a missing one is an
    ``UnboundLocalError`` (HTTP 500). AWS (and the CDK CLI, which relies on it): succeeds.
    """
    from moto.core.responses import EmptyResult

    backend = self.cloudformation_backend
    change_set = _find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
    if change_set is not None:
        backend.change_sets.pop(change_set.change_set_id, None)
    return EmptyResult()


def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
    """Read a TemplateURL on ``127.0.0.1`` path-style.

    moto: path-style only when the URL contains ``localhost``; otherwise the first host label is
    taken as the bucket (``127``), so ``cdk deploy`` with ``AWS_ENDPOINT_URL=http://127.0.0.1:<port>``
    fails with NoSuchBucket. AWS: the URL names the bucket and key of the uploaded template.
    """
    return _orig_get_stack_from_s3_url(template_url.replace("://127.0.0.1", "://localhost"), account_id, partition)


def moto_server_host() -> str:
    """``moto.settings.moto_server_host``.

    moto: ``http://host.docker.internal`` outside Docker, which does not resolve on a plain host,
    so URLs moto hands to Lambda code (ResponseURL, MOTO_HTTP_ENDPOINT) are unreachable.
    AWS: the URLs are reachable from the function. Here everything runs on this host.
    """
    return "http://localhost"


def apply() -> None:
    global _original_resource_class_from_type, _orig_create_resources, _orig_stack_update
    global _orig_execute_change_set, _orig_delete_stack, _orig_resource_map_delete, _orig_get_stack_from_s3_url
    from moto.cloudformation import parsing

    for cls in (CfnModelPackageGroup, CfnHub, CfnAlarm, FinetuneCustomResource):
        if cls not in CloudFormationModel.__subclasses__():  # pragma: no cover - defensive
            raise _patching.EmulatorIncompatible(f"{cls.__name__} is not a direct CloudFormationModel subclass")
    for fn in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        fn.cache_clear()
    owners = {}
    for model in CloudFormationModel.__subclasses__():
        owners.setdefault(model.cloudformation_type(), []).append(model)
    for type_name, cls in (
        ("AWS::SageMaker::ModelPackageGroup", CfnModelPackageGroup),
        ("AWS::SageMaker::Hub", CfnHub),
        ("AWS::CloudWatch::Alarm", CfnAlarm),
        ("AWS::CloudFormation::CustomResource", FinetuneCustomResource),
    ):
        others = [m for m in owners.get(type_name, []) if m is not cls]
        if others:
            raise _patching.EmulatorIncompatible(f"moto now models {type_name} ({others}); review the CloudFormation patch")
        if parsing.get_model_map().get(type_name) is not cls:  # pragma: no cover - defensive
            raise _patching.EmulatorIncompatible(f"{type_name} did not register")
        _patching.record(f"moto.cloudformation.parsing:get_model_map[{type_name}]", f"CloudFormation type {type_name}")

    _original_resource_class_from_type = _patching.replace(
        "moto.cloudformation.parsing:resource_class_from_type",
        resource_class_from_type,
        "Custom::* handled by the synchronous custom resource",
    )
    _patching.replace(
        "moto.cloudformation.responses:CloudFormationResponse.process_cfn_response",
        process_cfn_response,
        "custom resource responses complete the waiting operation (SUCCESS or FAILED)",
    )
    global _orig_create_change_set
    _orig_create_change_set = _patching.replace(
        "moto.cloudformation.responses:CloudFormationResponse.create_change_set",
        create_change_set,
        "CreateChangeSet: UsePreviousValue re-uses the previous input (SSM parameter names)",
    )
    _patching.replace(
        "moto.cloudformation.responses:CloudFormationResponse.describe_change_set",
        describe_change_set,
        "DescribeChangeSet: per stack, ChangeSetNotFound",
    )
    _patching.replace(
        "moto.cloudformation.responses:CloudFormationResponse.delete_change_set",
        delete_change_set,
        "DeleteChangeSet: per stack, missing is fine",
    )
    _orig_create_resources = _patching.replace(
        "moto.cloudformation.models:Stack.create_resources", create_resources, "CREATE_FAILED + rollback on errors"
    )
    _orig_stack_update = _patching.replace(
        "moto.cloudformation.models:Stack.update", stack_update, "UPDATE_FAILED + UPDATE_ROLLBACK_COMPLETE on errors"
    )
    _orig_execute_change_set = _patching.replace(
        "moto.cloudformation.models:CloudFormationBackend.execute_change_set",
        execute_change_set,
        "change sets: failures, Outputs, exports",
    )
    _orig_delete_stack = _patching.replace(
        "moto.cloudformation.models:CloudFormationBackend.delete_stack", delete_stack, "DELETE_FAILED on errors"
    )
    _orig_resource_map_delete = _patching.replace(
        "moto.cloudformation.parsing:ResourceMap.delete", resource_map_delete, "custom resources are deleted first"
    )
    _orig_get_stack_from_s3_url = _patching.replace(
        "moto.cloudformation.responses:get_stack_from_s3_url", get_stack_from_s3_url, "TemplateURL on 127.0.0.1"
    )
    _patching.replace("moto.cloudformation.models:get_stack_from_s3_url", get_stack_from_s3_url, "TemplateURL on 127.0.0.1")
    _patching.replace("moto.settings:moto_server_host", moto_server_host, "moto_server_host is http://localhost")
