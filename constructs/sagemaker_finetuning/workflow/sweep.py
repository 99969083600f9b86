"""A sweep's states: plan every configuration -> run each as a FineTuningJob in a Distributed Map -> choose the best.

In the workflow's own state machine, after the whole-dataset validation (once for all configurations)::

    Sweep? -> PlanSweep -> RunSweep (Distributed Map, child executions, max_concurrency and tolerated failures
              from the input) -> SummarizeSweep -> SweepCompleted

Each child runs one configuration: the ``Trial`` FineTuningJob (the run's own states: validate, plan,
launch, track, evaluate), then RecordTrial writes its output document (or RecordFailedTrial its error)
to S3, where SummarizeSweep reads them. A failed trial fails its child (``TrialFailed``), which counts
against the Map's tolerated failure percentage; SummarizeSweep applies the same rule to what it reads.
Orchestration per child beyond the run's own states: the Trial Parallel and RecordTrial (three
transitions with the child's start), plus PlanSweep / RunSweep / SummarizeSweep once per sweep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from sagemaker_finetuning.workflow.definition import Ends, GrantingDistributedMap, StepFactory, SweepStates
from sagemaker_finetuning.workflow.job import FineTuningJob
from sagemaker_finetuning.workflow.policies import ALL_ERRORS

if TYPE_CHECKING:
    from sagemaker_finetuning.workflow.construct import FineTuningWorkflow

#: The Map's error when more children failed than tolerated (it stops the others).
THRESHOLD_EXCEEDED = "States.ExceedToleratedFailureThreshold"


def sweep_states(scope: Construct, workflow: FineTuningWorkflow) -> SweepStates:
    """The builder :func:`build_definition` calls with its step factory and ends."""

    def build(step: StepFactory, ends: Ends) -> tuple[sfn.IChainable, list[tuple[sfn.Map, sfn.IChainable]]]:
        runtime = workflow.runtime
        plan = step("PlanSweep", "plan_sweep", {
            "input.$": "$.input", "resolution.$": "$.resolution", "dataset_validation.$": "$.dataset_validation",
            "execution_arn.$": "$$.Execution.Id", "work": {"bucket": runtime.work.bucket.bucket_name, "prefix": runtime.work.prefix},
        }, "$.sweep_plan", "Plans every configuration's job with the recipe (names, ranges), checks the budget of all, writes the trials")
        run = GrantingDistributedMap(
            scope, "RunSweep", statements=runtime.work.read_statements(),
            item_reader=sfn.S3JsonItemReader(bucket_name_path=sfn.JsonPath.string_at("$.sweep_plan.items_location.Bucket"),
                                             key=sfn.JsonPath.string_at("$.sweep_plan.items_location.Key")),
            item_selector={"item.$": "$$.Map.Item.Value", "records.$": "$.sweep_plan.records"},
            max_concurrency_path=sfn.JsonPath.string_at("$.sweep_plan.max_concurrency"),
            tolerated_failure_percentage_path=sfn.JsonPath.string_at("$.sweep_plan.tolerated_failure_percentage"),
            map_execution_type=sfn.StateMachineType.STANDARD, label="Sweep", result_path=sfn.JsonPath.DISCARD,
            comment="Trains each configuration in a child execution, max_concurrency at a time",
        )
        failed = sfn.Pass(scope, "ExplainSweepFailure", parameters={"Error.$": "$.error.Error", "Cause.$": "States.StringToJson($.error.Cause)"},
                          result_path="$.error").next(sfn.Fail(scope, "SweepFailed", error_path="$.error.Error", cause_path="$.error.Cause.errorMessage",
                                                               comment="Too many configurations failed, or the best missed the gate: nothing approved"))
        summarize = step("SummarizeSweep", "summarize_sweep", {"input.$": "$.input", "sweep_plan.$": "$.sweep_plan"}, "$.output",
                         "Reads every trial, approves the best model package and rejects the others; the table",
                         catches=[(("SweepFailed", "EvaluationGateFailed"), failed)])
        run.add_catch(summarize, errors=[THRESHOLD_EXCEEDED], result_path="$.map_error")
        run.add_catch(ends.failed, errors=list(ALL_ERRORS), result_path="$.error")
        plan.next(run).next(summarize).next(sfn.Succeed(scope, "SweepCompleted", output_path="$.output", comment="The best run's output and the table"))
        return plan, [(run, _trial(scope, workflow))]

    return build


def _trial(scope: Construct, workflow: FineTuningWorkflow) -> sfn.IChainable:
    """One child: the configuration's run, then its record (errors as data, then the child fails)."""
    trial = FineTuningJob(scope, "Trial", workflow=workflow, input_path="$.item.input", result_path="$.output", dataset_fan_out=False,
                          comment="One configuration's run: validate, launch, track, evaluate")
    step = StepFactory(scope, workflow.runtime, None)
    common = {"item.$": "$.item", "records.$": "$.records", "execution_arn.$": "$$.Execution.Id", "fragment": trial.node.path}
    recorded = step("RecordTrial", "record_trial", {**common, "output.$": "$.output"}, "$.record", "Writes the run's output for SummarizeSweep")
    failed = step("RecordFailedTrial", "record_trial", {**common, "error.$": "$.error"}, "$.record", "Writes the run's error for SummarizeSweep")
    trial.add_catch(failed, result_path="$.error")
    failed.next(sfn.Fail(scope, "TrialFailed", error_path="$.error.Error", cause_path="$.error.Cause",
                         comment="The configuration's run failed (counted against the tolerated failures)"))
    return trial.next(recorded)
