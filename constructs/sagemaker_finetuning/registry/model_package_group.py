"""ModelPackageGroup: an L2 over ``AWS::SageMaker::ModelPackageGroup``."""

from __future__ import annotations

import re
from typing import Optional

from aws_cdk import Arn, ArnFormat, Names, RemovalPolicy, Resource, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker

from constructs import Construct
from sagemaker_finetuning.core.naming import NAME_PATTERN, NAME_RE, NAME_RULE
from sagemaker_finetuning.support import props

REGISTER_ACTIONS = (
    "sagemaker:CreateModelPackage",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
    "sagemaker:UpdateModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:AddTags",
)
READ_ACTIONS = (
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
)


GROUP_ARN_PATTERN = rf"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{{12}}:model-package-group/{NAME_PATTERN}"


def validate_group_name(name: str, prop: str = "model_package_group_name") -> None:
    """Raise a clear error unless ``name`` is a valid group name (tokens are not checked)."""
    if isinstance(name, str) and Token.is_unresolved(name):
        return
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise props.InvalidProp(prop, name, NAME_RULE)


class _ModelPackageGroupBase(Resource):
    model_package_group_name: str
    model_package_group_arn: str

    def model_packages_arn(self) -> str:
        """The ARN pattern of the versioned model packages registered in this group."""
        return Stack.of(self).format_arn(
            service="sagemaker", resource="model-package", resource_name=f"{self.model_package_group_name}/*",
        )

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant the given actions on the group and its model packages."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.model_package_group_arn, self.model_packages_arn()],
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the group and its model packages."""
        return self.grant(grantee, *READ_ACTIONS)

    def grant_register(self, grantee: iam.IGrantable) -> iam.Grant:
        """Register model packages into the group (what a training job's role needs)."""
        return self.grant(grantee, *REGISTER_ACTIONS)


class ModelPackageGroup(_ModelPackageGroupBase):
    """Defines a SageMaker model package group, where fine-tuned models are registered.

    :param model_package_group_name: the group name. Default: a unique name derived from the
        construct path (the service requires a physical name).
    :param description: Default: none.
    :param removal_policy: what happens to the group when the stack is deleted. Default: RETAIN
        (registered models are valuable).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model_package_group_name: Optional[str] = None,
        description: Optional[str] = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        props.removal_policy("removal_policy", removal_policy)
        props.string("description", description, optional=True, max_length=1024, expected="a description of at most 1024 characters")
        if model_package_group_name is None:
            model_package_group_name = Names.unique_resource_name(self, max_length=63, separator="-").strip("-")
            model_package_group_name = re.sub(r"[^a-zA-Z0-9-]", "", model_package_group_name)
        validate_group_name(model_package_group_name)
        self._resource = sagemaker.CfnModelPackageGroup(
            self, "Resource",
            model_package_group_name=model_package_group_name,
            model_package_group_description=description,
        )
        self._resource.apply_removal_policy(removal_policy)
        self.model_package_group_name = self._resource.model_package_group_name
        self.model_package_group_arn = self._resource.attr_model_package_group_arn

    @staticmethod
    def from_model_package_group_name(scope: Construct, id: str, model_package_group_name: str) -> _ModelPackageGroupBase:
        """Import an existing group by name."""
        validate_group_name(model_package_group_name)
        imported = _ModelPackageGroupBase(scope, id)
        imported.model_package_group_name = model_package_group_name
        imported.model_package_group_arn = Stack.of(scope).format_arn(
            service="sagemaker", resource="model-package-group", resource_name=model_package_group_name,
        )
        return imported

    @staticmethod
    def from_model_package_group_arn(scope: Construct, id: str, model_package_group_arn: str) -> _ModelPackageGroupBase:
        """Import an existing group by ARN."""
        props.string("model_package_group_arn", model_package_group_arn, pattern=GROUP_ARN_PATTERN,
                     expected="a model package group ARN (arn:aws:sagemaker:<region>:<account>:model-package-group/<name>)")
        name = Arn.split(model_package_group_arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name
        imported = _ModelPackageGroupBase(scope, id)
        imported.model_package_group_name = name
        imported.model_package_group_arn = model_package_group_arn
        return imported


IModelPackageGroup = _ModelPackageGroupBase


class ModelPackageGroupSource:
    """Where the pattern registers models: a new group, or one you have.

    ``ModelPackageGroupSource.new_group("support-bot-v1")`` or
    ``ModelPackageGroupSource.existing(ModelPackageGroup.from_model_package_group_name(stack, "G", "support-bot-v1"))``.
    """

    def __init__(self, *, group: Optional[IModelPackageGroup], name: Optional[str], description: Optional[str]) -> None:
        self._group, self._name, self._description = group, name, description

    @staticmethod
    def new_group(model_package_group_name: Optional[str] = None, *, description: Optional[str] = None) -> "ModelPackageGroupSource":
        """A new :class:`ModelPackageGroup` (it follows the pattern's removal policy).
        Default name: derived from the construct path."""
        if model_package_group_name is not None:
            validate_group_name(model_package_group_name)
        return ModelPackageGroupSource(group=None, name=model_package_group_name, description=description)

    @staticmethod
    def existing(group: IModelPackageGroup) -> "ModelPackageGroupSource":
        """A group defined elsewhere (e.g. ``ModelPackageGroup.from_model_package_group_name``)."""
        props.instance("group", group, IModelPackageGroup, "a ModelPackageGroup (or one imported with from_model_package_group_name/_arn)")
        return ModelPackageGroupSource(group=group, name=None, description=None)

    def bind(self, scope: Construct, id: str, removal_policy: RemovalPolicy) -> IModelPackageGroup:
        if self._group is not None:
            return self._group
        return ModelPackageGroup(
            scope, id, model_package_group_name=self._name, removal_policy=removal_policy,
            description=self._description or "Models fine-tuned by SageMaker serverless fine-tuning",
        )
