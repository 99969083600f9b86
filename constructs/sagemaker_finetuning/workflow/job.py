"""FineTuningJob: one fine-tuning run as a Step Functions fragment other state machines embed.

The fragment is a ``Parallel`` state with one branch: the workflow's own states (validate, resolve,
check datasets, plan, verify reward, record, launch, track, summarize), prefixed with the
fragment's id. A ``Parallel`` is what makes the run's failures catchable: the branch's ``Fail``
states (``InvalidInput``, ``TrainingJobFailed`` ...) fail the ``Parallel`` with that error and cause,
so ``add_catch`` on the fragment sees the named error, where a ``Fail`` state at the top level would
end the whole execution.

Input and output are the execution contract of the workflow's own state machine: the fragment
reads ``input_path`` (the execution input JSON) and writes the output document (every key of
``execution_output.schema.json``) at ``result_path``.

The runtime (Lambda functions, waiter table, event rules) is the workflow's, once per stack. The
states carry their IAM, so the embedding state machine's role gets exactly what the run needs; what
the runtime needs of the embedding machine (wake it with ``SendTaskSuccess``, see its executions
end, describe them in the sweeper) is added when the app is synthesized (:class:`EmbeddingWatcher`).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Optional, Sequence

import jsii
from aws_cdk import Annotations, IAspect, Stack
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct, IConstruct, IValidation
from sagemaker_finetuning.core.tracking import OUTPUT_KEYS
from sagemaker_finetuning.support import props
from sagemaker_finetuning.workflow.definition import build_definition

if TYPE_CHECKING:
    from sagemaker_finetuning.workflow.construct import FineTuningWorkflow

#: Step Functions state names have at most 80 characters; the longest inner state name has 27.
MAX_ID = 40
_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*)*$")
#: The Parallel's ResultSelector: its one branch's output document, key by key (a ResultSelector makes an object).
OUTPUT_SELECTOR = {f"{key}.$": f"$[0].{key}" for key in OUTPUT_KEYS}


class FineTuningJob(sfn.StateMachineFragment):
    """One serverless fine-tuning run as a state-machine fragment (``ServerlessFineTuning.job(...)``
    or ``FineTuningWorkflow.job(...)``); chain it like any state, also inside a ``Map``.

    :param workflow: the workflow whose runtime runs the job (its Lambdas, waiter table, rules).
    :param input_path: where the run's input (the execution input JSON contract) is. Default: ``$``.
    :param result_path: where its output document goes. Default: ``$`` (replaces the state's input).
    :param comment: the Parallel state's comment. Default: a description of the run.
    :param dataset_fan_out: validate datasets above the workflow's ``dataset_fan_out_size`` with a Distributed
        Map (child executions of your state machine; CDK grants it to start them). False keeps validation
        inline (up to about 1,500 parts of 64 MiB), e.g. when the job sits inside your own inline ``Map``.
        Default: True.

    Errors (``add_catch``): the workflow's named input errors (``InvalidInput``, ``ModelNotFound`` ...,
    nothing launched), ``TrainingJobFailed``, ``TrainingJobStopped``, and the AWS error names of a
    call that failed after its retries. Job names derive from the execution, the fragment's path and
    its input: two fragments of one execution, or the items of a Map, get their own job; a redrive
    finds its own.
    """

    def __init__(self, scope: Construct, id: str, *, workflow: FineTuningWorkflow, input_path: str = "$",
                 result_path: str = "$", comment: Optional[str] = None, dataset_fan_out: bool = True) -> None:
        from sagemaker_finetuning.workflow.construct import FineTuningWorkflow

        props.instance("workflow", workflow, FineTuningWorkflow, "a FineTuningWorkflow (ServerlessFineTuning(...).workflow)")
        props.string("id", id, pattern=r"[A-Za-z0-9][A-Za-z0-9 _-]{0,%d}" % (MAX_ID - 1),
                     expected=f"1-{MAX_ID} letters, digits, spaces, '_' or '-' (it prefixes the run's state names)")
        for name, value in (("input_path", input_path), ("result_path", result_path)):
            props.string(name, value, pattern=_PATH.pattern[1:-1],
                         expected="a JSONPath reference such as $ or $.sft (dots and names only)")
        props.string("comment", comment, optional=True)
        super().__init__(scope, id)
        self.workflow = workflow
        props.boolean("dataset_fan_out", dataset_fan_out)
        body = build_definition(self, workflow.runtime, workflow.execution_role, fragment=self.node.path,
                                fan_out_bytes=workflow.dataset_fan_out_bytes if dataset_fan_out else None)
        self.run = _RunState(
            self, "Run", input_path=input_path, result_path=result_path, result_selector=OUTPUT_SELECTOR,
            comment=comment or "SageMaker AI serverless fine-tuning run: validate, launch, track (errors are catchable)",
        )
        self.run.branch(body.start)
        sfn.State.prefix_states(self, f"{id}: ")
        body.finish()
        workflow.watch_embedding()
        self.node.add_validation(_UsedInAStateMachine(self))

    @property
    def start_state(self) -> sfn.State:
        return self.run

    @property
    def end_states(self) -> list[sfn.INextable]:
        return [self.run]

    def add_catch(self, handler: sfn.IChainable, *, errors: Optional[Sequence[str]] = None,
                  result_path: Optional[str] = None) -> FineTuningJob:
        """Go to ``handler`` when the run fails with one of ``errors`` (default: any)."""
        self.run.add_catch(handler, errors=list(errors) if errors else None, result_path=result_path)
        return self


class _RunState(sfn.Parallel):
    """The fragment's Parallel; knows whether a state machine uses it."""

    bound = False

    def _when_bound_to_graph(self, graph: sfn.StateGraph) -> None:
        super()._when_bound_to_graph(graph)
        self.bound = True


