"""Gap 5: SageMaker Hub API, the public-hub catalogue and the seeded recipe objects."""

from __future__ import annotations

import json

import pytest

from sagemaker_finetuning_emulator import catalog

EVALUATOR_DOC = {
    "SubType": "AWS/Evaluator",
    "JsonContent": json.dumps({"Reference": "arn:aws:lambda:us-east-1:123456789012:function:reward", "EvaluatorType": "RewardFunction"}),
}


@pytest.fixture(scope="module")
def sm(client):
    return client("sagemaker")


def test_private_hub_import_describe_round_trip(sm):
    hub_arn = sm.create_hub(HubName="ai-registry", HubDescription="AI Registry Hub", HubDisplayName="AiRegistry")["HubArn"]
    assert hub_arn == "arn:aws:sagemaker:us-east-1:123456789012:hub/ai-registry"
    hub = sm.describe_hub(HubName="ai-registry")
    assert hub["HubStatus"] == "InService" and hub["HubDescription"] == "AI Registry Hub"
    assert [h["HubName"] for h in sm.list_hubs()["HubSummaries"]] == ["ai-registry"]
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_hub(HubName="ai-registry", HubDescription="again")

    common = dict(
        HubName=hub_arn,  # name or ARN
        HubContentType="JsonDoc",
        HubContentName="reward-fn",
        DocumentSchemaVersion="2.0.0",
        HubContentSearchKeywords=["@subtype:aws/evaluator"],
    )
    first = sm.import_hub_content(HubContentVersion="1.0.0", HubContentDocument=json.dumps(EVALUATOR_DOC), **common)
    assert first["HubArn"] == hub_arn
    assert first["HubContentArn"].endswith(":hub-content/ai-registry/JsonDoc/reward-fn/1.0.0")
    second = sm.import_hub_content(HubContentVersion="1.0.1", HubContentDocument=json.dumps({"v": 2}), **common)
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.import_hub_content(HubContentVersion="1.0.1", HubContentDocument="{}", **common)
    with pytest.raises(sm.exceptions.ClientError, match="not a valid JSON"):
        sm.import_hub_content(HubContentVersion="1.0.2", HubContentDocument="{not json", **common)

    latest = sm.describe_hub_content(HubName="ai-registry", HubContentType="JsonDoc", HubContentName="reward-fn")
    assert latest["HubContentArn"] == second["HubContentArn"] and latest["HubContentStatus"] == "Available"
    pinned = sm.describe_hub_content(HubName="ai-registry", HubContentType="JsonDoc", HubContentName="reward-fn", HubContentVersion="1.0.0")
    assert json.loads(pinned["HubContentDocument"]) == EVALUATOR_DOC
    assert pinned["HubContentSearchKeywords"] == ["@subtype:aws/evaluator"]

    sm.import_hub_content(
        HubName="ai-registry", HubContentType="DataSet", HubContentName="train-set", DocumentSchemaVersion="2.0.0",
        HubContentDocument=json.dumps({"DatasetS3Uri": "s3://data/train/"}),
    )
    listed = sm.list_hub_contents(HubName="ai-registry", HubContentType="JsonDoc")["HubContentSummaries"]
    assert [(c["HubContentName"], c["HubContentVersion"]) for c in listed] == [("reward-fn", "1.0.1")]
    versions = sm.list_hub_content_versions(HubName="ai-registry", HubContentType="JsonDoc", HubContentName="reward-fn")
    assert [v["HubContentVersion"] for v in versions["HubContentSummaries"]] == ["1.0.0", "1.0.1"]
    dataset = sm.describe_hub_content(HubName="ai-registry", HubContentType="DataSet", HubContentName="train-set")
    assert dataset["HubContentVersion"] == "1.0.0"

    sm.delete_hub_content(HubName="ai-registry", HubContentType="JsonDoc", HubContentName="reward-fn", HubContentVersion="1.0.1")
    again = sm.describe_hub_content(HubName="ai-registry", HubContentType="JsonDoc", HubContentName="reward-fn")
    assert again["HubContentVersion"] == "1.0.0"
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_hub_content(HubName="ai-registry", HubContentType="JsonDoc", HubContentName="nope")
    sm.delete_hub(HubName="ai-registry")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_hub(HubName="ai-registry")


