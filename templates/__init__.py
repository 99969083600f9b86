"""Jinja2 sources of the generated SageMaker Python SDK v3 notebooks and scripts.

The ``*.py.jinja`` files here are Jinja templates of Python sources (not modules).
``sagemaker_finetuning.tools.notebooks`` reads them as text and renders them with:

* ``#% ...`` line statements (``#% if is_meta`` / ``#% endif``, ``#% include "_tail.py.jinja"``), which
  keep most sources readable as Python;
* ``{{ value | py }}`` placeholders, which render a Python literal (``repr``), never raw text (the one
  exception: ``# {{ license_sentence }}``, a one-line comment the renderer builds from the license table);
* ``# Cell N: Label`` markers: each marker starts one unit (a notebook code cell with a markdown
  heading, or a commented section of a script); the renderer renumbers the units it keeps;
* a trailing ``# NOTEBOOK_ONLY`` / ``# SCRIPT_ONLY`` marks a line kept in one output kind only.

Files starting with ``_`` are partials included by the technique templates. ``prompts/`` holds
example RLAIF judge prompts (``{{ prompt }}`` / ``{{ response }}``) that make the judge reply with a
JSON object with a numeric ``score`` between 0.0 and 1.0. ``reward_function.py.jinja`` is the RLVR
reward function written next to a generated RLVR notebook (``reward_<model>.py``): the Nova
bare-list contract for Nova models, the open-weights statusCode/body envelope for the others.
"""

#: technique key -> template file
TEMPLATE_FILES = {
    "sft": "sft.py.jinja",
    "dpo": "dpo.py.jinja",
    "rlvr": "rlvr.py.jinja",
    "rlaif-builtin": "rlaif_builtin.py.jinja",
    "rlaif-custom-prompt": "rlaif_custom_prompt.py.jinja",
    "continued": "continued.py.jinja",
}
