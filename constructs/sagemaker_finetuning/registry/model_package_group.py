"""ModelPackageGroup: an L2 over ``AWS::SageMaker::ModelPackageGroup``."""

from __future__ import annotations

import re
from typing import Optional

from aws_cdk import Arn, ArnFormat, Names, RemovalPolicy, Resource, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

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


def validate_group_name(name: str, prop: str = "model_package_group_name") -> None:
    """Raise a clear error unless ``name`` is a valid group name (tokens are not checked)."""
    if Token.is_unresolved(name):
        return
    if not NAME_PATTERN.match(name):
        raise ValueError(
            f"{prop}: received {name!r}; expected 1-63 letters, digits and hyphens, "
            "starting and ending with a letter or digit (pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})"
        )


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
        if model_package_group_name is None:
            model_package_group_name = Names.unique_resource_name(self, max_length=63, separator="-").strip("-")
            model_package_group_name = re.sub(r"[^a-zA-Z0-9-]", "", model_package_group_name)
        validate_group_name(model_package_group_name)
        if description is not None and not Token.is_unresolved(description) and len(description) > 1024:
            raise ValueError(f"description: received {len(description)} characters; expected at most 1024")
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
        name = Arn.split(model_package_group_arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name
        imported = _ModelPackageGroupBase(scope, id)
        imported.model_package_group_name = name
        imported.model_package_group_arn = model_package_group_arn
        return imported


IModelPackageGroup = _ModelPackageGroupBase
