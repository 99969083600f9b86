"""RLVR reward functions (Lambda + hub evaluator) and RLAIF judges and judge prompts."""
