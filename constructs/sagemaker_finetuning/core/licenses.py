"""Model licenses: the link (and, where the linked file states it, the name) of each SageMakerPublicHub
model's license, and whether SageMaker requires ``accept_eula`` for it.

The data lives in ``model_licenses.json`` beside this module, with its sources. The workflow names
the link in its ``EulaNotAccepted`` error and the generated notebooks show it; nothing here ever
accepts a license on anyone's behalf.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class ModelLicense:
    model_id: str
    #: SageMaker refuses a training job for it without ``accept_eula`` (the Meta models).
    gated: bool
    #: The license's name where its file states it; None: read the link.
    name: str | None
    url: str | None

    def sentence(self) -> str:
        """How a person is told about it (the phrasing of the SageMaker AI agent plugin's fine-tuning skill)."""
        if self.url is None:
            return f"The license of {self.model_id} is shown on its SageMaker JumpStart model card."
        if self.name == "AWS Service Terms":
            return f"This model is subject to the AWS Service Terms: {self.url}"
        if self.name:
            return f"This model is licensed under the {self.name}. Please review the license terms here: {self.url}"
        return f"Please review the license terms of this model here: {self.url}"


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, object]]:
    data = json.loads((Path(__file__).parent / "model_licenses.json").read_text(encoding="utf-8"))
    models: dict[str, dict[str, object]] = data["models"]
    return models


def license_of(model_id: str) -> ModelLicense | None:
    """The license of a known public-hub model; None for a model this table does not know."""
    entry = _table().get(model_id)
    if entry is None:
        return None
    name, url = entry.get("license"), entry.get("url")
    return ModelLicense(model_id, bool(entry.get("gated")), name if isinstance(name, str) else None,
                        url if isinstance(url, str) else None)
