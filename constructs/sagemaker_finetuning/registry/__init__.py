"""SageMaker registries: model package groups and AI Registry hub evaluators."""
