# Cell 3: Model Package Group
try:
    model_package_group = ModelPackageGroup.create(
        model_package_group_name=MODEL_PACKAGE_GROUP_NAME,
        model_package_group_description={{ group_description | py }},
    )
except ClientError as error:
    # The group already exists (an earlier run): reuse it.
    if error.response["Error"]["Code"] not in ("ResourceInUse", "ValidationException"):
        raise
    model_package_group = ModelPackageGroup.get(model_package_group_name=MODEL_PACKAGE_GROUP_NAME)
print("Model package group:", model_package_group.model_package_group_arn)

# Cell 4: Register Training Dataset
dataset = DataSet.create(
    name=MODEL_PACKAGE_GROUP_NAME,
    source=TRAINING_DATA_S3,
    customization_technique={{ technique_enum }},
    wait=True,
)
print("Dataset:", dataset.arn)
