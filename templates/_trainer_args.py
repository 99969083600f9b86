{#- Partial: the trainer keyword arguments every fresh-run template shares, up to the closing
    parenthesis. accept_eula appears only for meta- (gated) models; continued customization
    (continued.py) never passes it, so it does not include this partial. #}    s3_output_path=S3_OUTPUT_PATH,
    mlflow_experiment_name=MODEL_PACKAGE_GROUP_NAME,
    #% if mlflow_resource_arn
    mlflow_resource_arn=MLFLOW_RESOURCE_ARN,
    #% endif
    sagemaker_session=sagemaker_session,
    role=ROLE_ARN,
    #% if is_meta
    accept_eula=ACCEPT_EULA,
    #% endif
)
