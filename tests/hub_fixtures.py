"""SageMakerPublicHub test data for the unit tests: DescribeHubContent responses, hub documents and
the recipes' override-params documents of real models.

The facts are the data files of ``sagemaker_finetuning_emulator.hub_data`` (built from AWS's recipes
repository and SDK v3, sources in its SOURCES.md): the unit tests of the pure core and the emulator
read the same files. Only the data loader is shared, not the emulator.
"""

from __future__ import annotations

from sagemaker_finetuning_emulator.hub_data import (  # noqa: F401  (re-exported for the tests)
    DEFAULT_MODEL_ID,
    FULL_AND_LORA_MODEL_ID,
    GATED_MODEL_ID,
    LORA_ONLY_MODEL_ID,
    NO_DPO_MODEL_ID,
    NOVA_MODEL_ID,
    PUBLIC_HUB_NAME,
    describe_hub_content,
    hub_document,
    model,
    model_ids,
    override_params,
    override_params_by_name,
    recipe_objects,
)