@jsii.implements(IValidation)
class _UsedInAStateMachine:
    def __init__(self, job: FineTuningJob) -> None:
        self.job = job

    def validate(self) -> list[str]:
        if self.job.run.bound:
            return []
        return [f"FineTuningJob {self.job.node.path} is used in no state machine: chain it into one, e.g. "
                "sfn.StateMachine(stack, 'Pipeline', definition_body=sfn.DefinitionBody.from_chainable(job))"]


@jsii.implements(IAspect)
class EmbeddingWatcher:
    """Finds, at synthesis, the state machines that embed the workflow's runs (their definition invokes
    its Steps function) and tells the workflow (:meth:`FineTuningWorkflow.serve`).

    It acts once, on the app's root, before any other construct is visited, so what it adds (IAM
    statements, the rule's pattern, cdk-nag suppressions) is in place when cdk-nag looks."""

    def __init__(self, workflow: FineTuningWorkflow) -> None:
        self.workflow = workflow
        self.done = False

    def visit(self, node: IConstruct) -> None:
        if self.done or node is not node.node.root:
            return
        self.done = True
        for machine in node.node.find_all():
            if isinstance(machine, sfn.StateMachine) and machine is not self.workflow.state_machine and self._embeds(machine):
                self._serve(machine)

    def _serve(self, machine: sfn.StateMachine) -> None:
        if Stack.of(machine) is not Stack.of(self.workflow):
            Annotations.of(machine).add_warning_v2(
                "sagemaker-finetuning:jobInAnotherStack",
                f"This state machine embeds a FineTuningJob of {self.workflow.node.path} from another stack: its executions "
                "are not woken by job events nor cleaned up on abort. Define it in the workflow's stack.")
            return
        self.workflow.serve(machine)

    def _embeds(self, machine: sfn.StateMachine) -> bool:
        cfn = machine.node.default_child
        if not isinstance(cfn, sfn.CfnStateMachine) or cfn.definition_string is None:
            return False
        stack = Stack.of(machine)
        steps = Stack.of(self.workflow).resolve(Stack.of(self.workflow).get_logical_id(self.workflow.steps_function.node.default_child))  # type: ignore[arg-type]
        return f'"{steps}"' in json.dumps(stack.resolve(cfn.definition_string))
