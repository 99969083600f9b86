# Cell 2: Setup & Credentials
sagemaker_session = Session(sagemaker_client=boto3.Session().client("sagemaker"))
BUCKET = sagemaker_session.default_bucket()
#% if role_arn
ROLE_ARN = {{ role_arn | py }}
#% else
ROLE_ARN = get_execution_role()
#% endif

BASE_MODEL = {{ base_model | py }}
MODEL_PACKAGE_GROUP_NAME = {{ model_package_group_name | py }}
#% if training_dataset
TRAINING_DATA_S3 = {{ training_dataset | py }}
#% else
TRAINING_DATA_S3 = f"s3://{BUCKET}/datasets/{MODEL_PACKAGE_GROUP_NAME}/train.jsonl"  # upload your JSONL here
#% endif
S3_OUTPUT_PATH = f"s3://{BUCKET}/finetuning-output/"
#% if is_meta
ACCEPT_EULA = {{ accept_eula | py }}  # gated model: True only once you have read and accepted its license
#% endif
#% if mlflow_resource_arn
MLFLOW_RESOURCE_ARN = {{ mlflow_resource_arn | py }}
#% endif
print(f"Role: {ROLE_ARN}\nTraining data: {TRAINING_DATA_S3}\nOutput: {S3_OUTPUT_PATH}")