def test_public_hub_catalogue_and_recipes(sm, client):
    s3 = client("s3")
    for model_id in catalog.model_ids():
        described = sm.describe_hub_content(HubName="SageMakerPublicHub", HubContentType="Model", HubContentName=model_id)
        expected = catalog.describe_hub_content("us-east-1", model_id)
        assert described["HubContentArn"] == expected["HubContentArn"]
        assert json.loads(described["HubContentDocument"]) == json.loads(expected["HubContentDocument"])
        assert described["HubContentSearchKeywords"][0] == "@capability:customization"  # the real marker (recipe_utils.py)
        assert described["DocumentSchemaVersion"] == "2.4.0"
    listed = sm.list_hub_contents(HubName="SageMakerPublicHub", HubContentType="Model")["HubContentSummaries"]
    assert sorted(c["HubContentName"] for c in listed) == sorted(catalog.model_ids())
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_hub_content(HubName="SageMakerPublicHub", HubContentType="Model", HubContentName="no-such-model")
    assert sm.describe_hub(HubName="SageMakerPublicHub")["HubArn"] == "arn:aws:sagemaker:us-east-1:aws:hub/SageMakerPublicHub"

    # every recipe URI a hub document names is readable from the emulated S3
    doc = json.loads(
        sm.describe_hub_content(HubName="SageMakerPublicHub", HubContentType="Model", HubContentName=catalog.DEFAULT_MODEL_ID)[
            "HubContentDocument"
        ]
    )
    for recipe in doc["RecipeCollection"]:
        bucket, _, key = recipe["SmtjOverrideParamsS3Uri"][len("s3://") :].partition("/")
        params = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        assert "learning_rate" in params


def test_reset_clears_state_and_reseeds(emulator, sm, client):
    sm.create_hub(HubName="temp-hub", HubDescription="x")
    emulator.reset()
    assert sm.list_hubs()["HubSummaries"] == []
    s3 = client("s3")
    assert s3.list_objects_v2(Bucket="jumpstart-cache-prod-us-east-1")["KeyCount"] > 0


def test_import_tags_each_version_and_list_tags_reads_them_per_version(sm):
    """What the hub-evaluator custom resource relies on to delete only its own versions: the Tags of
    ImportHubContent belong to that version (its ARN), ListTags on a version ARN returns them."""
    sm.create_hub(HubName="owned-hub", HubDescription="AI Registry Hub")
    common = dict(HubName="owned-hub", HubContentType="JsonDoc", HubContentName="rf-owned", DocumentSchemaVersion="2.0.0",
                  HubContentDocument=json.dumps(EVALUATOR_DOC))
    ours = [{"Key": "sagemaker-finetuning:cfn-stack-id", "Value": "arn:aws:cloudformation:us-east-1:123456789012:stack/S/1"},
            {"Key": "sagemaker-finetuning:cfn-logical-id", "Value": "Evaluator"}]
    sdk = sm.import_hub_content(HubContentVersion="1.0.0", **common)["HubContentArn"]
    mine = sm.import_hub_content(HubContentVersion="2.0.0", Tags=ours, **common)["HubContentArn"]
    assert sm.list_tags(ResourceArn=mine)["Tags"] == ours
    assert sm.list_tags(ResourceArn=sdk)["Tags"] == []
    summaries = sm.list_hub_content_versions(HubName="owned-hub", HubContentType="JsonDoc", HubContentName="rf-owned")["HubContentSummaries"]
    assert [(s["HubContentVersion"], s["HubContentArn"]) for s in summaries] == [("1.0.0", sdk), ("2.0.0", mine)]
    sm.delete_hub_content(HubName="owned-hub", HubContentType="JsonDoc", HubContentName="rf-owned", HubContentVersion="2.0.0")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.list_tags(ResourceArn=mine)
    sm.delete_hub(HubName="owned-hub")
