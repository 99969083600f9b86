"""Construct plumbing shared by the rooms: the Lambda asset and cdk-nag suppressions."""
