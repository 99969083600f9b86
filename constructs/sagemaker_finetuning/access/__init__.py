"""IAM: the execution role serverless training jobs run as."""
