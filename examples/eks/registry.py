"""What the program reads from AWS, through boto3 (the caller's own credentials)."""

from typing import Any

import boto3


def ecr_registry(region: str, sts: Any = None) -> str:
    """The caller account's private ECR registry in ``region``: where Tenantry's images
    (syncer, node agent) are mirrored, so the cluster pulls them without leaving AWS."""
    sts = sts or boto3.client("sts", region_name=region)
    account = sts.get_caller_identity()["Account"]
    return f"{account}.dkr.ecr.{region}.amazonaws.com"
