"""Dataset record formats: per-format predicates (fast path) and diagnosing checkers.

Each format has a cheap predicate that accepts a valid record and a diagnosing checker that names
every problem of an invalid one with its field path. The streaming engine calls the predicate on
every record and the checker only on records the predicate rejects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from sagemaker_finetuning.core.constants import is_nova_model

_SHOWN = 60

# Error kinds (stable names: the CLI and a CI gate may match on them).
INVALID_JSON = "invalid_json"
INVALID_UTF8 = "invalid_utf8"
NOT_AN_OBJECT = "not_an_object"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
EMPTY_VALUE = "empty_value"
INVALID_VALUE = "invalid_value"
NO_RECORDS = "no_records"


class DatasetError(Exception):
    """The dataset cannot be read at all (missing file, S3 error, unknown format)."""



# --------------------------------------------------------------------------------------------
# Helpers for messages


def _jtype(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _show(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _blank(s: str) -> bool:
    return not s or s.isspace()


#: The problems of one record: ``(kind, message)`` pairs.
Errors = list[tuple[str, str]]


def _need_str(obj: dict[str, Any], key: str, path: str, errs: Errors, *, optional: bool = False) -> Any:
    """Check ``obj[key]`` is a non-blank string; returns the value (or None)."""
    where = f"{path}{key}"
    if key not in obj or (optional and obj[key] is None):
        if not optional:
            errs.append((MISSING_FIELD, f'"{where}" is missing'))
        return None
    v = obj[key]
    if not isinstance(v, str):
        errs.append((WRONG_TYPE, f"{where}: expected a string, got {_jtype(v)} {_show(v)}"))
        return None
    if not optional and _blank(v):
        errs.append((EMPTY_VALUE, f"{where}: must not be empty"))
    return v


def _need_list(obj: dict[str, Any], key: str, path: str, errs: Errors, *, optional: bool = False) -> list[Any] | None:
    where = f"{path}{key}"
    if key not in obj or (optional and obj[key] is None):
        if not optional:
            errs.append((MISSING_FIELD, f'"{where}" is missing'))
        return None
    v = obj[key]
    if not isinstance(v, list):
        errs.append((WRONG_TYPE, f"{where}: expected an array, got {_jtype(v)} {_show(v)}"))
        return None
    if not v and not optional:
        errs.append((EMPTY_VALUE, f"{where}: must not be an empty array"))
    return v


def _need_object(v: Any, where: str, errs: Errors) -> bool:
    if not isinstance(v, dict):
        errs.append((WRONG_TYPE, f"{where}: expected an object, got {_jtype(v)} {_show(v)}"))
        return False
    return True


# --------------------------------------------------------------------------------------------
# Open-weights formats

_CHAT_ROLES = frozenset(("system", "user", "assistant"))


def _fast_sft(o: Any) -> bool:
    if type(o) is not dict:
        return False
    p = o.get("prompt")
    c = o.get("completion")
    return (
        type(p) is str and type(c) is str and bool(p) and bool(c)
        and not p.isspace() and not c.isspace()
    )


def _diag_sft(o: dict[str, Any], errs: Errors) -> None:
    _need_str(o, "prompt", "", errs)
    _need_str(o, "completion", "", errs)


def _fast_dpo(o: Any) -> bool:
    if type(o) is not dict:
        return False
    p = o.get("prompt")
    a = o.get("chosen")
    b = o.get("rejected")
    return (
        type(p) is str and type(a) is str and type(b) is str and bool(p) and bool(a) and bool(b)
        and a != b and not p.isspace() and not a.isspace() and not b.isspace()
    )


def _diag_dpo(o: dict[str, Any], errs: Errors) -> None:
    _need_str(o, "prompt", "", errs)
    a = _need_str(o, "chosen", "", errs)
    b = _need_str(o, "rejected", "", errs)
    if isinstance(a, str) and a == b and not _blank(a):
        errs.append((INVALID_VALUE, '"chosen" and "rejected" are identical'))


def _fast_chat(p: Any) -> bool:
    """A non-empty list of {role, content: non-blank str} with at least one user turn."""
    if type(p) is not list or not p:
        return False
    user = False
    for m in p:
        if type(m) is not dict:
            return False
        r = m.get("role")
        c = m.get("content")
        if type(r) is not str or r not in _CHAT_ROLES or type(c) is not str or not c or c.isspace():
            return False
        if r == "user":
            user = True
    return user


def _diag_chat(msgs: list[Any], where: str, errs: Errors) -> None:
    user = False
    for i, m in enumerate(msgs):
        mp = f"{where}[{i}]"
        if not _need_object(m, mp, errs):
            continue
        role = _need_str(m, "role", mp + ".", errs)
        if isinstance(role, str) and not _blank(role):
            if role not in _CHAT_ROLES:
                errs.append((INVALID_VALUE, f"{mp}.role: expected one of system, user, assistant, got {_show(role)}"))
            elif role == "user":
                user = True
        _need_str(m, "content", mp + ".", errs)
    if msgs and not user:
        errs.append((INVALID_VALUE, f"{where}: needs at least one message with role \"user\""))


def _optional_strs_ok(o: dict[str, Any], keys: tuple[str, ...]) -> bool:
    for k in keys:
        v = o.get(k)
        if v is not None and type(v) is not str:
            return False
    return True


def _fast_rlvr(o: Any) -> bool:
    if type(o) is not dict or not _fast_chat(o.get("prompt")):
        return False
    rm = o.get("reward_model")
    if type(rm) is not dict or "ground_truth" not in rm or rm["ground_truth"] is None:
        return False
    s = rm.get("style")
    if s is not None and type(s) is not str:
        return False
    return _optional_strs_ok(o, ("data_source", "ability"))


def _diag_rlvr(o: dict[str, Any], errs: Errors) -> None:
    msgs = _need_list(o, "prompt", "", errs)
    if msgs:
        _diag_chat(msgs, "prompt", errs)
    if "reward_model" not in o:
        errs.append((MISSING_FIELD, '"reward_model" is missing (an object with "ground_truth")'))
    elif _need_object(o["reward_model"], "reward_model", errs):
        rm = o["reward_model"]
        if "ground_truth" not in rm:
            errs.append((MISSING_FIELD, '"reward_model.ground_truth" is missing (use "" when there is no answer)'))
        elif rm["ground_truth"] is None:
            errs.append((WRONG_TYPE, 'reward_model.ground_truth: expected a value, got null (use "" when there is no answer)'))
        _need_str(rm, "style", "reward_model.", errs, optional=True)
    for k in ("data_source", "ability"):
        _need_str(o, k, "", errs, optional=True)


def _fast_rlaif(o: Any) -> bool:
    if type(o) is not dict:
        return False
    p = o.get("prompt")
    if type(p) is str:
        return bool(p) and not p.isspace()
    return _fast_chat(p)


def _diag_rlaif(o: dict[str, Any], errs: Errors) -> None:
    if "prompt" not in o:
        errs.append((MISSING_FIELD, '"prompt" is missing (a string or a list of {role, content} messages)'))
        return
    p = o["prompt"]
    if isinstance(p, str):
        if _blank(p):
            errs.append((EMPTY_VALUE, "prompt: must not be empty"))
    elif isinstance(p, list):
        if not p:
            errs.append((EMPTY_VALUE, "prompt: must not be an empty array"))
        else:
            _diag_chat(p, "prompt", errs)
    else:
        errs.append((WRONG_TYPE, f"prompt: expected a string or an array of messages, got {_jtype(p)} {_show(p)}"))


# --------------------------------------------------------------------------------------------
# Nova formats

NOVA_SCHEMA_VERSION = "bedrock-conversation-2024"
_NOVA_ROLES = ("user", "assistant")
_BLOCK_KEYS = ("text", "image", "video", "document", "reasoningContent", "toolUse", "toolResult")
_PREFERENCE_LABELS = ("preferred", "non-preferred")


def _diag_blocks(content: Any, where: str, errs: Errors) -> None:
    if not isinstance(content, list):
        errs.append((WRONG_TYPE, f"{where}: expected an array of content blocks, got {_jtype(content)} {_show(content)}"))
        return
    if not content:
        errs.append((EMPTY_VALUE, f"{where}: must not be an empty array"))
        return
    for j, block in enumerate(content):
        bp = f"{where}[{j}]"
        if not _need_object(block, bp, errs):
            continue
        if "text" in block:
            _need_str(block, "text", bp + ".", errs)
        elif not any(k in block for k in _BLOCK_KEYS):
            errs.append((MISSING_FIELD, f'"{bp}.text" is missing'))


def _diag_nova_conversation(o: dict[str, Any], errs: Errors, *, dpo: bool) -> None:
    if "schemaVersion" not in o:
        errs.append((MISSING_FIELD, f'"schemaVersion" is missing (expected "{NOVA_SCHEMA_VERSION}")'))
    elif o["schemaVersion"] != NOVA_SCHEMA_VERSION:
        errs.append((INVALID_VALUE, f'schemaVersion: expected "{NOVA_SCHEMA_VERSION}", got {_show(o["schemaVersion"])}'))
    system = _need_list(o, "system", "", errs, optional=True)
    for i, s in enumerate(system or ()):
        sp = f"system[{i}]"
        if _need_object(s, sp, errs):
            _need_str(s, "text", sp + ".", errs)
    msgs = _need_list(o, "messages", "", errs)
    if not msgs:
        return
    roles: list[str | None] = []
    for i, m in enumerate(msgs):
        mp = f"messages[{i}]"
        if not _need_object(m, mp, errs):
            roles.append(None)
            continue
        role = _need_str(m, "role", mp + ".", errs)
        if isinstance(role, str) and role not in _NOVA_ROLES and not _blank(role):
            errs.append((INVALID_VALUE, f"{mp}.role: expected user or assistant, got {_show(role)}"))
        roles.append(role if role in _NOVA_ROLES else None)
        last = i == len(msgs) - 1
        if dpo and last and role == "assistant":
            _diag_candidates(m, mp, errs)
        else:
            if dpo and "candidates" in m:
                errs.append((INVALID_VALUE, f"{mp}: only the final assistant turn may have candidates"))
            if "content" not in m:
                errs.append((MISSING_FIELD, f'"{mp}.content" is missing'))
            else:
                _diag_blocks(m["content"], f"{mp}.content", errs)
    if None not in roles:
        expected = ["user" if k % 2 == 0 else "assistant" for k in range(len(roles))]
        if roles != expected or roles[-1] != "assistant":
            errs.append((
                INVALID_VALUE,
                "messages: roles must alternate user, assistant, ... starting with user and ending "
                f"with assistant, got {', '.join(str(r) for r in roles)}",
            ))


def _diag_candidates(m: dict[str, Any], mp: str, errs: Errors) -> None:
    if "candidates" not in m:
        errs.append((MISSING_FIELD, f'"{mp}.candidates" is missing (the final assistant turn of a DPO record)'))
        return
    cands = m["candidates"]
    if not isinstance(cands, list):
        errs.append((WRONG_TYPE, f"{mp}.candidates: expected an array, got {_jtype(cands)} {_show(cands)}"))
        return
    labels = []
    for j, c in enumerate(cands):
        cp = f"{mp}.candidates[{j}]"
        if not _need_object(c, cp, errs):
            continue
        if "content" not in c:
            errs.append((MISSING_FIELD, f'"{cp}.content" is missing'))
        else:
            _diag_blocks(c["content"], f"{cp}.content", errs)
        label = c.get("preferenceLabel")
        if "preferenceLabel" not in c:
            errs.append((MISSING_FIELD, f'"{cp}.preferenceLabel" is missing'))
        elif label not in _PREFERENCE_LABELS:
            errs.append((INVALID_VALUE, f'{cp}.preferenceLabel: expected "preferred" or "non-preferred", got {_show(label)}'))
        else:
            labels.append(label)
    if len(labels) == len(cands) and (labels.count("preferred") != 1 or "non-preferred" not in labels):
        errs.append((INVALID_VALUE, f"{mp}.candidates: need exactly one preferred and at least one non-preferred candidate"))


def _diag_nova_sft(o: dict[str, Any], errs: Errors) -> None:
    _diag_nova_conversation(o, errs, dpo=False)


def _diag_nova_dpo(o: dict[str, Any], errs: Errors) -> None:
    _diag_nova_conversation(o, errs, dpo=True)


def _diag_nova_rft(o: dict[str, Any], errs: Errors) -> None:
    _need_str(o, "id", "", errs, optional=True)
    msgs = _need_list(o, "messages", "", errs)
    if msgs:
        _diag_chat(msgs, "messages", errs)
    if "reference_answer" not in o:
        errs.append((MISSING_FIELD, '"reference_answer" is missing'))
    else:
        ref = o["reference_answer"]
        if ref is None:
            errs.append((WRONG_TYPE, "reference_answer: expected an object, string or number, got null"))
        elif (isinstance(ref, str) and _blank(ref)) or (isinstance(ref, (dict, list)) and not ref):
            errs.append((EMPTY_VALUE, "reference_answer: must not be empty"))


def _fast_nova_rft(o: Any) -> bool:
    if type(o) is not dict or not _fast_chat(o.get("messages")):
        return False
    ref = o.get("reference_answer")
    if ref is None:
        return False
    t = type(ref)
    if t is str:
        if not ref or ref.isspace():
            return False
    elif (t is dict or t is list) and not ref:
        return False
    i = o.get("id")
    return i is None or type(i) is str


def _fast_nova_cpt(o: Any) -> bool:
    if type(o) is not dict:
        return False
    t = o.get("text")
    return type(t) is str and bool(t) and not t.isspace()


def _diag_nova_cpt(o: dict[str, Any], errs: Errors) -> None:
    _need_str(o, "text", "", errs)


# --------------------------------------------------------------------------------------------
# Registry


@dataclass(frozen=True)
class Format:
    name: str
    technique: str
    nova: bool
    description: str
    diagnose: Callable[[dict[str, Any], Errors], None]
    fast: Callable[[Any], bool] | None = None
    min_records: int = 1


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("sft", "SFT", False, '{"prompt": str, "completion": str}', _diag_sft, _fast_sft),
        Format("dpo", "DPO", False, '{"prompt": str, "chosen": str, "rejected": str}', _diag_dpo, _fast_dpo),
        Format("rlvr", "RLVR", False,
               '{"data_source"?, "prompt": [{"role", "content"}], "ability"?, "reward_model": {"ground_truth", "style"?}}',
               _diag_rlvr, _fast_rlvr),
        Format("rlaif", "RLAIF", False, '{"prompt": str | [{"role", "content"}]}', _diag_rlaif, _fast_rlaif),
        Format("nova-sft", "SFT", True,
               '{"schemaVersion": "bedrock-conversation-2024", "system"?: [{"text"}], "messages": [{"role", "content": [{"text"}]}]}',
               _diag_nova_sft),
        Format("nova-dpo", "DPO", True,
               'as nova-sft; the final assistant turn has "candidates": [{"content", "preferenceLabel"}]',
               _diag_nova_dpo),
        Format("nova-rft", "RLVR", True, '{"id"?, "messages": [{"role", "content": str}], "reference_answer"}',
               _diag_nova_rft, _fast_nova_rft, min_records=100),
        Format("nova-cpt", "CPT", True, '{"text": str}', _diag_nova_cpt, _fast_nova_cpt),
    )
}


def format_for(technique: str, model_id: str | None = None) -> str:
    """The dataset format a technique expects for a model (Nova when the id contains "nova")."""
    t = technique.strip().upper().replace("-", "_")
    nova = bool(model_id) and is_nova_model(model_id or "")
    if nova:
        table = {"SFT": "nova-sft", "DPO": "nova-dpo", "RLVR": "nova-rft", "RFT": "nova-rft", "CPT": "nova-cpt"}
    else:
        table = {"SFT": "sft", "DPO": "dpo", "RLVR": "rlvr", "RLAIF": "rlaif"}
    if t not in table:
        family = "Nova" if nova else "open-weights"
        raise DatasetError(
            f"technique {technique!r} has no dataset format for {family} models; "
            f"expected one of {', '.join(sorted(table))}"
        )
    return table[t]


def detect_format(record: Any) -> str | None:
    """Guess a record's format from its keys (for hints); None if nothing fits."""
    if not isinstance(record, dict):
        return None
    if "schemaVersion" in record or (
        isinstance(record.get("messages"), list)
        and any(isinstance(m, dict) and isinstance(m.get("content"), list) for m in record["messages"])
    ):
        msgs = record.get("messages")
        if isinstance(msgs, list) and any(isinstance(m, dict) and "candidates" in m for m in msgs):
            return "nova-dpo"
        return "nova-sft"
    if "messages" in record and "reference_answer" in record:
        return "nova-rft"
    if "chosen" in record and "rejected" in record:
        return "dpo"
    if "completion" in record:
        return "sft"
    if "reward_model" in record:
        return "rlvr"
    if "prompt" in record:
        return "rlaif"
    if set(record) == {"text"}:
        return "nova-cpt"
    return None


def diagnose_record(record: Any, fmt: str) -> list[tuple[str, str]]:
    """Every problem of one parsed record, as ``(kind, message)`` pairs (empty: valid)."""
    spec = get_format(fmt)
    if not isinstance(record, dict):
        return [(NOT_AN_OBJECT, f"expected a JSON object, got {_jtype(record)} {_show(record)}")]
    errs: Errors = []
    spec.diagnose(record, errs)
    if errs:
        # Name another format only when the record is entirely valid in it (prompt-only
        # records fit rlaif, so rlaif is never suggested).
        guess = detect_format(record)
        if guess and guess not in (spec.name, "rlaif"):
            other: Errors = []
            FORMATS[guess].diagnose(record, other)
            if not other:
                kind, msg = errs[0]
                errs[0] = (kind, f"{msg} (the record is valid in the {guess} format: wrong --format?)")
    return errs


def get_format(fmt: str) -> Format:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise DatasetError(f"unknown dataset format {fmt!r}; expected one of {', '.join(FORMATS)}") from None

