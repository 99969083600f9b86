# Cell 7: Hyperparameter Overrides
# The trainer starts from the recipe's recommended values. Uncomment a line to change one;
# a value outside the recipe's range raises an error that states the allowed range.
#% for line in hyperparameter_lines
{{ line }}
#% endfor
# trainer.hyperparameters.global_batch_size = 64
# trainer.hyperparameters.learning_rate = 1e-4
#% if not is_nova
# trainer.hyperparameters.max_epochs = 2
#% if technique in ("SFT", "DPO")
# trainer.hyperparameters.lr_warmup_steps_ratio = 0.1
#% endif
#% endif
#% if technique == "DPO"
# trainer.hyperparameters.adam_beta = 0.1
#% endif
print(json.dumps(trainer.hyperparameters.to_dict(), indent=2))

# Cell 8: Launch Training
# Serverless training can take hours; wait=False returns at once (then use training_job.wait()).
training_job = trainer.train(wait=True)
print("Training job:", training_job.training_job_name, "-", training_job.training_job_status)
print("Fine-tuned model package:", training_job.output_model_package_arn)

# Cell 9: Save Manifest
manifest_dir = Path("manifests")
manifest_dir.mkdir(exist_ok=True)
manifest = {
    "training_job_name": training_job.training_job_name,
    "model_package_group_name": MODEL_PACKAGE_GROUP_NAME,
    "technique": {{ technique | py }},
    "base_model": BASE_MODEL,
    "output_model_package_arn": str(training_job.output_model_package_arn),
}
manifest_path = manifest_dir / f"training-{training_job.training_job_name}.json"
manifest_path.write_text(json.dumps(manifest, indent=2))
print("Manifest:", manifest_path)

# Cell 10: Training Metrics
# Needs the sagemaker-mlflow package: the tracking URI is the MLflow app or server ARN.
import mlflow
from mlflow.tracking import MlflowClient

mlflow.set_tracking_uri(training_job.mlflow_config.mlflow_resource_arn)
mlflow_client = MlflowClient()
run_id = training_job.mlflow_details.mlflow_run_id
METRIC_NAMES = {{ metric_names | py }}
steps_per_epoch = getattr(training_job.progress_info, "total_step_count_per_epoch", None)
if not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
    steps_per_epoch = None
rows = {}
for metric_name in METRIC_NAMES:
    for point in mlflow_client.get_metric_history(run_id, metric_name):
        key = max(point.step - 1, 0) // steps_per_epoch + 1 if steps_per_epoch else point.step
        rows.setdefault(key, {})[metric_name] = point.value  # the last value of each epoch
print(("epoch" if steps_per_epoch else "step").ljust(8) + "".join(name.rjust(26) for name in METRIC_NAMES))
for key in sorted(rows):
    cells = [f"{rows[key][name]:.4f}" if name in rows[key] else "-" for name in METRIC_NAMES]
    print(str(key).ljust(8) + "".join(cell.rjust(26) for cell in cells))
